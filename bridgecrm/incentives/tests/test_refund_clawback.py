"""Refunds and commissions (docs/incentives.md, example 7): a refund claws back the refunded share
of what its payment earned, at the rates it was paid, in the statement of the refund's period (or
the next one generated when that one is approved), scaled when capped; a deleted refund gives it
back once; signed-basis plans are not touched by refunds, only by a terminated contract."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from typing import Any

import pytest

from bridgecrm.conftest import Company
from bridgecrm.contracts.models import Contract, Payment, Refund
from bridgecrm.contracts.services import contracts as contract_services
from bridgecrm.contracts.services import refunds as refund_services
from bridgecrm.core.periods import Period
from bridgecrm.incentives import compute, services
from bridgecrm.incentives.models import LineKind, Statement
from bridgecrm.incentives.tests.helpers import AUGUST, JULY, plan, target, won_deal
from bridgecrm.targets.models import Measure
from bridgecrm.tiers.tests.helpers import customer, paid

pytestmark = pytest.mark.django_db
SEPTEMBER = Period.month(2026, 9)


def lines_of(statement: Statement) -> list[tuple[str, str, Any, Any, Any]]:
    return [
        (ln.kind, ln.source_ref.split(":")[0], ln.base_amount, ln.amount, ln.band)
        for ln in statement.lines.order_by("position")
    ]


def example_7(company: Company, *, cap: str | None = None) -> tuple[Payment, Payment]:
    # Target 10,000.00 collected in July; bands 0–80 % → 2 %, from 80 % → 3 %.
    plan(company.admin, company.owner, basis="collected", name="Collections", cap=cap)
    target(company.owner, "10000", measure=Measure.COLLECTED_AMOUNT)
    paid(company.owner, customer(company.owner, "Payer One"), "6000.00", dt.date(2026, 7, 3))
    paid(company.owner, customer(company.owner, "Payer Two"), "4000.50", dt.date(2026, 7, 9))
    return Payment.objects.get(amount=D("6000.00")), Payment.objects.get(amount=D("4000.50"))


def refund(payment: Payment, amount: str, on: dt.date) -> Refund:
    return refund_services.refund_record(
        actor=payment.contract.owner, payment=payment, refunded_on=on, amount=amount, reason="Returned"
    )


def generate(company: Company, period: Period) -> Statement:
    return services.statement_generate(actor=company.manager_a, user=company.owner, period=period)


def test_example_7_a_refund_in_august_claws_back_in_august_at_julys_rates(company: Company) -> None:
    p1, p2 = example_7(company)
    july = generate(company, JULY)
    assert lines_of(july) == [
        ("commission", "payment", D("6000.00"), D("120.00"), "0–80 %"),
        ("commission", "payment", D("2000.00"), D("40.00"), "0–80 %"),
        ("commission", "payment", D("2000.50"), D("60.02"), "≥ 80 %"),
    ]
    services.statement_approve(actor=company.manager_a, statement=july)
    r = refund(p2, "1000.00", dt.date(2026, 8, 12))
    august = generate(company, AUGUST)
    assert lines_of(august) == [
        ("clawback", "refund", D("499.94"), D("-10.00"), "2026-07"),
        ("clawback", "refund", D("500.06"), D("-15.00"), "2026-07"),
    ]
    assert august.total == D("-25.00")
    claw = august.lines.first()
    assert claw is not None
    assert claw.source_ref == f"refund:{r.pk}" and claw.payment_id == p2.pk
    assert claw.source_date == dt.date(2026, 8, 12) and claw.rate == D("2")
    assert claw.source_label == f"{p2.contract.number} · Payer Two"
    july.refresh_from_db()
    assert july.total == D("220.02")  # approved: never changes
    # Regenerating August keeps one set; September does not take the refund again.
    assert lines_of(generate(company, AUGUST)) == lines_of(august)
    assert generate(company, SEPTEMBER).total == 0
    assert p1.pk


def test_example_7_capped_july_scales_the_clawback(company: Company) -> None:
    _p1, p2 = example_7(company, cap="200")
    july = generate(company, JULY)
    assert july.total == D("200.00")  # 220.02 earned, cap adjustment −20.02
    services.statement_approve(actor=company.manager_a, statement=july)
    refund(p2, "1000.00", dt.date(2026, 8, 12))
    august = generate(company, AUGUST)
    assert [ln.amount for ln in august.lines.order_by("position")] == [D("-9.09"), D("-13.64")]
    assert august.total == D("-22.73")


def test_a_refund_in_the_same_period_claws_back_in_that_draft(company: Company) -> None:
    p1, _p2 = example_7(company)
    refund(p1, "600.00", dt.date(2026, 7, 20))
    july = generate(company, JULY)
    # The payments still count in full for attainment; the refund is its own line.
    assert july.basis_total == D("10000.50") and july.attainment == D("100.01")
    assert lines_of(july)[-1] == ("clawback", "refund", D("600.00"), D("-12.00"), "2026-07")
    assert july.total == D("208.02")


def test_a_refund_recorded_after_its_periods_statement_was_approved_goes_to_the_next(company: Company) -> None:
    _p1, p2 = example_7(company)
    services.statement_approve(actor=company.manager_a, statement=generate(company, JULY))
    august = generate(company, AUGUST)
    services.statement_approve(actor=company.manager_a, statement=august)
    refund(p2, "1000.00", dt.date(2026, 8, 12))  # dated in August, recorded after August was approved
    september = generate(company, SEPTEMBER)
    assert [ln.amount for ln in september.lines.order_by("position")] == [D("-10.00"), D("-15.00")]


def test_a_deleted_refund_gives_its_approved_clawback_back_once(company: Company) -> None:
    _p1, p2 = example_7(company)
    services.statement_approve(actor=company.manager_a, statement=generate(company, JULY))
    r = refund(p2, "1000.00", dt.date(2026, 8, 12))
    services.statement_approve(actor=company.manager_a, statement=generate(company, AUGUST))
    refund_services.refund_delete(actor=company.manager_a, refund=r)
    september = generate(company, SEPTEMBER)
    assert [(ln.kind, ln.amount) for ln in september.lines.order_by("position")] == [
        (LineKind.CLAWBACK, D("10.00")),
        (LineKind.CLAWBACK, D("15.00")),
    ]
    assert all(ln.clawback_of_id for ln in september.lines.all())
    services.statement_approve(actor=company.manager_a, statement=september)
    assert generate(company, Period.month(2026, 10)).total == 0


def test_a_refund_deleted_while_its_clawback_is_a_draft_just_drops_out(company: Company) -> None:
    _p1, p2 = example_7(company)
    services.statement_approve(actor=company.manager_a, statement=generate(company, JULY))
    r = refund(p2, "1000.00", dt.date(2026, 8, 12))
    assert generate(company, AUGUST).total == D("-25.00")
    refund_services.refund_delete(actor=company.manager_a, refund=r)
    assert generate(company, AUGUST).total == 0


def test_a_refund_of_a_payment_that_earned_nothing_claws_back_nothing(company: Company) -> None:
    _p1, p2 = example_7(company)  # July is never generated
    refund(p2, "1000.00", dt.date(2026, 8, 12))
    assert generate(company, AUGUST).total == 0


def test_signed_basis_a_refund_does_not_claw_back_but_a_terminated_contract_does(company: Company) -> None:
    plan(company.admin, company.owner)  # signed basis, 2 % below 80 % (no target: first band)
    deal = won_deal(company.admin, company.owner, "20000", dt.date(2026, 7, 6), "Won")
    contract = contract_services.contract_create(
        actor=company.owner, customer=deal.customer, deal=deal, title="Licence", amount=D("20000"),
        currency="CNY", signed_on=dt.date(2026, 7, 6), owner=company.owner,
    )  # fmt: skip
    from bridgecrm.contracts.services import payments as payment_services

    payment_services.plan_lines_set(
        actor=company.owner,
        contract=contract,
        lines=[payment_services.PlanLineIn(due_on=dt.date(2026, 7, 31), amount="20000")],
        lock_version=contract.lock_version,
    )
    contract = contract_services.contract_set_status(actor=company.owner, contract=contract, status="active")
    payment = payment_services.payment_record(
        actor=company.owner, contract=contract, received_on=dt.date(2026, 7, 10), amount="20000"
    )
    july = generate(company, JULY)
    assert july.total == D("400.00")
    services.statement_approve(actor=company.manager_a, statement=july)
    refund(payment, "5000.00", dt.date(2026, 8, 3))
    assert generate(company, AUGUST).total == 0  # the deal stays won
    contract = Contract.objects.get(pk=contract.pk)
    contract_services.contract_set_status(
        actor=company.owner, contract=contract, status="terminated", lock_version=contract.lock_version
    )
    august = generate(company, AUGUST)
    assert [(ln.kind, ln.deal_id, ln.amount) for ln in august.lines.all()] == [
        (LineKind.CLAWBACK, deal.pk, D("-400.00"))
    ]


def test_refund_clawback_arithmetic() -> None:
    share = compute.refund_share(D("1000.00"), D("4000.50"))
    assert compute.refund_clawback(D("2000.50"), D(3), share, D(0), D(0)) == (D("500.06"), D("-15.00"))
    assert compute.refund_clawback(D("2000.50"), D(3), share, D("220.02"), D("-20.02")) == (D("500.06"), D("-13.64"))
    assert compute.refund_share(D(5), D(0)) == 0
    assert compute.refund_share(D(5), D(4)) == 1


def test_the_statement_page_says_which_lines_are_refunds(company: Company) -> None:
    from django.urls import reverse

    from bridgecrm.conftest import signed_in

    _p1, p2 = example_7(company)
    services.statement_approve(actor=company.manager_a, statement=generate(company, JULY))
    refund(p2, "1000.00", dt.date(2026, 8, 12))
    august = generate(company, AUGUST)
    page = signed_in(company.manager_a).get(reverse("incentives:statement", kwargs={"statement_id": august.pk}))
    assert page.status_code == 200
    body = page.content.decode()
    assert body.count("refund of a payment paid in 2026-07") == 2
    assert "−10.00" in body or "-10.00" in body
