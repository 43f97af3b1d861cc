"""Payment plans and payments: allocation oldest due first, over-payment, deletion, statuses,
a property test that no cent is lost or invented, and two payments at once on PostgreSQL."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import close_old_connections, connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridgecrm.contracts.models import Contract, Payment, PaymentAllocation, PaymentPlanLine
from bridgecrm.contracts.services import payments as services
from bridgecrm.contracts.services.payments import LineStatus, allocate_oldest_first, line_status
from bridgecrm.contracts.tests.money_helpers import make_contract
from bridgecrm.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from bridgecrm.core.models import AuditEntry

D = Decimal
JAN, FEB, MAR = dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31)


def lines_of(contract: Contract) -> list[tuple[dt.date, Decimal, Decimal, dt.date | None]]:
    return [
        (line.due_on, line.amount, line.paid_amount, line.paid_on)
        for line in PaymentPlanLine.objects.filter(contract=contract).order_by("due_on", "id")
    ]


def pay(contract: Contract, amount: str, on: dt.date = dt.date(2026, 2, 1)) -> Payment:
    return services.payment_record(actor=contract.owner, contract=contract, received_on=on, amount=amount)


@pytest.fixture
def three(company):
    # Given a 3,000 contract paid in three monthly instalments of 1,000 (made out of order)
    return make_contract(company.owner, amount="3000.00", plan=[(MAR, "1000.00"), (JAN, "1000.00"), (FEB, "1000.00")])


def test_a_partial_payment_fills_the_oldest_line_first(three):
    pay(three, "400.00")
    assert lines_of(three) == [
        (JAN, D("1000"), D("400"), None),
        (FEB, D("1000"), D("0"), None),
        (MAR, D(1000), 0, None),
    ]
    three.refresh_from_db()
    assert three.received_amount == D("400.00")


def test_an_exact_payment_pays_the_line_in_full(three):
    pay(three, "1000.00", on=dt.date(2026, 1, 20))
    assert lines_of(three)[0] == (JAN, D("1000"), D("1000"), dt.date(2026, 1, 20))
    assert lines_of(three)[1][2] == 0


def test_a_payment_spanning_lines_fills_them_in_due_order(three):
    pay(three, "400.00")
    payment = pay(three, "1800.50", on=dt.date(2026, 3, 1))
    assert lines_of(three) == [
        (JAN, D(1000), D(1000), dt.date(2026, 3, 1)),
        (FEB, D(1000), D(1000), dt.date(2026, 3, 1)),
        (MAR, D(1000), D("200.50"), None),
    ]
    assert sorted(a.amount for a in payment.allocations.all()) == [D("200.50"), D("600.00"), D("1000.00")]
    three.refresh_from_db()
    assert three.received_amount == D("2200.50")
    assert services.contract_received_check(three)


def test_an_over_payment_is_refused_and_nothing_is_written(three):
    pay(three, "2999.99")
    before = (Payment.objects.count(), PaymentAllocation.objects.count(), lines_of(three))
    with pytest.raises(ApplicationError) as err:
        pay(three, "0.02")
    assert err.value.code == "overpayment"
    assert "CNY 0.01" in str(err.value.message)
    assert (Payment.objects.count(), PaymentAllocation.objects.count(), lines_of(three)) == before
    pay(three, "0.01")  # exactly what is left is fine
    assert all(line[2] == line[1] for line in lines_of(three))


def test_payments_need_an_active_contract_a_positive_amount_and_a_past_date(company):
    draft = make_contract(company.owner, active=False, plan=[(JAN, "100.00")])
    with pytest.raises(ApplicationError) as err:
        pay(draft, "10.00")
    assert err.value.code == "contract_draft"
    active = make_contract(company.owner, customer=draft.customer, plan=[(JAN, "100.00")])
    for amount in ("0", "-5", "1.234", "abc"):
        with pytest.raises(ApplicationError):
            pay(active, amount)
    with pytest.raises(ApplicationError):
        pay(active, "1.00", on=dt.date.today() + dt.timedelta(days=1))
    assert not Payment.objects.exists()


def test_a_payment_on_a_contract_one_may_not_see_is_not_found(three, company):
    with pytest.raises(NotFound):
        services.payment_record(actor=company.other_rep, contract=three, received_on=JAN, amount="10.00")
    assert not Payment.objects.exists()


def test_deleting_a_payment_gives_back_what_it_paid(three, company):
    first = pay(three, "1500.00")
    pay(three, "700.00")
    with pytest.raises(PermissionDenied):  # the rep who booked it may not take money back
        services.payment_delete(actor=three.owner, payment=first)
    services.payment_delete(actor=company.manager_a, payment=first)
    # the second payment stays where it was allocated (the rest of February, then March)
    assert lines_of(three) == [(JAN, D(1000), D(0), None), (FEB, D(1000), D(500), None), (MAR, D(1000), D(200), None)]
    three.refresh_from_db()
    assert three.received_amount == D("700.00")
    assert AuditEntry.objects.filter(object_id=str(first.pk), action="delete").exists()


def test_payments_are_audited_with_their_allocations(three):
    payment = pay(three, "1200.00")
    entry = AuditEntry.objects.get(object_id=str(payment.pk), action="create", content_type__model="payment")
    assert [a["amount"] for a in entry.new_value["allocations"]] == ["1000.00", "200.00"]


# ---- the plan ------------------------------------------------------------------------------------


def test_the_plan_may_not_exceed_the_contract_amount(three):
    with pytest.raises(ApplicationError) as err:
        services.plan_lines_set(
            actor=three.owner,
            contract=three,
            lines=[services.PlanLineIn(due_on=JAN, amount="3000.01")],
            lock_version=three.lock_version,
        )
    assert err.value.code == "plan_exceeds_amount"
    assert len(lines_of(three)) == 3


def test_a_paid_line_cannot_be_removed_or_shrunk_below_what_was_paid(three):
    pay(three, "1200.00")
    ids = list(PaymentPlanLine.objects.filter(contract=three).order_by("due_on").values_list("pk", flat=True))
    with pytest.raises(ApplicationError) as err:
        services.plan_lines_set(
            actor=three.owner,
            contract=three,
            lines=[services.PlanLineIn(id=ids[0], due_on=JAN, amount="1000.00")],
            lock_version=three.lock_version,
        )
    assert err.value.code == "line_paid"
    with pytest.raises(ApplicationError) as err:
        services.plan_lines_set(
            actor=three.owner,
            contract=three,
            lines=[
                services.PlanLineIn(id=ids[0], due_on=JAN, amount="1000.00"),
                services.PlanLineIn(id=ids[1], due_on=FEB, amount="199.99"),
            ],
            lock_version=three.lock_version,
        )
    assert err.value.code == "below_paid"
    # Shrinking the third (unpaid) line and dropping nothing else is fine.
    services.plan_lines_set(
        actor=three.owner,
        contract=three,
        lines=[
            services.PlanLineIn(id=ids[0], due_on=JAN, amount="1000.00"),
            services.PlanLineIn(id=ids[1], due_on=FEB, amount="200.00"),
        ],
        lock_version=three.lock_version,
    )
    assert lines_of(three) == [(JAN, D(1000), D(1000), dt.date(2026, 2, 1)), (FEB, D(200), D(200), dt.date(2026, 2, 1))]


def test_a_stale_plan_is_refused(three):
    with pytest.raises(Conflict):
        services.plan_lines_set(actor=three.owner, contract=three, lines=[], lock_version=three.lock_version - 1)
    assert len(lines_of(three)) == 3


@pytest.mark.parametrize(
    ("amount", "paid", "due", "expected"),
    [
        ("100", "0", dt.date(2026, 6, 30), LineStatus.PENDING),  # due today: not overdue yet
        ("100", "0", dt.date(2026, 6, 29), LineStatus.OVERDUE),
        ("100", "40", dt.date(2026, 7, 1), LineStatus.PARTLY_PAID),
        ("100", "40", dt.date(2026, 6, 1), LineStatus.OVERDUE),
        ("100", "100", dt.date(2026, 1, 1), LineStatus.PAID),
    ],
)
def test_line_status(amount, paid, due, expected):
    assert line_status(amount=D(amount), paid=D(paid), due_on=due, today=dt.date(2026, 6, 30)) == expected


# ---- properties of the allocation ----------------------------------------------------------------

cents = st.integers(min_value=1, max_value=10_000_000).map(lambda c: Decimal(c).scaleb(-2))


@settings(max_examples=300, deadline=None)
@given(owed=st.lists(cents, min_size=1, max_size=12), data=st.data())
def test_allocation_never_loses_or_invents_a_cent(owed, data):
    total = sum(owed, Decimal(0))
    payments = data.draw(st.lists(cents, min_size=1, max_size=8))
    remaining = list(owed)
    for amount in payments:
        if amount > sum(remaining, Decimal(0)):
            with pytest.raises(ValueError):
                allocate_oldest_first(list(enumerate(remaining)), amount)
            continue
        parts = allocate_oldest_first(list(enumerate(remaining)), amount)
        assert sum((p for _i, p in parts), Decimal(0)) == amount
        touched = [i for i, _p in parts]
        assert touched == sorted(touched)
        for i, part in parts:
            assert 0 < part <= remaining[i]
            remaining[i] -= part
        # oldest first: every line before the last one touched is now fully paid
        assert all(remaining[i] == 0 for i in range(touched[-1]))
    assert sum(remaining, Decimal(0)) <= total
    assert all(r >= 0 for r in remaining)


# The contract is reset at the start of every example.
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.integers(min_value=1, max_value=99_999), min_size=1, max_size=6))
@pytest.mark.django_db
def test_recorded_payments_keep_the_totals_exact(parts, company_once):
    contract = company_once
    Payment.objects.filter(contract=contract).delete()
    PaymentPlanLine.objects.filter(contract=contract).update(paid_amount=0, paid_on=None)
    Contract.objects.filter(pk=contract.pk).update(received_amount=0)
    for p in parts:
        with contextlib.suppress(ApplicationError):
            pay(contract, str(Decimal(p).scaleb(-2)))
    contract.refresh_from_db()
    assert services.contract_received_check(contract)
    lines = lines_of(contract)
    assert sum((line[2] for line in lines), Decimal(0)) == contract.received_amount
    assert all(0 <= line[2] <= line[1] for line in lines)


@pytest.fixture
def company_once(company):
    return make_contract(company.owner, amount="1500.00", plan=[(JAN, "333.33"), (FEB, "666.67"), (MAR, "500.00")])


# ---- two payments at the same moment (PostgreSQL) ------------------------------------------------


@pytest.mark.skipif(
    django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="row locks are a PostgreSQL matter (SQLite writes one transaction at a time)",
)  # skipped before its fixtures run: a transactional test flushes the data migrations' rows
@pytest.mark.django_db(transaction=True)
def test_two_payments_at_once_never_over_allocate(company):
    contract = make_contract(company.owner, amount="1000.00", plan=[(JAN, "600.00"), (FEB, "400.00")])
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def record() -> None:
        try:
            barrier.wait()
            services.payment_record(actor=company.owner, contract=contract, received_on=FEB, amount="700.00")
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
    assert sorted(outcomes) == ["ok", "overpayment"]
    contract.refresh_from_db()
    assert contract.received_amount == D("700.00")
    assert lines_of(contract) == [(JAN, D(600), D(600), FEB), (FEB, D(400), D(100), None)]
    assert services.contract_received_check(contract)
