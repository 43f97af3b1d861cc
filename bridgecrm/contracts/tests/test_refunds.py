"""Refunds (退款): what they take back from the plan lines (latest due first), every refusal
(writing nothing), who may record and delete them, the audit trail, the kept totals, and two
refunds of the last amount at once on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import importlib
import threading
from decimal import Decimal

import pytest
from django.apps import apps
from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from bridgecrm.conftest import build_company
from bridgecrm.contracts.models import Contract, Payment, PaymentPlanLine, Refund, RefundAllocation
from bridgecrm.contracts.services import payments as payment_services
from bridgecrm.contracts.services import refunds as services
from bridgecrm.contracts.services.refunds import take_back_latest_first
from bridgecrm.contracts.tests.money_helpers import make_contract
from bridgecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from bridgecrm.core.models import AuditEntry

D = Decimal
JAN, FEB, MAR = dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31)
PAID_ON = dt.date(2026, 2, 1)


def lines_of(contract: Contract) -> list[tuple[dt.date, Decimal, Decimal, dt.date | None]]:
    return [
        (line.due_on, line.amount, line.paid_amount, line.paid_on)
        for line in PaymentPlanLine.objects.filter(contract=contract).order_by("due_on", "id")
    ]


def pay(contract: Contract, amount: str, on: dt.date = PAID_ON) -> Payment:
    return payment_services.payment_record(actor=contract.owner, contract=contract, received_on=on, amount=amount)


def refund(payment: Payment, amount: str, on: dt.date = dt.date(2026, 3, 10), reason: str = "Goods returned") -> Refund:
    return services.refund_record(
        actor=payment.contract.owner, payment=payment, refunded_on=on, amount=amount, reason=reason
    )


def state(contract: Contract) -> tuple[object, ...]:
    contract.refresh_from_db()
    return (
        Refund.objects.count(),
        RefundAllocation.objects.count(),
        contract.received_amount,
        lines_of(contract),
        AuditEntry.objects.filter(content_type__model="refund").count(),
    )


@pytest.fixture
def three(company):
    # Given a 3,000 contract in three instalments of 1,000, and a payment of 2,500 (Jan, Feb, half of Mar)
    contract = make_contract(
        company.owner, amount="3000.00", plan=[(JAN, "1000.00"), (FEB, "1000.00"), (MAR, "1000.00")]
    )
    pay(contract, "2500.00")
    return contract


def test_a_refund_reopens_the_latest_due_lines_of_its_payment_first(three):
    payment = Payment.objects.get(contract=three)
    r = refund(payment, "800.00")
    # March had 500 of the payment, February 1,000: the refund empties March, then 300 of February
    assert lines_of(three) == [
        (JAN, D(1000), D(1000), PAID_ON),
        (FEB, D(1000), D(700), None),
        (MAR, D(1000), D(0), None),
    ]
    assert sorted((a.plan_line.due_on, a.amount) for a in r.allocations.all()) == [(FEB, D(300)), (MAR, D(500))]
    three.refresh_from_db()
    assert three.received_amount == D("1700.00")
    assert r.currency == "CNY" and r.contract_id == three.pk
    assert payment_services.contract_received_check(three)


def test_a_second_refund_takes_from_what_the_first_left(three):
    payment = Payment.objects.get(contract=three)
    refund(payment, "800.00")
    refund(payment, "1700.00", on=dt.date(2026, 4, 1))  # the rest of the payment
    assert [line[2] for line in lines_of(three)] == [D(0), D(0), D(0)]
    three.refresh_from_db()
    assert three.received_amount == D(0)
    assert payment_services.contract_received_check(three)
    # nothing is left to refund
    with pytest.raises(ApplicationError) as err:
        refund(payment, "0.01")
    assert err.value.code == "over_refund"


def test_a_reopened_line_is_owed_again_and_a_new_payment_fills_it(three):
    payment = Payment.objects.get(contract=three)
    refund(payment, "800.00")
    pay(three, "1300.00", on=dt.date(2026, 3, 20))  # 300 of February, then all of March
    assert lines_of(three) == [
        (JAN, D(1000), D(1000), PAID_ON),
        (FEB, D(1000), D(1000), dt.date(2026, 3, 20)),
        (MAR, D(1000), D(1000), dt.date(2026, 3, 20)),
    ]
    assert payment_services.contract_received_check(three)


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"amount": "2500.01"}, "amount", "over_refund"),
        ({"amount": "0"}, "amount", "invalid"),
        ({"amount": "-5.00"}, "amount", "invalid"),
        ({"amount": "1.001"}, "amount", "invalid"),
        ({"amount": "abc"}, "amount", "invalid"),
        ({"refunded_on": dt.date(2026, 1, 31)}, "refunded_on", "before_payment"),
        ({"refunded_on": "2026-03-01"}, "refunded_on", "invalid"),
        ({"reason": "   "}, "reason", "reason_required"),
        ({"reason": "x" * 501}, "reason", "invalid"),
    ],
)
def test_bad_refunds_are_refused_and_change_nothing(three, values, field, code):
    payment = Payment.objects.get(contract=three)
    before = state(three)
    args = {"refunded_on": dt.date(2026, 3, 10), "amount": "100.00", "reason": "Returned", **values}
    with pytest.raises(ApplicationError) as err:
        services.refund_record(actor=three.owner, payment=payment, **args)
    assert err.value.code == code
    assert field in err.value.details
    assert state(three) == before


def test_a_refund_dated_in_the_future_is_refused(three):
    payment = Payment.objects.get(contract=three)
    before = state(three)
    with pytest.raises(ApplicationError) as err:
        refund(payment, "10.00", on=timezone.localdate() + dt.timedelta(days=1))
    assert err.value.code == "future_date"
    assert state(three) == before


def test_the_over_refund_message_names_what_is_left(three):
    payment = Payment.objects.get(contract=three)
    refund(payment, "500.00")
    with pytest.raises(ApplicationError) as err:
        refund(payment, "2000.01")
    assert "CNY 2,000.00" in str(err.value.message)


def test_who_may_record_and_delete_refunds(three, company):
    payment = Payment.objects.get(contract=three)
    before = state(three)
    with pytest.raises(NotFound):  # another rep does not see the contract
        services.refund_record(
            actor=company.other_rep, payment=payment, refunded_on=MAR, amount="10.00", reason="Returned"
        )
    assert state(three) == before
    r = refund(payment, "100.00")  # the owner records a refund as they record a payment
    after = state(three)
    with pytest.raises(PermissionDenied):  # but only a manager or admin deletes it, as a payment
        services.refund_delete(actor=three.owner, refund=r)
    with pytest.raises(NotFound):
        services.refund_delete(actor=company.other_rep, refund=r)
    assert state(three) == after
    services.refund_delete(actor=company.manager_a, refund=r)
    assert state(three)[:4] == before[:4]


def test_deleting_a_refund_gives_back_what_it_took(three, company):
    payment = Payment.objects.get(contract=three)
    before = lines_of(three)
    r = refund(payment, "800.00")
    services.refund_delete(actor=company.manager_a, refund=r)
    assert lines_of(three) == before
    three.refresh_from_db()
    assert three.received_amount == D("2500.00")
    assert payment_services.contract_received_check(three)
    entry = AuditEntry.objects.get(object_id=str(r.pk), content_type__model="refund", action="delete")
    assert entry.old_value["amount"] == "800.00"
    assert entry.actor_id == company.manager_a.pk


def test_a_refund_cannot_be_deleted_once_its_lines_were_paid_again(three, company):
    payment = Payment.objects.get(contract=three)
    r = refund(payment, "800.00")
    pay(three, "1300.00", on=dt.date(2026, 3, 20))
    before = state(three)
    with pytest.raises(ApplicationError) as err:
        services.refund_delete(actor=company.manager_a, refund=r)
    assert err.value.code == "refund_refilled"
    assert state(three) == before


def test_a_payment_with_refunds_cannot_be_deleted(three, company):
    payment = Payment.objects.get(contract=three)
    refund(payment, "100.00")
    before = state(three)
    with pytest.raises(ApplicationError) as err:
        payment_services.payment_delete(actor=company.manager_a, payment=payment)
    assert err.value.code == "payment_refunded"
    assert state(three) == before
    assert Payment.objects.filter(pk=payment.pk).exists()


def test_a_line_refunded_to_zero_still_cannot_be_removed_from_the_plan(three):
    payment = Payment.objects.get(contract=three)
    refund(payment, "500.00")  # March back to 0, but the payment still points at it
    three.refresh_from_db()
    keep = [
        payment_services.PlanLineIn(due_on=line.due_on, amount=line.amount, id=line.pk)
        for line in PaymentPlanLine.objects.filter(contract=three).exclude(due_on=MAR)
    ]
    with pytest.raises(ApplicationError) as err:
        payment_services.plan_lines_set(actor=three.owner, contract=three, lines=keep, lock_version=three.lock_version)
    assert err.value.code == "line_paid"


def test_refunds_are_audited_with_what_they_took(three):
    payment = Payment.objects.get(contract=three)
    r = refund(payment, "800.00", reason="  Two units   returned ")
    assert r.reason == "Two units returned"
    entry = AuditEntry.objects.get(object_id=str(r.pk), content_type__model="refund", action="create")
    assert entry.new_value["amount"] == "800.00"
    assert entry.new_value["payment"] == payment.pk
    assert entry.new_value["reason"] == "Two units returned"
    assert sorted(a["amount"] for a in entry.new_value["allocations"]) == ["300.00", "500.00"]


def test_a_refund_of_a_terminated_contract_is_allowed(three, company):
    from bridgecrm.contracts.services import contracts as contract_services

    three = contract_services.contract_set_status(actor=three.owner, contract=three, status="terminated")
    payment = Payment.objects.get(contract=three)
    refund(payment, "2500.00")
    three.refresh_from_db()
    assert three.received_amount == 0


@pytest.mark.parametrize(
    ("held", "amount", "expected"),
    [
        ([(3, D(500)), (2, D(1000)), (1, D(1000))], D(800), [(3, D(500)), (2, D(300))]),
        ([(3, D(0)), (2, D(1000))], D(1000), [(2, D(1000))]),
        ([(1, D("0.01"))], D("0.01"), [(1, D("0.01"))]),
    ],
)
def test_take_back_latest_first(held, amount, expected):
    assert take_back_latest_first(held, amount) == expected


def test_take_back_refuses_more_than_held():
    with pytest.raises(ValueError):
        take_back_latest_first([(1, D(5))], D(6))


# ---- two refunds of the last amount at the same moment (PostgreSQL) --------------------------------


@pytest.fixture
def default_roles(transactional_db: None) -> None:
    """The roles a data migration made: a transactional test before this one may have flushed them."""
    migration = importlib.import_module("bridgecrm.users.migrations.0002_default_roles")
    migration.create(apps, None)


@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="row locks are a PostgreSQL matter (SQLite writes one transaction at a time)",
)  # skipped before its fixtures run: a transactional test flushes the data migrations' rows
@pytest.mark.django_db(transaction=True)
def test_two_refunds_at_once_never_exceed_the_payment(default_roles):
    company = build_company()
    contract = make_contract(company.owner, amount="1000.00", plan=[(JAN, "600.00"), (FEB, "400.00")])
    payment = pay(contract, "1000.00")
    refund(payment, "300.00")  # 700 left: two refunds of 700 at once, only one may pass
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def record() -> None:
        try:
            barrier.wait()
            services.refund_record(
                actor=company.owner, payment=payment, refunded_on=MAR, amount="700.00", reason="Cancelled"
            )
            outcomes.append("ok")
        except ApplicationError as exc:
            outcomes.append(exc.code)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=record) for _i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "over_refund"]
    contract.refresh_from_db()
    assert contract.received_amount == D(0)
    assert Refund.objects.filter(payment=payment).count() == 2
    assert [line[2] for line in lines_of(contract)] == [D(0), D(0)]
    assert payment_services.contract_received_check(contract)
