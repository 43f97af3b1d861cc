"""Payments recorded a batch at a time (``payments_record``), from an import or the service: the
same allocations, totals and audit rows as recording each alone in the file's order, a failed
payment writing nothing while the others go in, a check that finds over-payments without writing,
and a number of queries that does not grow with the rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bridgecrm.contracts.models import Contract, Payment, PaymentAllocation, PaymentPlanLine
from bridgecrm.contracts.services import payments as services
from bridgecrm.contracts.services.payments import PaymentIn, contract_received_check, payments_record
from bridgecrm.contracts.tests.money_helpers import make_contract
from bridgecrm.core.errors import ApplicationError
from bridgecrm.core.models import AuditAction, AuditEntry
from bridgecrm.imports.models import ExternalRef
from bridgecrm.imports.tests.support import error_rows, run_import, write_csv

pytestmark = pytest.mark.django_db

JAN, FEB, MAR = dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31)
PLAN = [(JAN, "1000.00"), (FEB, "1000.00"), (MAR, "1000.00")]
D = Decimal


@pytest.fixture(autouse=True)
def var(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    return tmp_path


def _state(contract: Contract) -> tuple[Decimal, list[tuple[dt.date, Decimal, dt.date | None]], list[list[Decimal]]]:
    """The contract's received total, its lines, and each payment's allocations in order."""
    contract.refresh_from_db()
    lines = list(
        PaymentPlanLine.objects.filter(contract=contract)
        .order_by("due_on")
        .values_list("due_on", "paid_amount", "paid_on")
    )
    allocations = [
        list(PaymentAllocation.objects.filter(payment=p).order_by("plan_line__due_on").values_list("amount", flat=True))
        for p in Payment.objects.filter(contract=contract).order_by("id")
    ]
    return contract.received_amount, lines, allocations


# The rows of a file: (which contract, received on, amount). The fourth row of contract 0 only
# over-pays because of the three before it in the same batch; contract 1's second row spans lines.
ROWS = [
    (0, "2026-02-01", "700"),
    (1, "2026-02-01", "400"),
    (0, "2026-02-02", "1300"),
    (1, "2026-02-03", "1,500.50"),
    (0, "2026-02-04", "900"),
    (0, "2026-02-05", "200"),  # 700 + 1300 + 900 = 2900 paid: 100 left, so 200 is refused
    (1, "2026-02-06", "99.50"),
    (0, "2026-02-07", "100"),  # exactly what is left: fills the last line
]


def test_an_import_allocates_as_recording_each_payment_alone_would(company, var):
    # Given two pairs of identical contracts
    batch = [make_contract(company.owner, plan=PLAN, title=f"Batch {i}") for i in range(2)]
    alone = [make_contract(company.owner, plan=PLAN, title=f"Alone {i}") for i in range(2)]
    # When the rows go in through the import for one pair and one call each for the other
    path = write_csv(
        var / "pay.csv",
        ["contract", "received_on", "amount", "reference"],
        [[batch[c].number, on, amount, f"TX{i}"] for i, (c, on, amount) in enumerate(ROWS)],
    )
    job = run_import(company.manager_a, "payments", path)
    failures = []
    for i, (c, on, amount) in enumerate(ROWS):
        try:
            services.payment_record(
                actor=company.manager_a,
                contract=alone[c],
                received_on=dt.date.fromisoformat(on),
                amount=amount.replace(",", ""),
                reference=f"TX{i}",
            )
        except ApplicationError as exc:
            failures.append(exc.code)
    # Then both give the same payments, allocations, lines and totals
    assert (job.created_count, job.failed_count, failures) == (7, 1, ["overpayment"])
    [refused] = error_rows(job)
    assert "2026-02-05" in refused and "more than the payment plan still asks for" in refused[1]
    for b, a in zip(batch, alone, strict=True):
        assert _state(b) == _state(a)
        assert contract_received_check(b)
    received, lines, _ = _state(batch[0])
    assert received == D("3000.00") and all(paid == D("1000.00") for _due, paid, _on in lines)
    assert [on for _due, _paid, on in lines] == [dt.date(2026, 2, 2), dt.date(2026, 2, 2), dt.date(2026, 2, 7)]
    assert _state(batch[1])[2] == [[D("400.00")], [D("600.00"), D("900.50")], [D("99.50")]]
    # And each payment has its own audit row, with its allocations, as when recorded alone
    audited = AuditEntry.objects.filter(action=AuditAction.CREATE, content_type__model="payment")
    assert audited.count() == 14
    entry = audited.get(object_id=str(Payment.objects.get(contract=batch[1], reference="TX3").pk))
    assert entry.new_value["allocations"] == [
        {"plan_line": lines_pk, "amount": amount}
        for lines_pk, amount in zip(
            PaymentPlanLine.objects.filter(contract=batch[1]).order_by("due_on").values_list("pk", flat=True)[:2],
            ["600.00", "900.50"],
            strict=True,
        )
    ]
    assert entry.actor_id == company.manager_a.pk


def test_the_check_finds_over_payments_and_writes_nothing(company, var):
    contract = make_contract(company.owner, plan=PLAN)
    path = write_csv(
        var / "pay.csv",
        ["contract", "received_on", "amount"],
        [[contract.number, "2026-02-01", "2500"], [contract.number, "2026-02-02", "600"]],
    )
    job = run_import(company.manager_a, "payments", path, dry_run=True)
    assert (job.created_count, job.failed_count) == (1, 1)
    assert "more than the payment plan still asks for" in error_rows(job)[0][1]
    assert not Payment.objects.exists()
    assert _state(contract)[0] == 0 and not PaymentPlanLine.objects.filter(paid_amount__gt=0).exists()


def test_a_rerun_with_external_ids_changes_nothing(company, var):
    contract = make_contract(company.owner, plan=PLAN)
    path = write_csv(
        var / "pay.csv",
        ["Id", "contract", "received_on", "amount"],
        [["P-1", contract.number, "2026-02-01", "500"], ["P-2", contract.number, "2026-02-02", "500"]],
    )
    first = run_import(company.manager_a, "payments", path, external_id_column="Id")
    again = run_import(company.manager_a, "payments", path, external_id_column="Id")
    assert (first.created_count, again.created_count, again.skipped_count) == (2, 0, 2)
    assert ExternalRef.objects.filter(kind="payments").count() == 2
    assert _state(contract)[0] == D("1000.00")


def test_the_service_returns_each_payments_outcome_in_order(company):
    mine = make_contract(company.owner, plan=PLAN)
    draft = make_contract(company.owner, plan=PLAN, active=False)
    hidden = make_contract(company.other_rep, plan=PLAN)
    items = [
        PaymentIn(mine, FEB, "100"),
        PaymentIn(hidden, FEB, "100"),
        PaymentIn(draft, FEB, "100"),
        PaymentIn(mine, FEB, "0"),
        PaymentIn(mine, FEB, "1.001"),
        PaymentIn(mine, dt.date(2999, 1, 1), "1"),
        PaymentIn(mine, FEB, "1", method="barter"),
        PaymentIn(mine, FEB, "200", reference="  TX   9 "),
    ]
    outcomes = payments_record(actor=company.owner, payments=items)
    codes = [o.code if isinstance(o, ApplicationError) else "ok" for o in outcomes]
    assert codes == ["ok", "not_found", "contract_draft", "invalid", "invalid", "invalid", "invalid", "ok"]
    assert outcomes[-1].reference == "TX 9" and outcomes[-1].pk is not None
    assert outcomes[1].__traceback__ is None
    assert _state(mine)[0] == D("300.00") and contract_received_check(mine)
    assert not Payment.objects.filter(contract__in=[hidden, draft]).exists()


def test_an_import_costs_the_same_queries_for_ten_payments_or_forty(company, var):
    contracts = [make_contract(company.owner, plan=PLAN, title=f"Q {i}") for i in range(40)]

    def queries(name: str, count: int) -> int:
        path = write_csv(
            var / name,
            ["contract", "received_on", "amount", "reference"],
            [[c.number, "2026-02-01", "700", name] for c in contracts[:count]],
        )
        with CaptureQueriesContext(connection) as ctx:
            job = run_import(company.manager_a, "payments", path)
        assert job.created_count == count
        return len(ctx.captured_queries)

    queries("warm.csv", 1)  # content types and other caches
    small, large = queries("ten.csv", 10), queries("forty.csv", 40)
    assert small == large, (small, large)
    for contract in contracts:
        contract.refresh_from_db()
        assert contract_received_check(contract)


def test_errors_name_the_files_columns(company, var):
    contract = make_contract(company.owner, plan=PLAN)
    path = write_csv(
        var / "回款.csv",
        ["合同编号", "回款日期", "回款金额"],
        [[contract.number, "2026-02-01", "5000"], ["HT-NONE", "2026-02-01", "1"], [contract.number, "昨天", "1"]],
    )
    mapping = {"合同编号": "contract", "回款日期": "received_on", "回款金额": "amount"}
    job = run_import(company.manager_a, "payments", path, mapping, dry_run=True)
    assert [(row[0], row[1].split(": ")[0]) for row in error_rows(job)] == [
        ("1", "回款金额"),
        ("2", "合同编号"),
        ("3", "回款日期"),
    ]
