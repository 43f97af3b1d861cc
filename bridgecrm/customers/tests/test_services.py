"""The write path: values, policies, audit rows, and failures that change nothing."""

from __future__ import annotations

import decimal

import pytest

from bridgecrm.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from bridgecrm.core.models import AuditAction, AuditEntry
from bridgecrm.customers import services
from bridgecrm.customers.models import Contact, ContactPhone, Customer, SavedView, Tag
from bridgecrm.customers.tests.factories import make_contact, make_customer

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, ...]:
    return (
        Customer.objects.count(),
        Contact.objects.count(),
        ContactPhone.objects.count(),
        Tag.objects.count(),
        AuditEntry.objects.count(),
    )


def test_create_defaults_owner_and_team_to_the_actor_and_audits(company) -> None:
    customer = services.customer_create(
        actor=company.owner,
        name="  深圳  华强 电子  ",
        province="GD",
        city="深圳",
        estimated_annual_potential="1200000.5",
        tags=["VIP", " vip ", "Key   Account"],
    )
    customer.refresh_from_db()
    assert customer.name == "深圳 华强 电子"
    assert (customer.owner, customer.team, customer.version) == (company.owner, company.team_a, 1)
    assert customer.estimated_annual_potential == decimal.Decimal("1200000.50")
    assert sorted(customer.tags.values_list("name", flat=True)) == ["key account", "vip"]
    entry = AuditEntry.objects.for_object(customer).get()
    assert entry.action == AuditAction.CREATE
    assert entry.actor_id == company.owner.pk
    assert entry.new_value["owner"] == company.owner.pk
    assert entry.new_value["tags"] == ["key account", "vip"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "   "}, "name"),
        ({"kind": "robot"}, "kind"),
        ({"lifecycle_stage": "won"}, "lifecycle_stage"),
        ({"country": "XX"}, "country"),
        ({"country": "SG", "province": "GD"}, "province"),
        ({"estimated_annual_potential": "-1"}, "estimated_annual_potential"),
        ({"estimated_annual_potential": "abc"}, "estimated_annual_potential"),
        ({"currency": "yuan"}, "currency"),
        ({"tags": ["x" * 41]}, "tags"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
    ],
)
def test_create_refuses_bad_values_and_writes_nothing(company, changes, field) -> None:
    before = _counts()
    with pytest.raises(ApplicationError) as exc:
        services.customer_create(actor=company.owner, **{"name": "Acme", **changes})
    assert field in exc.value.details
    assert _counts() == before


def test_a_rep_cannot_give_a_customer_to_someone_else(company) -> None:
    before = _counts()
    with pytest.raises(PermissionDenied):
        services.customer_create(actor=company.owner, name="Acme", owner=company.teammate)
    assert _counts() == before


def test_a_manager_gives_a_customer_to_a_rep_of_their_team_only(company) -> None:
    customer = services.customer_create(actor=company.manager_a, name="Acme", owner=company.owner)
    assert (customer.owner, customer.team) == (company.owner, company.team_a)
    with pytest.raises(PermissionDenied):
        services.customer_create(actor=company.manager_a, name="Other", owner=company.other_rep)


def test_collaborators_must_be_visible_people(company) -> None:
    before = _counts()
    with pytest.raises(ApplicationError) as exc:
        services.customer_create(actor=company.owner, name="Acme", collaborators=[company.other_rep])
    assert "collaborators" in exc.value.details
    assert _counts() == before
    customer = services.customer_create(actor=company.owner, name="Acme", collaborators=[company.teammate])
    assert list(customer.collaborators.all()) == [company.teammate]


def test_update_audits_each_changed_field_and_bumps_the_version(company) -> None:
    customer = make_customer(company.owner, tags=["a"])
    updated = services.customer_update(
        actor=company.owner, customer=customer, version=1, lifecycle_stage="prospect", tags=["a", "b"]
    )
    assert updated.version == 2
    rows = AuditEntry.objects.for_object(customer).filter(action=AuditAction.UPDATE)
    assert {(r.field, str(r.old_value), str(r.new_value)) for r in rows} == {
        ("lifecycle_stage", "lead", "prospect"),
        ("tags", "['a']", "['a', 'b']"),
    }


def test_an_update_with_no_change_writes_nothing(company) -> None:
    customer = make_customer(company.owner)
    before = _counts()
    assert services.customer_update(actor=company.owner, customer=customer, version=1, name="Acme 上海").version == 1
    assert _counts() == before


def test_a_stale_version_is_a_conflict_and_changes_nothing(company) -> None:
    customer = make_customer(company.owner)
    services.customer_update(actor=company.manager_a, customer=customer, version=1, city="上海")
    before = _counts()
    with pytest.raises(Conflict) as exc:
        services.customer_update(actor=company.owner, customer=customer, version=1, city="北京")
    assert exc.value.status == 409
    assert exc.value.code == "stale"
    customer.refresh_from_db()
    assert (customer.city, customer.version) == ("上海", 2)
    assert _counts() == before


def test_collaborators_edit_facts_but_do_not_reassign_or_delete(company) -> None:
    customer = make_customer(company.owner, collaborators=[company.teammate])
    services.customer_update(actor=company.teammate, customer=customer, city="杭州")
    before = _counts()
    with pytest.raises(PermissionDenied):
        services.customer_update(actor=company.teammate, customer=customer, owner=company.teammate)
    with pytest.raises(PermissionDenied):
        services.customer_update(actor=company.teammate, customer=customer, collaborators=[])
    with pytest.raises(PermissionDenied):
        services.customer_delete(actor=company.teammate, customer=customer)
    assert _counts() == before


def test_invisible_customers_are_not_found_for_every_write(company) -> None:
    customer = make_customer(company.owner)
    contact = make_contact(customer)
    before = _counts()
    for actor in (company.teammate, company.other_rep, company.manager_b):
        with pytest.raises(NotFound):
            services.customer_update(actor=actor, customer=customer, city="x")
        with pytest.raises(NotFound):
            services.customer_delete(actor=actor, customer=customer)
        with pytest.raises(NotFound):
            services.contact_create(actor=actor, customer=customer, name="Intruder", phones=["13800138000"])
        with pytest.raises(NotFound):
            services.contact_update(actor=actor, contact=contact, name="x")
        with pytest.raises(NotFound):
            services.contact_delete(actor=actor, contact=contact)
    assert _counts() == before


def test_the_manager_reassigns_and_the_team_follows_the_new_owner(company) -> None:
    customer = make_customer(company.owner)
    services.customer_update(actor=company.admin, customer=customer, owner=company.other_rep)
    customer.refresh_from_db()
    assert (customer.owner, customer.team) == (company.other_rep, company.team_b)


def test_delete_is_soft_and_audited(company) -> None:
    customer = make_customer(company.owner)
    services.customer_delete(actor=company.manager_a, customer=customer)
    customer.refresh_from_db()
    assert customer.deleted_at is not None
    assert not Customer.objects.visible_to(company.admin).filter(pk=customer.pk).exists()
    assert AuditEntry.objects.for_object(customer).filter(action=AuditAction.DELETE).count() == 1


def test_contacts_store_normalised_phones_and_one_primary(company) -> None:
    customer = make_customer(company.owner)
    first = make_contact(
        customer,
        phones=["13800138000", "+86 138-0013-8000", "010-12345678"],
        email=" Wang@Example.CN ",
        is_primary=True,
    )
    assert list(first.phones.values_list("e164", "kind")) == [
        ("+8613800138000", "mobile"),
        ("+861012345678", "landline"),
    ]
    assert first.email == "wang@example.cn"
    second = make_contact(customer, name="李娜", is_primary=True)
    first.refresh_from_db()
    assert (first.is_primary, second.is_primary) == (False, True)
    entry = AuditEntry.objects.for_object(second).get()
    assert entry.new_value["is_primary"] is True


def test_a_bad_phone_is_refused_with_a_message_and_nothing_written(company) -> None:
    customer = make_customer(company.owner)
    before = _counts()
    with pytest.raises(ApplicationError) as exc:
        make_contact(customer, phones=["13800138000", "12345"])
    assert exc.value.details == {"phones": [str(exc.value.message)]}
    assert "12345" in str(exc.value.message)
    assert _counts() == before


def test_contact_update_replaces_phones_and_audits_them(company) -> None:
    customer = make_customer(company.owner)
    contact = make_contact(customer, phones=["13800138000"])
    services.contact_update(actor=company.owner, contact=contact, phones=["0755 1234 5678"], title="CTO")
    assert list(contact.phones.values_list("e164", flat=True)) == ["+8675512345678"]
    fields = set(
        AuditEntry.objects.for_object(contact).filter(action=AuditAction.UPDATE).values_list("field", flat=True)
    )
    assert fields == {"phones", "title"}


def test_contact_delete_is_audited(company) -> None:
    contact = make_contact(make_customer(company.owner), phones=["13800138000"])
    pk = contact.pk
    services.contact_delete(actor=company.owner, contact=contact)
    assert not Contact.objects.filter(pk=pk).exists()
    assert not ContactPhone.objects.filter(contact_id=pk).exists()
    assert AuditEntry.objects.filter(object_id=str(pk), action=AuditAction.DELETE).count() == 1


def test_saved_views_keep_only_list_filters_and_replace_by_name(company) -> None:
    view = services.saved_view_save(actor=company.owner, name="Leads", query="stage=lead&page=3&evil=1&sort=name")
    assert view.query == "stage=lead&sort=name"
    again = services.saved_view_save(actor=company.owner, name=" Leads ", query="stage=customer", shared_with_team=True)
    assert again.pk == view.pk
    assert (again.query, again.shared_with_team) == ("stage=customer", True)
    with pytest.raises(ApplicationError):
        services.saved_view_save(actor=company.owner, name=" ", query="")
    with pytest.raises(NotFound):
        services.saved_view_delete(actor=company.teammate, view=again)
    assert SavedView.objects.count() == 1
