"""The demo data: deterministic, about the right size, and true to every invariant the services keep."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Count, Max, Q, Sum

from bridgecrm.activities.demo import CITY_CENTRES
from bridgecrm.activities.models import FollowUp, FollowUpKind, Task
from bridgecrm.contracts.demo import CONTRACT_SEQUENCE, QUOTE_SEQUENCE
from bridgecrm.contracts.models import (
    Contract,
    NumberSequence,
    Payment,
    PaymentAllocation,
    PaymentPlanLine,
    Quote,
    QuoteStatus,
)
from bridgecrm.contracts.numbering import next_number
from bridgecrm.core import money
from bridgecrm.core.models import ExchangeRate
from bridgecrm.core.selectors import rates_on
from bridgecrm.customers.models import Contact, Customer
from bridgecrm.pipeline.demo_deals import line_subtotal, local_at, local_date
from bridgecrm.pipeline.models import Deal, DealLine, DealStageChange, ForecastCategory
from bridgecrm.web.management.commands.demo import DemoSize, create_demo

NOW = local_at(dt.date(2026, 6, 15), 17 * 60)  # after Spring Festival, Labour Day and a quarter end
TODAY = local_date(NOW)
SIZE = DemoSize.scaled(0.1)


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, int]]:
    """One demo at a tenth of the full size, built once for the module and rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        _accounts, counts = create_demo(seed=11, now=NOW, size=SIZE)
        yield counts
        transaction.set_rollback(True)


@pytest.fixture
def world(demo: dict[str, int], db: None) -> dict[str, int]:
    return demo


def test_sizes_are_about_right(world: dict[str, int]) -> None:
    assert Customer.objects.count() == world["customers"] == SIZE.customers == 200
    contacts = Contact.objects.count()
    assert 2 * SIZE.customers <= contacts <= 3 * SIZE.customers
    assert Contact.objects.filter(is_primary=True).count() == SIZE.customers
    assert Deal.objects.count() == world["deals"] == SIZE.deals
    assert FollowUp.objects.count() == world["follow_ups"] == SIZE.follow_ups
    owners = Customer.objects.filter(owner__isnull=False).values("owner").distinct().count()
    assert Task.objects.count() == owners * SIZE.tasks_per_person
    assert Quote.objects.count() == world["quotes"] > SIZE.deals // 5
    won = Deal.objects.filter(status="won").count()
    assert 0.9 * won <= Contract.objects.count() == world["contracts"] <= won
    assert Payment.objects.count() == world["payments"] > 0
    assert set(Deal.objects.values_list("status", flat=True)) == {"open", "won", "lost"}


def test_everything_lies_in_the_two_years_up_to_today(world: dict[str, int]) -> None:
    start = NOW - dt.timedelta(days=735)
    assert not Deal.objects.filter(Q(created_at__lt=start) | Q(created_at__gt=NOW)).exists()
    assert not FollowUp.objects.filter(Q(occurred_at__lt=start) | Q(occurred_at__gt=NOW)).exists()
    assert not Payment.objects.filter(received_on__gt=TODAY).exists()
    assert not Quote.objects.filter(created_at__gt=NOW).exists()
    assert not DealStageChange.objects.filter(changed_at__gt=NOW).exists()
    for deal in Deal.objects.select_related("customer"):
        assert deal.created_at > deal.customer.created_at


def test_stage_histories_are_consistent_chains(world: dict[str, int]) -> None:
    changes = defaultdict(list)
    for change in DealStageChange.objects.select_related("to_stage").order_by("deal_id", "changed_at", "id"):
        changes[change.deal_id].append(change)
    for deal in Deal.objects.select_related("stage"):
        chain = changes[deal.pk]
        assert chain, deal
        assert chain[0].from_stage_id is None and chain[0].seconds_in_from_stage is None
        assert chain[0].changed_at == deal.created_at
        for before, after in itertools.pairwise(chain):
            assert after.from_stage_id == before.to_stage_id
            assert after.changed_at > before.changed_at
            assert after.seconds_in_from_stage == int((after.changed_at - before.changed_at).total_seconds())
            assert after.to_stage.order > before.to_stage.order or after.to_stage.kind != "open"
        assert chain[-1].to_stage_id == deal.stage_id
        assert chain[-1].changed_at == deal.stage_entered_at
        assert {c.to_stage.pipeline_id for c in chain} == {deal.pipeline_id}
        assert all(c.changed_by_id == deal.owner_id for c in chain)


def test_closed_and_open_deals_carry_what_their_stage_says(world: dict[str, int]) -> None:
    for deal in Deal.objects.select_related("stage"):
        assert deal.status == deal.stage.kind
        if deal.status == "won":
            assert deal.closed_on == local_date(deal.stage_entered_at)
            assert deal.probability == 100 and deal.forecast_category == ForecastCategory.CLOSED
            assert deal.lost_reason_id is None
        elif deal.status == "lost":
            assert deal.closed_on is not None and deal.lost_reason_id is not None
            assert deal.probability == 0
        else:
            assert deal.closed_on is None and deal.lost_reason_id is None
            assert deal.forecast_category == deal.stage.forecast_category
            if not deal.probability_overridden:
                assert deal.probability == deal.stage.probability
    stale = [
        d
        for d in Deal.objects.filter(status="open").select_related("stage")
        if d.stage.stale_after_days and (NOW - d.stage_entered_at).days > d.stage.stale_after_days
    ]
    assert len(stale) >= 3
    assert Deal.objects.filter(competitors__isnull=False).distinct().count() > SIZE.deals // 10


def test_amounts_come_from_the_lines_and_convert_at_the_dated_rate(world: dict[str, int]) -> None:
    assert set(ExchangeRate.objects.values_list("currency", flat=True)) >= {"USD", "EUR", "HKD"}
    lines = defaultdict(list)
    for line in DealLine.objects.all():
        assert line.subtotal == line_subtotal(line.quantity, line.unit_price, line.discount_percent)
        lines[line.deal_id].append(line)
    currencies = Counter()
    for deal in Deal.objects.all():
        assert lines[deal.pk]
        assert deal.amount == sum(line.subtotal for line in lines[deal.pk])
        assert deal.expected_close_date is not None
        expected = money.convert(money.Money(deal.amount, deal.currency), "CNY", rates_on(deal.expected_close_date))
        assert deal.amount_base == expected.amount
        currencies[deal.currency] += 1
    assert currencies["CNY"] > currencies["USD"] > 0


def test_half_up_rounding_of_a_line() -> None:
    assert line_subtotal(Decimal("1"), Decimal("0.05"), Decimal("50")) == Decimal("0.03")  # 0.025 → 0.03
    assert line_subtotal(Decimal("3"), Decimal("2800.00"), Decimal("8")) == Decimal("7728.00")


def test_win_rates_differ_by_source_and_rep_and_closes_cluster_at_quarter_ends(world: dict[str, int]) -> None:
    closed = Deal.objects.exclude(status="open")

    def rate(key: str) -> dict[Any, float]:
        rows = closed.values(key).annotate(won=Count("id", filter=Q(status="won")), n=Count("id"))
        return {r[key]: r["won"] / r["n"] for r in rows if r["n"] >= 5}

    by_source = rate("source")
    assert by_source["referral"] > by_source["exhibition"] > by_source["cold_call"]
    by_rep = rate("owner")
    assert max(by_rep.values()) - min(by_rep.values()) > 0.25
    months = Counter(d.month for d in Deal.objects.filter(status="won").values_list("closed_on", flat=True))
    quarter_ends = sum(months[m] for m in (3, 6, 9, 12))
    assert quarter_ends > 0.45 * sum(months.values())  # a third if closes were even


def test_quotes_are_numbered_in_series_with_exact_totals(world: dict[str, int]) -> None:
    years: dict[int, int] = defaultdict(int)
    for quote in Quote.objects.prefetch_related("lines"):
        lines = list(quote.lines.all())
        assert quote.subtotal == sum(line.line_total for line in lines)
        gross = sum(money.quantize(line.quantity * line.unit_price, quote.currency) for line in lines)
        assert quote.discount_total == gross - quote.subtotal
        assert quote.tax_rate == Decimal("13")
        assert quote.tax_amount == money.quantize(quote.subtotal * Decimal("0.13"), quote.currency)
        assert quote.total == quote.subtotal + quote.tax_amount
        for line in lines:
            assert line.line_total == line_subtotal(line.quantity, line.unit_price, line.discount_percent)
        prefix, year, serial = quote.number[0], int(quote.number[1:5]), int(quote.number[6:])
        assert (
            prefix == "Q"
            and year == local_date(Quote.objects.filter(number=quote.number, version=1).get().created_at).year
        )
        years[year] = max(years[year], serial)
        # Status and dates agree.
        if quote.status == QuoteStatus.DRAFT:
            assert quote.sent_at is None and quote.decided_at is None
        else:
            assert quote.sent_at is not None and quote.created_at <= quote.sent_at <= NOW
        if quote.status in (QuoteStatus.ACCEPTED, QuoteStatus.REJECTED):
            assert quote.decided_at is not None and quote.sent_at <= quote.decided_at
            assert local_date(quote.decided_at) <= quote.valid_until
        else:
            assert quote.decided_at is None
        if quote.status == QuoteStatus.EXPIRED:
            assert quote.valid_until < TODAY
        if quote.status == QuoteStatus.SENT:
            assert quote.valid_until >= TODAY
        if quote.status == QuoteStatus.ACCEPTED:
            assert quote.deal.status == "won" and quote.decided_at <= quote.deal.stage_entered_at
    assert set(Quote.objects.values_list("status", flat=True)) >= {"accepted", "rejected", "sent", "superseded"}
    for number in Quote.objects.values("number").annotate(n=Count("id"), top=Max("version")).filter(n__gt=1):
        latest = Quote.objects.get(number=number["number"], version=number["top"])
        assert latest.status != QuoteStatus.SUPERSEDED
        assert (
            Quote.objects.filter(number=number["number"])
            .exclude(pk=latest.pk)
            .values_list("status", flat=True)
            .distinct()
            .get()
            == QuoteStatus.SUPERSEDED
        )
    sequences = dict(NumberSequence.objects.filter(kind=QUOTE_SEQUENCE).values_list("year", "value"))
    assert sequences == dict(years)
    # A quote made in the app now continues the series.
    assert next_number(kind=QUOTE_SEQUENCE, prefix="Q", on=TODAY) == f"Q{TODAY.year}-{years[TODAY.year] + 1:05d}"


def test_contracts_plans_and_payments_add_up(world: dict[str, int]) -> None:
    allocated = dict(PaymentAllocation.objects.values("payment").annotate(s=Sum("amount")).values_list("payment", "s"))
    for payment in Payment.objects.all():
        assert allocated[payment.pk] == payment.amount > 0
    by_line = dict(
        PaymentAllocation.objects.values("plan_line").annotate(s=Sum("amount")).values_list("plan_line", "s")
    )
    last_paid = dict(
        PaymentAllocation.objects.values("plan_line")
        .annotate(d=Max("payment__received_on"))
        .values_list("plan_line", "d")
    )
    contracts = {c.pk: c for c in Contract.objects.select_related("deal", "quote")}
    received = dict(Payment.objects.values("contract").annotate(s=Sum("amount")).values_list("contract", "s"))
    plans = defaultdict(list)
    for line in PaymentPlanLine.objects.order_by("contract", "due_on", "id"):
        assert 0 <= line.paid_amount <= line.amount
        assert line.paid_amount == by_line.get(line.pk, Decimal(0))
        assert (line.paid_on is not None) == (line.paid_amount == line.amount)
        if line.paid_on is not None:
            assert line.paid_on == last_paid[line.pk]
        plans[line.contract_id].append(line)
    for contract in contracts.values():
        plan = plans[contract.pk]
        assert 1 <= len(plan) <= 4
        assert sum(line.amount for line in plan) == contract.amount
        assert contract.received_amount == received.get(contract.pk, Decimal(0))
        # Oldest due first: paid lines, then at most one part-paid line, then unpaid ones.
        states = ["paid" if x.paid_on else "part" if x.paid_amount else "open" for x in plan]
        assert states == sorted(states, key=["paid", "part", "open"].index)
        assert states.count("part") <= 1
        assert contract.deal.status == "won" and contract.signed_on >= contract.deal.closed_on
        if contract.quote is not None:
            assert contract.quote.status == QuoteStatus.ACCEPTED and contract.amount == contract.quote.total
        else:
            assert contract.amount == money.quantize(contract.deal.amount * Decimal("1.13"), contract.currency)
        if contract.status == "completed":
            assert contract.received_amount == contract.amount
        else:
            assert contract.status == "active"
    assert set(Contract.objects.values_list("status", flat=True)) == {"active", "completed"}
    years = Counter(c.signed_on.year for c in contracts.values())
    sequences = dict(NumberSequence.objects.filter(kind=CONTRACT_SEQUENCE).values_list("year", "value"))
    assert sequences == dict(years)


def test_every_aging_bucket_has_overdue_lines(world: dict[str, int]) -> None:
    buckets = Counter()
    for due_on in PaymentPlanLine.objects.filter(paid_on__isnull=True, due_on__lt=TODAY).values_list(
        "due_on", flat=True
    ):
        days = (TODAY - due_on).days
        buckets["1-30" if days <= 30 else "31-60" if days <= 60 else "61-90" if days <= 90 else "90+"] += 1
    assert set(buckets) == {"1-30", "31-60", "61-90", "90+"}


def test_follow_ups_are_spread_like_work_and_customers_agree_with_them(world: dict[str, int]) -> None:
    weekdays = Counter(local_date(at).weekday() for at in FollowUp.objects.values_list("occurred_at", flat=True))
    assert min(weekdays[d] for d in range(5)) > 3 * max(weekdays[5], weekdays[6])
    kinds = Counter(FollowUp.objects.values_list("kind", flat=True))
    assert kinds["call"] > kinds["wechat"] > kinds["visit"] > kinds["meeting"] > kinds["email"] > 0
    for visit in FollowUp.objects.filter(kind=FollowUpKind.VISIT).select_related("customer")[:300]:
        assert visit.checkin_latitude is not None and visit.checkin_at == visit.occurred_at
        if visit.customer.city in CITY_CENTRES:
            lat, lng = CITY_CENTRES[visit.customer.city]
            assert abs(float(visit.checkin_latitude) - lat) < 0.05 and abs(float(visit.checkin_longitude) - lng) < 0.05
    assert not FollowUp.objects.exclude(kind=FollowUpKind.VISIT).filter(checkin_latitude__isnull=False).exists()
    history: dict[int, list[FollowUp]] = defaultdict(list)
    for f in FollowUp.objects.select_related("customer").order_by("occurred_at", "id"):
        assert f.occurred_at > f.customer.created_at
        assert f.next_follow_up_on is None or f.next_follow_up_on >= local_date(f.occurred_at)
        history[f.customer_id].append(f)
    for customer in Customer.objects.all():
        follow_ups = history.get(customer.pk)
        if not follow_ups:
            assert customer.last_follow_up_at is None and customer.next_follow_up_on is None
            continue
        newest = follow_ups[-1]
        assert customer.last_follow_up_at == newest.occurred_at
        assert customer.next_follow_up_on == newest.next_follow_up_on
        # The activities services' reading: the newest date set, unless a later follow-up came on or after it.
        setters = [f for f in follow_ups if f.next_follow_up_on is not None]
        expected = None
        if setters:
            due = setters[-1].next_follow_up_on
            later = [f for f in follow_ups if f.occurred_at > setters[-1].occurred_at]
            expected = None if any(local_date(f.occurred_at) >= due for f in later) else due
        assert customer.next_follow_up_on == expected
    assert FollowUp.objects.filter(deal__isnull=False).count() > SIZE.follow_ups // 3


def test_each_rep_has_a_day_to_plan(world: dict[str, int]) -> None:
    owned = Customer.objects.filter(owner__isnull=False)
    owners = set(owned.values_list("owner", flat=True))
    due_today = set(owned.filter(next_follow_up_on=TODAY).values_list("owner", flat=True))
    overdue = set(owned.filter(next_follow_up_on__lt=TODAY).values_list("owner", flat=True))
    assert due_today == owners
    assert len(overdue) >= len(owners) - 2
    start, end = local_at(TODAY, 0), local_at(TODAY, 24 * 60)
    for owner in owners:
        tasks = Task.objects.filter(assignee=owner)
        assert tasks.filter(due_at__gte=start, due_at__lt=end).count() >= 3
        assert tasks.filter(done_at__isnull=True, due_at__lt=start).count() >= 3
        assert tasks.filter(done_at__isnull=False).exists()
        assert tasks.filter(due_at__gte=end).exists()
    assert not Task.objects.filter(done_at__gt=NOW).exists()
    assert not Task.objects.filter(remind_at__lte=NOW, reminded_at__isnull=True).exists()


def test_the_pool_holds_neglected_customers_each_explained_and_the_rules_recycle_no_more(
    world: dict[str, int],
) -> None:
    from bridgecrm.pool.models import PoolEvent
    from bridgecrm.pool.services import pool_recycle

    pooled = Customer.objects.filter(owner__isnull=True, pooled_at__isnull=False)
    assert pooled.count() == world["in the public pool"] > 0
    assert not pooled.filter(deals__status="open").exists()
    explained = set(PoolEvent.objects.filter(kind="recycled").values_list("customer_id", flat=True))
    assert set(pooled.values_list("pk", flat=True)) <= explained
    assert pool_recycle(now=NOW).recycled == 0


def test_every_customer_has_a_tier_and_the_grid_is_used(world: dict[str, int]) -> None:
    assert world["tiered"] == Customer.objects.count()
    tiers = set(Customer.objects.values_list("tier", flat=True))
    assert "" not in tiers and len(tiers) >= 3
