"""Aging buckets (boundaries 30/31, 60/61, 90/91 days), conversion to the base currency at the rate of
each line's due date (exact to the cent), grouping, visibility, query count and collection rates."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridgecrm.contracts import selectors
from bridgecrm.contracts.models import PaymentPlanLine
from bridgecrm.contracts.services import payments
from bridgecrm.contracts.tests.money_helpers import make_contract
from bridgecrm.core.models import ExchangeRate

D = Decimal
TODAY = dt.date(2026, 6, 30)


def ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (-5, "not_due"),
        (0, "not_due"),
        (1, "d1_30"),
        (30, "d1_30"),
        (31, "d31_60"),
        (60, "d31_60"),
        (61, "d61_90"),
        (90, "d61_90"),
        (91, "d90_plus"),
        (400, "d90_plus"),
    ],
)
def test_bucket_boundaries_in_sql_and_in_python(company, days, bucket):
    contract = make_contract(company.owner, amount="100.00", plan=[(ago(days), "100.00")])
    report = selectors.aging(actor=company.owner, today=TODAY)
    assert selectors.bucket_of(days) == bucket
    assert report.rows[0].buckets[bucket] == D("100.00")
    assert sum(report.rows[0].buckets.values()) == D("100.00")
    assert report.overdue == (D(0) if bucket == "not_due" else D("100.00"))
    assert report.rows[0].key == contract.customer_id


def test_only_the_unpaid_part_of_signed_contracts_is_aged(company):
    contract = make_contract(company.owner, amount="1000.00", plan=[(ago(45), "600.00"), (ago(10), "400.00")])
    payments.payment_record(actor=company.owner, contract=contract, received_on=ago(1), amount="700.00")
    make_contract(company.owner, customer=contract.customer, active=False, plan=[(ago(45), "50.00")])  # a draft
    report = selectors.aging(actor=company.owner, today=TODAY)
    assert report.totals["d31_60"] == D("0.00")
    assert report.totals["d1_30"] == D("300.00")
    assert report.total == D("300.00")


def test_foreign_currencies_convert_at_the_rate_of_each_due_date(company):
    ExchangeRate.objects.create(currency="USD", valid_from=dt.date(2026, 1, 1), rate=D("7.1000000000"))
    ExchangeRate.objects.create(currency="USD", valid_from=ago(20), rate=D("7.2000000000"))
    usd = make_contract(company.owner, currency="USD", amount="300.00", plan=[(ago(40), "100.00"), (ago(5), "100.00")])
    make_contract(company.owner, customer=usd.customer, amount="50.00", plan=[(ago(5), "50.00")])
    report = selectors.aging(actor=company.owner, today=TODAY)
    assert report.base == "CNY"
    assert report.totals["d31_60"] == D("710.00")  # 100 USD × 7.1 (the rate in force 40 days ago)
    assert report.totals["d1_30"] == D("770.00")  # 100 USD × 7.2 + 50 CNY
    assert report.total == D("1480.00")


def test_a_missing_rate_is_reported_not_guessed(company):
    make_contract(company.owner, currency="EUR", amount="100.00", plan=[(ago(5), "100.00")])
    report = selectors.aging(actor=company.owner, today=TODAY)
    assert report.missing_rates == ["EUR"]
    assert report.total == 0


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    amounts=st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=5),
    rate=st.decimals(min_value=D("0.0001"), max_value=D("999"), places=4),
)
def test_converted_totals_are_exact_to_the_cent(company_usd, amounts, rate):
    """Each figure is the exact Σ (owed × rate), rounded half-up once to the cent."""
    customer, owner = company_usd
    PaymentPlanLine.objects.all().delete()
    from bridgecrm.contracts.models import Contract

    Contract.objects.all().delete()
    ExchangeRate.objects.all().delete()
    ExchangeRate.objects.create(currency="USD", valid_from=dt.date(2020, 1, 1), rate=rate)
    values = [D(a).scaleb(-2) for a in amounts]
    make_contract(
        owner,
        customer=customer,
        currency="USD",
        amount=str(sum(values)),
        plan=[(ago(10 + i), str(v)) for i, v in enumerate(values)],
    )
    report = selectors.aging(actor=owner, today=TODAY)
    exact = sum((v * rate for v in values), D(0))
    assert report.total == exact.quantize(D("0.01"), rounding=ROUND_HALF_UP)


@pytest.fixture
def company_usd(company):
    from bridgecrm.customers.tests.factories import make_customer

    return make_customer(company.owner, name="USD buyer"), company.owner


def test_grouping_by_rep_and_team_and_visibility(company):
    from bridgecrm.customers.tests.factories import make_customer

    mine = make_contract(company.owner, amount="100.00", plan=[(ago(3), "100.00")])
    theirs = make_contract(
        company.other_rep,
        customer=make_customer(company.other_rep, name="B co"),
        amount="70.00",
        plan=[(ago(3), "70.00")],
    )
    by_owner = selectors.aging(actor=company.admin, group_by="owner", today=TODAY)
    assert {r.key: r.total for r in by_owner.rows} == {mine.owner_id: D("100.00"), theirs.owner_id: D("70.00")}
    by_team = selectors.aging(actor=company.admin, group_by="team", today=TODAY)
    assert {r.key: r.total for r in by_team.rows} == {company.team_a.pk: D("100.00"), company.team_b.pk: D("70.00")}
    # A rep sees only what they may see; manager B only team B.
    assert selectors.aging(actor=company.owner, today=TODAY).total == D("100.00")
    assert selectors.aging(actor=company.manager_b, today=TODAY).total == D("70.00")
    assert selectors.aging(actor=company.teammate, today=TODAY).total == D("0.00")


def test_aging_costs_a_fixed_number_of_queries(company):
    from bridgecrm.customers.tests.factories import make_customer

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            selectors.aging(actor=company.admin, today=TODAY)
        return len(ctx.captured_queries)

    make_contract(company.owner, amount="100.00", plan=[(ago(3), "100.00")])
    count()  # warm the actor's cached scope and the company profile
    small = count()
    for i in range(5):
        make_contract(
            company.owner,
            customer=make_customer(company.owner, name=f"C{i}"),
            amount="100.00",
            plan=[(ago(40 * i), "50.00"), (ago(i), "50.00")],
        )
    assert count() == small


def test_collection_rates_per_rep_for_a_period(company):
    from bridgecrm.customers.tests.factories import make_customer

    contract = make_contract(
        company.owner, amount="1000.00", plan=[(dt.date(2026, 2, 1), "400.00"), (dt.date(2026, 5, 1), "600.00")]
    )
    payments.payment_record(actor=company.owner, contract=contract, received_on=dt.date(2026, 4, 1), amount="500.00")
    other = make_contract(
        company.other_rep,
        customer=make_customer(company.other_rep, name="B co"),
        amount="200.00",
        plan=[(dt.date(2026, 3, 1), "200.00")],
    )
    report = selectors.collections(
        actor=company.admin, date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 6, 30), group_by="owner", today=TODAY
    )
    rows = {r.key: r for r in report.rows}
    mine = rows[company.owner.pk]
    assert (mine.due, mine.collected, mine.rate_of_due) == (D("1000.00"), D("500.00"), D("50.0"))
    assert (mine.contract_amount, mine.received_on_contracts, mine.rate_of_amount) == (
        D("1000.00"),
        D("500.00"),
        D("50.0"),
    )
    assert mine.received_in_period == D("500.00")
    assert rows[other.owner_id].rate_of_due == D("0.0")
    assert report.total.due == D("1200.00")
    assert report.total.rate_of_due == D("41.7")
    # The team view adds them up per team.
    teams = selectors.collections(
        actor=company.admin, date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 6, 30), group_by="team", today=TODAY
    )
    assert {r.key: r.collected for r in teams.rows} == {company.team_a.pk: D("500.00"), company.team_b.pk: D("0.00")}
