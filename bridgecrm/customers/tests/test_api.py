"""The customers API: the same services, visibility and audit as the pages."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bridgecrm.api.tests.conftest import API, ApiClient, assert_error_shape, issue_token
from bridgecrm.core.models import AuditEntry
from bridgecrm.customers.models import Contact, Customer
from bridgecrm.customers.tests.factories import make_contact, make_customer

pytestmark = pytest.mark.django_db


def _delete(client: ApiClient, path: str):
    return client.client.delete(API + path, headers=client._headers(None))


def test_create_get_patch_and_delete(company) -> None:
    api = ApiClient(issue_token(company.owner))
    created = api.post(
        "/customers",
        {"name": "API 客户", "province": "SH", "estimated_annual_potential": "1000.5", "tags": ["VIP"]},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["owner_id"], body["team_id"], body["version"]) == (company.owner.pk, company.team_a.pk, 1)
    assert (body["tags"], body["estimated_annual_potential"], body["currency"]) == (["vip"], "1000.50", "CNY")
    pk = body["id"]
    assert api.get(f"/customers/{pk}").json()["name"] == "API 客户"
    patched = api.patch(f"/customers/{pk}", {"lifecycle_stage": "customer", "version": 1})
    assert patched.status_code == 200, patched.content
    assert (patched.json()["lifecycle_stage"], patched.json()["version"]) == ("customer", 2)
    assert AuditEntry.objects.filter(object_id=str(pk), source="api").count() == 2
    assert _delete(api, f"/customers/{pk}").status_code == 204
    assert_error_shape(api.get(f"/customers/{pk}"), 404, "not_found")


def test_a_stale_version_is_409_and_changes_nothing(company) -> None:
    customer = make_customer(company.owner)
    api = ApiClient(issue_token(company.owner))
    assert api.patch(f"/customers/{customer.pk}", {"city": "上海", "version": 1}).status_code == 200
    body = assert_error_shape(api.patch(f"/customers/{customer.pk}", {"city": "北京", "version": 1}), 409, "stale")
    assert body["details"] == {"current_version": ["2"]}
    customer.refresh_from_db()
    assert customer.city == "上海"
    assert_error_shape(api.patch(f"/customers/{customer.pk}", {"city": "北京"}), 422, "invalid")


def test_bad_values_and_unseen_references_are_refused(company) -> None:
    api = ApiClient(issue_token(company.owner))
    before = Customer.objects.count()
    assert_error_shape(api.post("/customers", {"name": "X", "lifecycle_stage": "won"}), 400, "invalid")
    assert_error_shape(api.post("/customers", {"name": "X", "owner_id": company.other_rep.pk}), 400, "invalid")
    assert_error_shape(api.post("/customers", {"name": "X", "owner_id": company.teammate.pk}), 403, "forbidden")
    assert_error_shape(api.post("/customers", {"name": "X", "collaborator_ids": [999999]}), 400, "invalid")
    assert_error_shape(api.post("/customers", {"name": ""}), 422, "invalid")
    assert Customer.objects.count() == before


def test_list_filters_count_and_visibility(company) -> None:
    make_customer(company.owner, "Alpha", lifecycle_stage="prospect", tags=["vip"])
    make_customer(company.owner, "Beta")
    make_customer(company.other_rep, "Hidden")
    api = ApiClient(issue_token(company.owner))
    body = api.get("/customers", {"sort": "name"}).json()
    assert ([i["name"] for i in body["items"]], body["count"]) == (["Alpha", "Beta"], 2)
    assert [i["name"] for i in api.get("/customers", {"stage": "prospect"}).json()["items"]] == ["Alpha"]
    assert [i["name"] for i in api.get("/customers", {"tag": "VIP"}).json()["items"]] == ["Alpha"]
    assert api.get("/customers", {"q": "Hidden"}).json()["count"] == 0
    assert_error_shape(api.get("/customers", {"sort": "evil"}), 422, "invalid")


def test_list_query_count_does_not_grow_with_the_page(company) -> None:
    for i in range(25):
        make_customer(company.owner, f"C{i}", tags=["a"], collaborators=[company.teammate])
    api = ApiClient(issue_token(company.owner))
    api.get("/customers")  # the first use of a token records it; measure the steady state
    counts = []
    for limit in (5, 25):
        with CaptureQueriesContext(connection) as ctx:
            assert len(api.get("/customers", {"limit": limit}).json()["items"]) == limit
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_contacts_nested_under_their_customer(company) -> None:
    customer = make_customer(company.owner)
    api = ApiClient(issue_token(company.owner))
    created = api.post(
        f"/customers/{customer.pk}/contacts",
        {"name": "Lily", "phones": ["+86 138-0013-8000", "0755 1234 5678"], "email": "Lily@X.cn", "is_primary": True},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert [p["e164"] for p in body["phones"]] == ["+8613800138000", "+8675512345678"]
    assert (body["email"], body["is_primary"]) == ("lily@x.cn", True)
    bad = assert_error_shape(api.post(f"/customers/{customer.pk}/contacts", {"name": "B", "phones": ["1"]}), 400)
    assert list(bad["details"]) == ["phones"]
    cid = body["id"]
    assert api.patch(f"/customers/{customer.pk}/contacts/{cid}", {"title": "CTO"}).json()["title"] == "CTO"
    assert api.get(f"/customers/{customer.pk}/contacts").json()["count"] == 1
    other = make_customer(company.owner, "Other")
    assert_error_shape(api.patch(f"/customers/{other.pk}/contacts/{cid}", {"title": "x"}), 404, "not_found")
    assert _delete(api, f"/customers/{customer.pk}/contacts/{cid}").status_code == 204
    assert not Contact.objects.exists()


def test_no_contact_on_a_customer_one_does_not_see(company) -> None:
    customer = make_customer(company.other_rep)
    contact = make_contact(customer)
    api = ApiClient(issue_token(company.owner))
    before = (Contact.objects.count(), AuditEntry.objects.count())
    assert_error_shape(api.post(f"/customers/{customer.pk}/contacts", {"name": "X"}), 404, "not_found")
    assert_error_shape(api.patch(f"/customers/{customer.pk}/contacts/{contact.pk}", {"name": "X"}), 404)
    assert (Contact.objects.count(), AuditEntry.objects.count()) == before
    assert json.loads(api.get(f"/customers/{customer.pk}/contacts").content)["code"] == "not_found"
