"""Every pool rule with a frozen clock: ``now`` is passed to the services and the recycling job."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from bridgecrm.activities.models import Notification, NotificationKind
from bridgecrm.conftest import Company
from bridgecrm.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from bridgecrm.core.models import AuditEntry
from bridgecrm.core.timeline import customer_timeline
from bridgecrm.customers.models import Customer
from bridgecrm.customers.tests.factories import make_customer
from bridgecrm.pool import selectors, services
from bridgecrm.pool.models import PoolEvent, PoolEventKind, PoolRules

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai


def days(n: float) -> dt.timedelta:
    return dt.timedelta(days=n)


def rules(**values: int | bool) -> PoolRules:
    selectors.rules_get()
    PoolRules.objects.filter(pk=1).update(**values)
    return selectors.rules_get()


def owned(
    company: Company, name: str = "Acme", *, since: dt.datetime = T0, follow_up: dt.datetime | None = None
) -> Customer:
    customer = make_customer(company.owner, name=name)
    Customer.objects.filter(pk=customer.pk).update(owner_since=since, created_at=since, last_follow_up_at=follow_up)
    return Customer.objects.get(pk=customer.pk)


def pooled(company: Company, name: str = "Pooled Co", *, at: dt.datetime = T0) -> Customer:
    customer = make_customer(company.admin, name=name)
    services.pool_release(actor=company.admin, customer=customer, reason="test", now=at)
    return Customer.objects.get(pk=customer.pk)


# ---- recycling -------------------------------------------------------------------------------------


def test_recycled_after_n_days_without_follow_up(company: Company) -> None:
    rules(recycle_no_follow_up_days=30, recycle_no_progress_days=0, warning_days=3)
    customer = owned(company, follow_up=T0 + days(5))
    # 35 days after the start the follow-up is 30 days old minus a minute: not yet.
    assert services.pool_recycle(now=T0 + days(35) - dt.timedelta(minutes=1)).recycled == 0
    run = services.pool_recycle(now=T0 + days(35))
    assert run.recycled == 1
    customer.refresh_from_db()
    assert customer.owner_id is None and customer.team_id is None
    assert customer.pooled_at == T0 + days(35)
    assert customer.owner_since is None
    event = PoolEvent.objects.get(customer=customer, kind=PoolEventKind.RECYCLED)
    assert (event.reason, event.days, event.user_id, event.actor_id) == ("no_follow_up", 30, company.owner.pk, None)
    note = Notification.objects.get(recipient=company.owner, kind=NotificationKind.POOL_RECYCLED)
    assert note.params == {"name": "Acme", "reason": "no_follow_up", "days": 30}
    # Audited as a system change of the owner.
    entry = AuditEntry.objects.for_object(customer).filter(field="owner").order_by("-id").first()
    assert entry is not None and (entry.old_value, entry.actor_id) == (company.owner.pk, None)


def test_owner_since_counts_when_later_than_the_last_follow_up(company: Company) -> None:
    rules(recycle_no_follow_up_days=30, recycle_no_progress_days=0)
    customer = owned(company, since=T0, follow_up=T0 - days(100))
    assert services.pool_recycle(now=T0 + days(29)).recycled == 0
    assert services.pool_recycle(now=T0 + days(30)).recycled == 1
    customer.refresh_from_db()
    assert customer.pooled_at is not None


def test_recycled_after_m_days_without_deal_progress(company: Company) -> None:
    from bridgecrm.pipeline import services as pipeline_services
    from bridgecrm.pipeline.models import Deal

    rules(recycle_no_follow_up_days=0, recycle_no_progress_days=60, warning_days=0)
    pipeline_services.pipeline_create(actor=company.admin, name="Sales")
    customer = owned(company)
    deal = pipeline_services.deal_create(actor=company.owner, customer=customer, name="Big one")
    Deal.objects.filter(pk=deal.pk).update(stage_entered_at=T0 + days(20))
    assert services.pool_recycle(now=T0 + days(79)).recycled == 0  # the deal moved on day 20
    assert services.pool_recycle(now=T0 + days(80)).recycled == 1
    event = PoolEvent.objects.get(customer=customer, kind=PoolEventKind.RECYCLED)
    assert (event.reason, event.days) == ("no_progress", 60)
    item = next(i for i in customer_timeline(actor=company.admin, customer=customer) if i.kind == "pool")
    assert item.title.endswith("no deal progress for 60 days")


def test_recycling_is_idempotent_and_needs_no_memory(company: Company) -> None:
    rules(recycle_no_follow_up_days=30, recycle_no_progress_days=0, warning_days=0)
    owned(company, "One")
    owned(company, "Two")
    now = T0 + days(31)
    assert services.pool_recycle(now=now).recycled == 2
    assert services.pool_recycle(now=now).recycled == 0  # a second run, as after a restart
    assert services.pool_recycle(now=now + days(10)).recycled == 0
    assert PoolEvent.objects.filter(kind=PoolEventKind.RECYCLED).count() == 2
    assert Notification.objects.filter(kind=NotificationKind.POOL_RECYCLED).count() == 2


def test_protected_customers_are_never_recycled(company: Company) -> None:
    rules(recycle_no_follow_up_days=30, recycle_no_progress_days=30, protected_cap=5)
    customer = owned(company)
    services.pool_protect(actor=company.owner, customer=customer, protected=True, now=T0)
    assert services.pool_recycle(now=T0 + days(400)).recycled == 0
    services.pool_protect(actor=company.owner, customer=customer, protected=False, now=T0 + days(400))
    assert services.pool_recycle(now=T0 + days(401)).recycled == 1


def test_a_follow_up_logged_in_time_keeps_the_customer(company: Company) -> None:
    rules(recycle_no_follow_up_days=30, recycle_no_progress_days=0)
    customer = owned(company)
    Customer.objects.filter(pk=customer.pk).update(last_follow_up_at=T0 + days(25))
    assert services.pool_recycle(now=T0 + days(54)).recycled == 0
    assert services.pool_recycle(now=T0 + days(55)).recycled == 1


def test_both_rules_off_recycles_nothing(company: Company) -> None:
    rules(recycle_no_follow_up_days=0, recycle_no_progress_days=0)
    owned(company)
    assert services.pool_recycle(now=T0 + days(1000)) == services.RecycleRun(recycled=0, warned=0)


# ---- warnings --------------------------------------------------------------------------------------


def test_the_owner_is_warned_k_days_before_once_per_ownership(company: Company) -> None:
    rules(recycle_no_follow_up_days=30, recycle_no_progress_days=0, warning_days=3)
    customer = owned(company)
    assert services.pool_recycle(now=T0 + days(26)).warned == 0  # 4 days before
    assert services.pool_recycle(now=T0 + days(27)).warned == 1  # 3 days before
    assert services.pool_recycle(now=T0 + days(28)).warned == 0  # once per ownership period
    note = Notification.objects.get(recipient=company.owner, kind=NotificationKind.POOL_WARNING)
    assert note.params["on"] == "2026-04-01"
    assert services.pool_recycle(now=T0 + days(30)).recycled == 1
    # Claimed again later: a new ownership period, a new warning.
    customer.refresh_from_db()
    later = T0 + days(40)
    services.pool_claim(actor=company.teammate, customer=customer, now=later)
    assert services.pool_recycle(now=later + days(27)).warned == 1
    assert PoolEvent.objects.filter(customer=customer, kind=PoolEventKind.WARNED).count() == 2


def test_no_warning_when_warning_days_is_zero(company: Company) -> None:
    rules(recycle_no_follow_up_days=30, recycle_no_progress_days=0, warning_days=0)
    owned(company)
    assert services.pool_recycle(now=T0 + days(29)).warned == 0


# ---- claims ----------------------------------------------------------------------------------------


def test_claim_sets_owner_team_and_dates_and_explains_it(company: Company) -> None:
    customer = pooled(company)
    claimed = services.pool_claim(actor=company.other_rep, customer=customer, now=T0 + days(1))
    assert claimed.owner_id == company.other_rep.pk
    assert claimed.team_id == company.team_b.pk
    assert claimed.owner_since == T0 + days(1)
    assert claimed.pooled_at is None
    assert claimed.version == customer.version + 1
    assert Customer.objects.visible_to(company.other_rep).filter(pk=customer.pk).exists()
    titles = [i.title for i in customer_timeline(actor=company.admin, customer=claimed) if i.kind == "pool"]
    assert titles[0] == f"Claimed from the public pool by {company.other_rep.display_name}"
    assert titles[1] == f"Released to the public pool by {company.admin.display_name}: test"


def test_claiming_a_claimed_customer_is_a_conflict(company: Company) -> None:
    customer = pooled(company)
    services.pool_claim(actor=company.owner, customer=customer, now=T0)
    with pytest.raises(Conflict):
        services.pool_claim(actor=company.other_rep, customer=customer, now=T0)
    assert Customer.objects.get(pk=customer.pk).owner_id == company.owner.pk


def test_holding_limit(company: Company) -> None:
    rules(holding_limit=2, daily_claim_limit=0)
    make_customer(company.owner, name="Held")
    first, second = pooled(company, "P1"), pooled(company, "P2")
    services.pool_claim(actor=company.owner, customer=first, now=T0)
    with pytest.raises(ApplicationError) as exc:
        services.pool_claim(actor=company.owner, customer=second, now=T0)
    assert exc.value.code == "holding_limit"
    assert Customer.objects.get(pk=second.pk).owner_id is None


def test_daily_claim_limit_counts_the_company_day(company: Company) -> None:
    rules(daily_claim_limit=2, holding_limit=0, cooldown_days=0)
    a, b, c = pooled(company, "A"), pooled(company, "B"), pooled(company, "C")
    services.pool_claim(actor=company.owner, customer=a, now=T0)
    services.pool_claim(actor=company.owner, customer=b, now=T0)
    with pytest.raises(ApplicationError) as exc:
        services.pool_claim(actor=company.owner, customer=c, now=T0 + dt.timedelta(hours=13))  # 23:00 Shanghai
    assert exc.value.code == "daily_limit"
    assert selectors.pool_status(actor=company.owner, now=T0).claims_left == 0
    # Midnight in Shanghai (16:00 UTC) starts a new day.
    services.pool_claim(actor=company.owner, customer=c, now=T0 + dt.timedelta(hours=14))
    assert selectors.pool_status(actor=company.owner, now=T0 + dt.timedelta(hours=14)).claims_left == 1


def test_cooldown_after_release_and_after_recycling(company: Company) -> None:
    rules(cooldown_days=7, daily_claim_limit=0, recycle_no_follow_up_days=30, recycle_no_progress_days=0)
    customer = owned(company)
    services.pool_release(actor=company.owner, customer=customer, reason="not interested", now=T0)
    with pytest.raises(ApplicationError) as exc:
        services.pool_claim(actor=company.owner, customer=customer, now=T0 + days(7) - dt.timedelta(seconds=1))
    assert exc.value.code == "cooldown"
    services.pool_claim(actor=company.owner, customer=customer, now=T0 + days(7))
    # Recycled from them: the same cool-down; another rep may claim at once.
    services.pool_recycle(now=T0 + days(37))
    with pytest.raises(ApplicationError):
        services.pool_claim(actor=company.owner, customer=customer, now=T0 + days(38))
    services.pool_claim(actor=company.teammate, customer=customer, now=T0 + days(38))


# ---- release, protect ------------------------------------------------------------------------------


def test_release_needs_a_reason_and_the_right_to_reassign(company: Company) -> None:
    customer = make_customer(company.owner, name="Mine")
    with pytest.raises(ApplicationError) as exc:
        services.pool_release(actor=company.owner, customer=customer, reason="  ")
    assert exc.value.details == {"reason": ["Say why you release this customer."]}
    with pytest.raises(NotFound):
        services.pool_release(actor=company.other_rep, customer=customer, reason="x")
    customer.collaborators.add(company.teammate)
    with pytest.raises(PermissionDenied):
        services.pool_release(actor=company.teammate, customer=customer, reason="x")
    assert Customer.objects.get(pk=customer.pk).owner_id == company.owner.pk
    services.pool_release(actor=company.manager_a, customer=customer, reason="Moved to Beijing", now=T0)
    customer.refresh_from_db()
    assert (customer.owner_id, customer.pooled_at) == (None, T0)
    assert not customer.collaborators.exists()
    event = PoolEvent.objects.get(customer=customer, kind=PoolEventKind.RELEASED)
    assert (event.user_id, event.actor_id, event.note) == (company.owner.pk, company.manager_a.pk, "Moved to Beijing")
    with pytest.raises(NotFound):  # owner-less customers are hidden from the manager's customer list
        services.pool_release(actor=company.manager_a, customer=customer, reason="again")


def test_protected_cap_per_rep(company: Company) -> None:
    rules(protected_cap=1)
    a, b = make_customer(company.owner, name="A"), make_customer(company.owner, name="B")
    services.pool_protect(actor=company.owner, customer=a, protected=True)
    with pytest.raises(ApplicationError) as exc:
        services.pool_protect(actor=company.owner, customer=b, protected=True)
    assert exc.value.code == "protected_cap"
    assert not Customer.objects.get(pk=b.pk).is_protected
    with pytest.raises(NotFound):
        services.pool_protect(actor=company.other_rep, customer=a, protected=False)
    assert Customer.objects.get(pk=a.pk).is_protected


# ---- assign and distribute -------------------------------------------------------------------------


def test_assign_needs_pool_assign_and_a_rep_in_scope(company: Company) -> None:
    customer = pooled(company)
    with pytest.raises(PermissionDenied):
        services.pool_assign(actor=company.owner, customer=customer, rep=company.teammate)
    with pytest.raises(ApplicationError) as exc:
        services.pool_assign(actor=company.manager_a, customer=customer, rep=company.other_rep)
    assert exc.value.details == {"user": ["Choose an active rep in your teams."]}
    services.pool_assign(actor=company.manager_a, customer=customer, rep=company.teammate, now=T0)
    customer.refresh_from_db()
    assert (customer.owner_id, customer.team_id, customer.owner_since) == (company.teammate.pk, company.team_a.pk, T0)
    note = Notification.objects.get(recipient=company.teammate, kind=NotificationKind.POOL_ASSIGNED)
    assert note.params == {"name": "Pooled Co", "by": company.manager_a.display_name}


def test_assign_respects_the_holding_limit(company: Company) -> None:
    rules(holding_limit=1)
    make_customer(company.teammate, name="Held")
    customer = pooled(company)
    with pytest.raises(ApplicationError) as exc:
        services.pool_assign(actor=company.manager_a, customer=customer, rep=company.teammate)
    assert exc.value.code == "holding_limit"


def test_distribute_round_robin(company: Company) -> None:
    rules(holding_limit=0)
    customers = [pooled(company, f"C{i}") for i in range(5)]
    result = services.pool_distribute(
        actor=company.manager_a, customers=customers, reps=[company.owner, company.teammate], mode="round_robin"
    )
    got = [rep for _c, rep in result.assigned]
    assert got == [company.owner.pk, company.teammate.pk] * 2 + [company.owner.pk]
    assert result.skipped == []


def test_distribute_by_load_and_limits(company: Company) -> None:
    rules(holding_limit=3)
    make_customer(company.owner, name="Held 1")
    make_customer(company.owner, name="Held 2")
    customers = [pooled(company, f"C{i}") for i in range(5)]
    result = services.pool_distribute(
        actor=company.manager_a, customers=customers, reps=[company.owner, company.teammate], mode="load"
    )
    # teammate holds 0, owner 2 (limit 3): the teammate gets two; at 2 and 2 the first rep given
    # (the owner) gets one and is full; the teammate gets the fourth; nobody has room for the fifth.
    owner, mate = company.owner.pk, company.teammate.pk
    assert [rep for _c, rep in result.assigned] == [mate, mate, owner, mate]
    assert result.skipped == [customers[4].pk]
    assert selectors.holdings(company.owner) == 3 and selectors.holdings(company.teammate) == 3


def test_distribute_refuses_reps_out_of_scope(company: Company) -> None:
    customer = pooled(company)
    with pytest.raises(ApplicationError):
        services.pool_distribute(actor=company.manager_a, customers=[customer], reps=[company.other_rep])
    assert Customer.objects.get(pk=customer.pk).owner_id is None


# ---- rules -----------------------------------------------------------------------------------------


def test_rules_update_needs_pool_manage_and_checks_values(company: Company) -> None:
    with pytest.raises(PermissionDenied):
        services.rules_update(actor=company.manager_a, holding_limit=5)
    with pytest.raises(ApplicationError) as exc:
        services.rules_update(actor=company.admin, holding_limit=-1)
    assert "holding_limit" in exc.value.details
    with pytest.raises(ApplicationError) as exc:
        services.rules_update(actor=company.admin, recycle_no_follow_up_days=3, warning_days=3)
    assert "warning_days" in exc.value.details
    with pytest.raises(Conflict):
        services.rules_update(actor=company.admin, version=99, holding_limit=5)
    updated = services.rules_update(actor=company.admin, version=1, holding_limit=5, mask_contacts=False)
    assert (updated.holding_limit, updated.mask_contacts, updated.version) == (5, False, 2)
    assert AuditEntry.objects.for_object(updated).filter(field="holding_limit").exists()
    assert timezone.now() >= updated.updated_at


def test_notification_texts(company: Company) -> None:
    from bridgecrm.activities.selectors import notification_text

    rules(recycle_no_follow_up_days=30, recycle_no_progress_days=0, warning_days=3)
    owned(company, "Acme")
    services.pool_recycle(now=T0 + days(27))
    services.pool_recycle(now=T0 + days(30))
    texts = {n.kind: notification_text(n) for n in Notification.objects.filter(recipient=company.owner)}
    assert texts[NotificationKind.POOL_WARNING] == (
        "Acme returns to the public pool on 2026-04-01 unless you follow up or move a deal"
    )
    assert (
        texts[NotificationKind.POOL_RECYCLED] == "Acme went back to the public pool after 30 days without a follow-up"
    )
    customer = pooled(company, "Beta")
    services.pool_assign(actor=company.manager_a, customer=customer, rep=company.owner)
    note = Notification.objects.get(kind=NotificationKind.POOL_ASSIGNED)
    assert notification_text(note) == f"{company.manager_a.display_name} assigned you Beta from the public pool"
