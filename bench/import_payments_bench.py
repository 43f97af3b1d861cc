"""Payments import bench: a CSV of payments (回款) on existing contracts through Bridge's import,
and the same rows recorded one by one through the payment service (what an API client or the
import before the batch path did), on the configured database.

    export BRIDGE_VAR_DIR=/tmp/bench-payments && .venv/bin/bridgecrm migrate
    .venv/bin/python -m bench.import_payments_bench --contracts 5000 --rows 20000

Each contract has twelve monthly plan lines, so every payment is allocated oldest due first and
some span two lines. Both contenders start from contracts with nothing received, and the bench
checks after each that the contracts' and lines' kept totals equal their allocations. Results: a
table on stdout and ``bench/results/import-payments-<vendor>.md``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
HEADERS = ["合同编号", "回款日期", "回款金额", "付款方式", "流水号"]
LINE = Decimal("1000.00")


def _setup() -> None:
    from bench._setup import django_setup

    django_setup()


def _actor() -> Any:
    from bridgecrm.users.models import Role, User

    user = User.objects.filter(username="payments-bench").first()
    if user is None:
        user = User.objects.create_user(username="payments-bench", password=None, role=Role.objects.get(code="admin"))
    return user


def _contracts(actor: Any, count: int) -> list[str]:
    """``count`` active contracts of 12,000 CNY in twelve lines of 1,000, made once per database."""
    from django.db import transaction

    from bridgecrm.contracts.models import Contract, ContractStatus, PaymentPlanLine
    from bridgecrm.customers.models import Customer

    numbers = [f"PB-{i:06d}" for i in range(count)]
    have = set(Contract.objects.filter(number__in=numbers).values_list("number", flat=True))
    missing = [n for n in numbers if n not in have]
    if not missing:
        return numbers
    with transaction.atomic():
        customer = Customer.objects.filter(name="回款基准客户 Payments Bench Co").first()
        if customer is None:
            customer = Customer.objects.create(name="回款基准客户 Payments Bench Co", owner=actor)
        made = Contract.objects.bulk_create(
            [
                Contract(
                    number=n,
                    title="Bench licence",
                    customer=customer,
                    amount=LINE * 12,
                    currency="CNY",
                    signed_on=dt.date(2025, 1, 1),
                    status=ContractStatus.ACTIVE,
                    owner=actor,
                )
                for n in missing
            ],
            batch_size=1000,
        )
        lines = []
        for contract in made:
            for month in range(1, 13):
                lines.append(PaymentPlanLine(contract=contract, due_on=dt.date(2025, month, 28), amount=LINE))
        PaymentPlanLine.objects.bulk_create(lines, batch_size=2000)
    return numbers


def _wipe(numbers: list[str]) -> None:
    from django.db import transaction

    from bridgecrm.contracts.models import Contract, Payment, PaymentAllocation, PaymentPlanLine
    from bridgecrm.imports.models import ExternalRef, ImportJob

    with transaction.atomic():
        contracts = Contract.objects.filter(number__in=numbers)
        PaymentAllocation.objects.filter(payment__contract__in=contracts).delete()
        Payment.objects.filter(contract__in=contracts).delete()
        PaymentPlanLine.objects.filter(contract__in=contracts).update(paid_amount=0, paid_on=None)
        contracts.update(received_amount=0)
        ExternalRef.objects.filter(kind="payments").delete()
        ImportJob.objects.filter(kind="payments").delete()


def generate(path: Path, numbers: list[str], rows: int, seed: int = 2026) -> None:
    """``rows`` payments spread over the contracts; each contract's payments add up to at most
    its 12,000, one in five is not a whole instalment, so it spans two lines, and one in fifty asks
    for more than the whole plan, an over-payment the import refuses."""
    rng = random.Random(seed)
    per = {n: Decimal(0) for n in numbers}
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for i in range(rows):
            number = numbers[i % len(numbers)]
            amount = LINE if rng.random() < 0.8 else Decimal(rng.randint(100, 1500)).quantize(Decimal("0.01"))
            if rng.random() < 0.02:
                amount = LINE * 13  # more than the whole plan: refused, so the failure path is timed too
            else:
                amount = min(amount, LINE * 12 - per[number])
                per[number] += amount
            received = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randint(0, 500))
            method = rng.choice(["银行转账", "bank", "现金", "支票", "other"])
            writer.writerow([number, received.isoformat(), f"{amount:,}", method, f"TXN{i:08d}"])


class _Counter:
    def __init__(self) -> None:
        self.queries = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.queries += 1
        return execute(sql, params, many, context)


def _run_import(actor: Any, path: Path) -> dict[str, Any]:
    from bridgecrm.imports import engine, services

    job = services.import_job_create(actor=actor, kind="payments", source=path, original_name=path.name)
    mapping = dict(zip(HEADERS, ["contract", "received_on", "amount", "method", "reference"], strict=True))
    services.import_job_configure(actor=actor, job=job, mapping=mapping)
    job = engine.run_job(job, dry_run=False)
    assert job.status == "done", job.message
    return {"created": job.created_count, "failed": job.failed_count}


def _run_one_by_one(actor: Any, path: Path) -> dict[str, Any]:
    from django.db import transaction

    from bridgecrm.contracts.models import Contract
    from bridgecrm.contracts.services.payments import payment_record
    from bridgecrm.core.errors import ApplicationError

    methods = {"银行转账": "bank", "现金": "cash", "支票": "cheque"}
    contracts = {c.number: c for c in Contract.objects.filter(number__startswith="PB-")}
    created = failed = 0
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for number, received, amount, method, reference in reader:
            try:
                with transaction.atomic():
                    payment_record(
                        actor=actor,
                        contract=contracts[number],
                        received_on=dt.date.fromisoformat(received),
                        amount=amount.replace(",", ""),
                        method=methods.get(method, method),
                        reference=reference,
                    )
                created += 1
            except ApplicationError:
                failed += 1
    return {"created": created, "failed": failed}


def _check_totals(numbers: list[str]) -> bool:
    from django.db.models import Sum

    from bridgecrm.contracts.models import Contract, PaymentAllocation, PaymentPlanLine

    allocated = {
        row["plan_line"]: row["s"]
        for row in PaymentAllocation.objects.filter(plan_line__contract__number__in=numbers)
        .values("plan_line")
        .annotate(s=Sum("amount"))
    }
    for pk, paid in PaymentPlanLine.objects.filter(contract__number__in=numbers).values_list("pk", "paid_amount"):
        if allocated.get(pk, Decimal(0)) != paid:
            return False
    received = sum(Contract.objects.filter(number__in=numbers).values_list("received_amount", flat=True), Decimal(0))
    return received == sum(allocated.values(), Decimal(0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=5000)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--contenders", default="import,one-by-one")
    args = parser.parse_args()
    _setup()
    from django.db import connection

    actor = _actor()
    numbers = _contracts(actor, args.contracts)
    path = args.dir / f"payments-bench-{args.rows}.csv"
    generate(path, numbers, args.rows)
    results = []
    for contender in args.contenders.split(","):
        _wipe(numbers)
        counter = _Counter()
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            outcome = _run_import(actor, path) if contender == "import" else _run_one_by_one(actor, path)
        seconds = time.perf_counter() - started
        outcome.update(
            contender=contender,
            seconds=round(seconds, 2),
            rows_per_s=round(args.rows / seconds),
            queries=counter.queries,
            totals_exact=_check_totals(numbers),
        )
        results.append(outcome)
        print(outcome, flush=True)
    _wipe(numbers)
    report = _report(connection.vendor, args, results)
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"import-payments-{connection.vendor}.md").write_text(report, encoding="utf-8")


def _report(vendor: str, args: argparse.Namespace, results: list[dict[str, Any]]) -> str:
    names = {
        "import": "Bridge import (batch allocation, one audit row per payment)",
        "one-by-one": "payment service, one call per row (as the API records a payment)",
    }
    lines = [
        f"# Payments import, {vendor}",
        "",
        f"{args.rows:,} payments on {args.contracts:,} active contracts of twelve monthly plan lines; "
        "about one in five spans two lines, and one in fifty is more than the whole plan (refused as an over-payment).",
        "",
        f"`python -m bench.import_payments_bench --contracts {args.contracts} --rows {args.rows}`",
        "",
        "| contender | s | rows/s | created | failed | queries | queries/row | totals exact |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {names.get(r['contender'], r['contender'])} | {r['seconds']:.2f} | {r['rows_per_s']:,} | "
            f"{r['created']:,} | {r['failed']:,} | {r['queries']:,} | {r['queries'] / args.rows:.2f} | "
            f"{'yes' if r['totals_exact'] else 'NO'} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
