"""The pages: list (filters, sort, pages, query budget), detail, forms, saved views."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bridgecrm.conftest import signed_in
from bridgecrm.core.models import AuditEntry
from bridgecrm.customers.models import Contact, Customer, SavedView
from bridgecrm.customers.tests.factories import make_contact, make_customer

pytestmark = pytest.mark.django_db


def _queries(client, url: str, data: dict) -> tuple[int, list]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, data)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.context["customers"]


def test_list_query_count_does_not_grow_with_the_page_size(company) -> None:
    for i in range(30):
        customer = make_customer(company.owner, f"C{i:02d}", tags=["vip", f"t{i % 3}"])
        make_contact(customer, phones=["13800138000"])
    client = signed_in(company.owner)
    url = reverse("customers:list")
    small, rows_small = _queries(client, url, {"per_page": "10"})
    large, rows_large = _queries(client, url, {"per_page": "30"})
    filtered, _rows = _queries(client, url, {"per_page": "30", "tag": "vip", "q": "C", "stage": "lead", "sort": "name"})
    assert (len(rows_small), len(rows_large)) == (10, 30)
    assert small == large == filtered
    assert large <= 12


def test_list_pages_without_a_count(company) -> None:
    for i in range(12):
        make_customer(company.owner, f"C{i:02d}")
    client = signed_in(company.owner)
    first = client.get(reverse("customers:list"), {"per_page": "10", "sort": "name"})
    assert first.context["has_next"] is True
    assert 'page=2"' in first.content.decode()
    second = client.get(reverse("customers:list"), {"per_page": "10", "sort": "name", "page": "2"})
    assert [c.name for c in second.context["customers"]] == ["C10", "C11"]
    assert second.context["has_next"] is False
    assert "sort=name" in second.context["query"]


def test_a_bad_filter_shows_everything_visible_with_the_error(company) -> None:
    make_customer(company.owner, "Acme")
    response = signed_in(company.owner).get(reverse("customers:list"), {"potential_min": "abc"})
    assert [c.name for c in response.context["customers"]] == ["Acme"]
    assert response.context["form"].errors


def test_create_edit_and_delete_through_the_pages(company) -> None:
    client = signed_in(company.owner)
    response = client.post(
        reverse("customers:create"),
        {"name": "页面客户", "kind": "company", "lifecycle_stage": "lead", "country": "CN", "currency": "cny"},
    )
    customer = Customer.objects.get(name="页面客户")
    assert response["Location"] == reverse("customers:detail", args=[customer.pk])
    assert (customer.owner, customer.currency) == (company.owner, "CNY")
    data = {"name": "页面客户", "kind": "company", "lifecycle_stage": "customer", "country": "CN", "currency": "CNY"}
    data |= {"owner": company.owner.pk, "team": company.team_a.pk, "version": "1"}
    assert client.post(reverse("customers:edit", args=[customer.pk]), data).status_code == 302
    stale = client.post(reverse("customers:edit", args=[customer.pk]), data | {"lifecycle_stage": "churned"})
    assert stale.status_code == 200
    assert "Someone else changed this customer" in stale.content.decode()
    customer.refresh_from_db()
    assert (customer.lifecycle_stage, customer.version) == ("customer", 2)
    assert client.post(reverse("customers:delete", args=[customer.pk])).status_code == 302
    assert client.get(reverse("customers:detail", args=[customer.pk])).status_code == 404


def test_a_collaborator_edits_facts_without_the_reassignment_fields(company) -> None:
    customer = make_customer(company.owner, collaborators=[company.teammate])
    client = signed_in(company.teammate)
    page = client.get(reverse("customers:edit", args=[customer.pk]))
    assert "owner" not in page.context["form"].fields
    detail = client.get(reverse("customers:detail", args=[customer.pk]))
    assert detail.context["may_delete"] is False
    assert client.post(reverse("customers:delete", args=[customer.pk])).status_code == 403


def test_detail_shows_contacts_phones_and_history(company) -> None:
    customer = make_customer(company.owner, "Acme")
    make_contact(customer, "Lily", phones=["13800138000"], is_primary=True)
    client = signed_in(company.owner)
    client.post(reverse("customers:contact_create", args=[customer.pk]), {"name": "Bob", "phones": "12345"})
    assert Contact.objects.count() == 1  # the bad phone was refused
    response = client.get(reverse("customers:detail", args=[customer.pk]))
    html = response.content.decode()
    assert "138 0013 8000" in html
    assert 'href="tel:+8613800138000"' in html
    assert [e.action for e in response.context["timeline"].entries] == ["create"]


def test_a_bad_phone_is_shown_on_the_field_in_chinese(company) -> None:
    customer = make_customer(company.owner)
    client = signed_in(company.owner)
    client.post(reverse("users:set_language"), {"language": "zh-hans", "next": "/"})
    response = client.post(reverse("customers:contact_create", args=[customer.pk]), {"name": "Bob", "phones": "12345"})
    assert response.status_code == 200
    assert "不是有效的电话号码" in response.content.decode()
    assert response.context["form"].errors["phones"]


def test_saving_and_deleting_a_view(company) -> None:
    client = signed_in(company.owner)
    response = client.post(reverse("customers:view_save"), {"name": "Leads", "query": "stage=lead&page=2"})
    assert response["Location"] == reverse("customers:list") + "?stage=lead"
    view = SavedView.objects.get()
    listing = client.get(reverse("customers:list"), {"stage": "lead"})
    assert listing.context["current_query"] == view.query
    assert 'data-testid="saved-view"' in listing.content.decode()
    assert AuditEntry.objects.filter(object_id=str(view.pk), content_type__model="savedview").count() == 0
    assert signed_in(company.teammate).post(reverse("customers:view_delete", args=[view.pk])).status_code == 404
    assert client.post(reverse("customers:view_delete", args=[view.pk])).status_code == 302
    assert not SavedView.objects.exists()


def test_ids_beyond_64_bits_are_not_found(company) -> None:
    customer = make_customer(company.owner)
    contact = make_contact(customer)
    client = signed_in(company.owner)
    huge = 2**63
    assert client.get(f"/customers/{huge}/").status_code == 404
    assert client.get(f"/customers/{huge}/contacts/{contact.pk}/edit/").status_code == 404
    assert client.get(f"/customers/{customer.pk}/contacts/{huge}/edit/").status_code == 404
    assert client.post(f"/customers/views/{huge}/delete/").status_code == 404
