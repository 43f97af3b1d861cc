"""Merging duplicates: chosen values, every related row moved (counted across all tables), the
loser soft-deleted with a pointer, the audit trail and the timeline, and failures that change nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from django.utils import timezone

from bridgecrm.activities import services as activity_services
from bridgecrm.collab import services as collab_services
from bridgecrm.contracts.services import contracts as contract_services
from bridgecrm.contracts.services import payments as payment_services
from bridgecrm.contracts.services import quotes as quote_services
from bridgecrm.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from bridgecrm.core.models import AuditEntry
from bridgecrm.core.timeline import customer_timeline
from bridgecrm.customers import merge, selectors
from bridgecrm.customers.models import Contact, Customer, Tag
from bridgecrm.customers.tests.factories import make_contact, make_customer
from bridgecrm.pipeline import deals
from bridgecrm.pipeline.models import Deal, Pipeline

pytestmark = pytest.mark.django_db


def _table_counts() -> dict[str, int]:
    """Rows in every table of every installed model (auto-created many-to-many tables too)."""
    counts = {}
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            table = model._meta.db_table
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[model._meta.label] = cursor.fetchone()[0]
    return counts


@pytest.fixture
def pair(company):
    """Two duplicates of the owner's, the loser with a bit of everything."""
    owner = company.owner
    survivor = make_customer(owner, name="深圳华强电子有限公司", industry="technology", tags=["vip"])
    loser = make_customer(
        owner, name="深圳华强电子", industry="manufacturing", city="深圳", province="GD", tags=["key", "vip"]
    )
    Customer.objects.filter(pk=survivor.pk).update(custom={"grade": "A", "region": "south"})
    Customer.objects.filter(pk=loser.pk).update(custom={"grade": "B", "channel": "web"})
    make_contact(survivor, name="王伟", is_primary=True, phones=["13800138000"])
    make_contact(loser, name="李娜", is_primary=True, phones=["13900139000"], email="lina@example.com")
    make_contact(loser, name="张敏")
    loser.collaborators.add(company.teammate)
    pipeline = Pipeline.objects.get(is_default=True) if Pipeline.objects.filter(is_default=True).exists() else None
    stage = pipeline.stages.order_by("order").first() if pipeline else None
    if stage is None:
        from bridgecrm.pipeline import services as pipeline_services

        stage = pipeline_services.pipeline_create(actor=company.admin, name="Merge pipeline").stages.get(order=1)
    deal = deals.deal_create(actor=owner, customer=loser, name="华强 ERP", stage=stage, amount="50000")
    activity_services.follow_up_log(
        actor=owner,
        customer=loser,
        kind="call",
        summary="Called",
        occurred_at=timezone.now() - dt.timedelta(hours=3),
        next_follow_up_on=timezone.localdate() + dt.timedelta(days=2),
    )
    activity_services.task_create(
        actor=owner, title="Send offer", due_at=timezone.now() + dt.timedelta(days=1), customer=loser
    )
    lines = [{"name": "ERP 许可", "quantity": "2", "unit_price": "1000.00"}]
    quote_services.quote_create(actor=owner, customer=loser, deal=deal, title="Offer", lines=lines)
    contract = contract_services.contract_create(
        actor=owner,
        customer=loser,
        title="ERP contract",
        amount=Decimal("50000.00"),
        currency="CNY",
        signed_on=dt.date(2026, 1, 5),
        owner=owner,
    )
    payment_services.plan_lines_set(
        actor=owner,
        contract=contract,
        lines=[payment_services.PlanLineIn(due_on=dt.date(2026, 2, 1), amount="50000.00")],
        lock_version=contract.lock_version,
    )
    contract = contract_services.contract_set_status(actor=owner, contract=contract, status="active")
    payment_services.payment_record(
        actor=owner, contract=contract, received_on=dt.date(2026, 1, 20), amount="1000.00", reference="HQ-1"
    )
    # Later apps' rows: a comment, and a manager following both (a follow is unique per customer).
    collab_services.comment_create(actor=owner, record=loser, body="Same company as 深圳华强电子有限公司")
    collab_services.follow_set(actor=company.manager_a, record=loser, following=True)
    collab_services.follow_set(actor=company.manager_a, record=survivor, following=True)
    survivor.refresh_from_db()
    loser.refresh_from_db()
    return survivor, loser


def test_merge_moves_every_row_and_keeps_the_chosen_values(company, pair) -> None:
    survivor, loser = pair
    before_loser = merge.counts_by_model([loser.pk])
    before_survivor = merge.counts_by_model([survivor.pk])
    tables_before = _table_counts()
    assert before_loser["customers.Contact"] == 2
    assert before_loser["pipeline.Deal"] == 1
    assert {"activities.FollowUp", "activities.Task", "contracts.Quote", "contracts.Contract"} <= set(before_loser)

    result = merge.customer_merge(
        actor=company.manager_a,
        survivor=survivor,
        loser=loser,
        choices={"industry": "loser", "place": "loser", "tags": "both", "custom:grade": "loser"},
        survivor_version=survivor.version,
        loser_version=loser.version,
    )

    after_loser = merge.counts_by_model([loser.pk])
    after_survivor = merge.counts_by_model([survivor.pk])
    # Nothing points to the loser any more but the follow the survivor already had (unique per
    # customer and user); the survivor has both sets (tags: the union, no double).
    assert after_loser == {"collab.Follower": 1}
    assert result.kept == {"collab.Follower": 1}
    assert result.moved["collab.Comment"] == 1
    for label, n in before_loser.items():
        if label not in ("customers.Customer_tags", "collab.Follower"):
            assert after_survivor[label] == before_survivor.get(label, 0) + n, label
    assert after_survivor["customers.Customer_tags"] == 2
    # No table lost or gained a row except the audit trail (the merge's own entries) and the tag
    # row that would have been doubled.
    tables_after = _table_counts()
    changed = {k: tables_after[k] - tables_before[k] for k in tables_before if tables_after[k] != tables_before[k]}
    assert set(changed) <= {"core.AuditEntry", "customers.Customer_tags"}
    assert changed.get("customers.Customer_tags", 0) == -1
    assert result.moved["customers.Contact"] == 2
    assert result.moved["pipeline.Deal"] == 1

    s = Customer.objects.get(pk=survivor.pk)
    assert (s.name, s.industry, s.province, s.city) == ("深圳华强电子有限公司", "manufacturing", "GD", "深圳")
    assert s.custom == {"grade": "B", "region": "south", "channel": "web"}
    assert sorted(s.tags.values_list("name", flat=True)) == ["key", "vip"]
    assert list(s.collaborators.all()) == [company.teammate]
    assert s.version == survivor.version + 1
    assert s.next_follow_up_on is not None and s.last_follow_up_at is not None
    # One primary contact: the survivor's.
    assert list(Contact.objects.filter(customer=s, is_primary=True).values_list("name", flat=True)) == ["王伟"]
    # The loser is soft-deleted and points to the survivor; nobody sees it any more.
    gone = Customer.objects.get(pk=loser.pk)
    assert gone.deleted_at is not None and gone.merged_into_id == s.pk
    with pytest.raises(NotFound):
        selectors.customer_get(actor=company.owner, customer_id=loser.pk)
    # Audited on both, with both ids and the chosen values.
    event = AuditEntry.objects.for_object(s).get(event=merge.MERGE_EVENT)
    assert event.new_value["survivor_id"] == s.pk and event.new_value["loser_id"] == loser.pk
    assert event.new_value["choices"]["industry"] == "loser"
    assert event.new_value["moved"]["customers.Contact"] == 2
    assert AuditEntry.objects.for_object(gone).filter(event=merge.MERGED_INTO_EVENT).exists()
    assert AuditEntry.objects.for_object(s).filter(field="industry").exists()
    # On the survivor's timeline.
    items = customer_timeline(actor=company.owner, customer=s)
    assert any(i.kind == "merge" and "深圳华强电子" in i.title for i in items)
    assert Deal.objects.filter(customer=s).count() == 1


def test_tags_and_owner_from_the_loser(company) -> None:
    survivor = make_customer(company.owner, name="Acme", tags=["a"])
    loser = make_customer(company.teammate, name="ACME Co., Ltd.", tags=["b"])
    merge.customer_merge(
        actor=company.admin,
        survivor=survivor,
        loser=loser,
        choices={"tags": "loser", "owner": "loser", "team": "loser"},
    )
    s = Customer.objects.get(pk=survivor.pk)
    assert list(s.tags.values_list("name", flat=True)) == ["b"]
    assert s.owner == company.teammate
    assert Tag.objects.filter(name="a").exists()


def _nothing_changed(survivor: Customer, loser: Customer, audit_rows: int) -> None:
    assert AuditEntry.objects.count() == audit_rows
    assert Customer.objects.get(pk=loser.pk).deleted_at is None
    assert Customer.objects.get(pk=survivor.pk).version == survivor.version
    assert Contact.objects.filter(customer=loser).count() == 2


def test_merge_is_refused_without_the_capability_or_sight(company, pair) -> None:
    survivor, loser = pair
    audit_rows = AuditEntry.objects.count()
    with pytest.raises(PermissionDenied):  # a rep owns both but may not merge
        merge.customer_merge(actor=company.owner, survivor=survivor, loser=loser)
    with pytest.raises(NotFound):  # manager of the other team does not see them
        merge.customer_merge(actor=company.manager_b, survivor=survivor, loser=loser)
    other = make_customer(company.other_rep, name="深圳华强电子（B组）")
    with pytest.raises(NotFound):
        merge.customer_merge(actor=company.manager_a, survivor=survivor, loser=other)
    audit_rows = AuditEntry.objects.count()
    _nothing_changed(survivor, loser, audit_rows)


def test_stale_versions_bad_choices_and_self_merge_change_nothing(company, pair) -> None:
    survivor, loser = pair
    audit_rows = AuditEntry.objects.count()
    with pytest.raises(Conflict) as stale:
        merge.customer_merge(
            actor=company.admin, survivor=survivor, loser=loser, survivor_version=survivor.version - 1 or 99
        )
    assert stale.value.code == "stale" and stale.value.status == 409
    with pytest.raises(Conflict):
        merge.customer_merge(actor=company.admin, survivor=survivor, loser=loser, loser_version=loser.version + 5)
    with pytest.raises(ApplicationError) as unknown:
        merge.customer_merge(actor=company.admin, survivor=survivor, loser=loser, choices={"password": "loser"})
    assert unknown.value.code == "invalid"
    with pytest.raises(ApplicationError):
        merge.customer_merge(actor=company.admin, survivor=survivor, loser=loser, choices={"name": "both"})
    with pytest.raises(ApplicationError):
        merge.customer_merge(actor=company.admin, survivor=survivor, loser=survivor)
    _nothing_changed(survivor, loser, audit_rows)


def test_a_merged_customer_cannot_be_merged_again(company) -> None:
    a = make_customer(company.owner, name="One")
    b = make_customer(company.owner, name="One Ltd")
    c = make_customer(company.owner, name="One Inc")
    merge.customer_merge(actor=company.admin, survivor=a, loser=b)
    with pytest.raises(NotFound):
        merge.customer_merge(actor=company.admin, survivor=c, loser=b)
