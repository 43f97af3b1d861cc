"""Collected figures are net of refunds, each refund counted in the period of its own date: the
scorecards' collected amount and collection rate, the targets' collected actuals, the tiers'
trailing-12-month collected value and the contracts' collection rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from bridgecrm.conftest import Company
from bridgecrm.contracts import selectors as contract_selectors
from bridgecrm.contracts.models import Payment
from bridgecrm.contracts.services import refunds as refund_services
from bridgecrm.core.periods import Period
from bridgecrm.scorecards import metrics
from bridgecrm.targets import selectors as target_selectors
from bridgecrm.tiers import selectors as tier_selectors
from bridgecrm.tiers.tests.helpers import customer, paid

pytestmark = pytest.mark.django_db

JANUARY, MARCH = Period.month(2026, 1), Period.month(2026, 3)
Q1, Q2 = Period.quarter(2026, 1), Period.quarter(2026, 2)


def refund(amount: str, on: dt.date) -> None:
    payment = Payment.objects.get()
    refund_services.refund_record(
        actor=payment.contract.owner, payment=payment, refunded_on=on, amount=amount, reason="Returned"
    )


def score(code: str, company: Company, period: Period) -> D | None:
    ids = [company.owner.pk]
    return metrics.compute_all([code], period=period, user_ids=ids, today=dt.date(2026, 7, 10))[code][company.owner.pk]


@pytest.fixture
def january_payment(company: Company) -> Company:
    # 10,000.00 due on 15 January and paid that day
    paid(company.owner, customer(company.owner, "Acme"), "10000.00", dt.date(2026, 1, 15))
    return company


def test_a_march_refund_of_a_january_payment_lowers_march_not_january(january_payment: Company) -> None:
    c = january_payment
    refund("2500.00", dt.date(2026, 3, 20))
    actual = target_selectors.actuals
    assert actual(measure="collected_amount", period=JANUARY, user_ids=[c.owner.pk]) == {c.owner.pk: D("10000.00")}
    assert actual(measure="collected_amount", period=MARCH, user_ids=[c.owner.pk]) == {c.owner.pk: D("-2500.00")}
    assert actual(measure="collected_amount", period=Q1, user_ids=[c.owner.pk]) == {c.owner.pk: D("7500.00")}
    assert target_selectors.actuals_by_owner(measure="collected_amount", period=Q1) == {c.owner.pk: D("7500.00")}
    assert score("collected_amount", c, Q1) == D("7500.00")
    assert score("collected_amount", c, Q2) == D("0.00")


def test_collection_rate_counts_a_refund_only_from_its_date(january_payment: Company) -> None:
    c = january_payment
    refund("2500.00", dt.date(2026, 4, 2))  # after Q1's end: Q1 stays fully collected
    assert score("collection_rate", c, Q1) == D("1.0000")
    refund("1500.00", dt.date(2026, 3, 31))  # within Q1: 1,500 short at Q1's end (April's does not count)
    assert score("collection_rate", c, Q1) == D("0.8500")


def test_tier_value_is_net_of_refunds_in_the_window(january_payment: Company) -> None:
    c = january_payment
    acme = Payment.objects.get().contract.customer
    refund("4000.00", dt.date(2026, 3, 1))
    facts, _ = tier_selectors.collect_facts(today=dt.date(2026, 6, 30), customer_ids=[acme.pk])
    assert facts[acme.pk].payments == 6000.0
    assert facts[acme.pk].last_purchase == dt.date(2026, 1, 15)  # a refund is not a purchase
    assert c.owner.pk


def test_collection_rates_report_nets_refunds_of_the_period(january_payment: Company) -> None:
    c = january_payment
    refund("2500.00", dt.date(2026, 3, 20))

    def row(start: dt.date, end: dt.date) -> contract_selectors.CollectionRow:
        report = contract_selectors.collections(
            actor=c.admin, date_from=start, date_to=end, group_by="owner", today=dt.date(2026, 7, 10)
        )
        return {r.key: r for r in report.rows}[c.owner.pk]

    jan = row(dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    # January's line is 2,500 short again: collected of due falls; received in January stays gross
    assert (jan.due, jan.collected, jan.rate_of_due) == (D("10000.00"), D("7500.00"), D("75.0"))
    assert (jan.received_on_contracts, jan.received_in_period, jan.refunded_in_period) == (
        D("7500.00"),
        D("10000.00"),
        D("0.00"),
    )
    mar = row(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert (mar.received_in_period, mar.refunded_in_period) == (D("-2500.00"), D("2500.00"))
    contract = Payment.objects.get().contract
    contract.refresh_from_db()
    assert contract.received_amount == D("7500.00")
