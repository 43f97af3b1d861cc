"""Tiering recomputation at scale (issue 4: 100,000 customers in ≤ 10 s on SQLite).

    export BRIDGE_VAR_DIR=/tmp/bench-tiers && .venv/bin/bridgecrm migrate
    .venv/bin/python -m bench.tiers_cases --customers 100000 [--seed 2026]

Generates (once) ``--customers`` customers with sizes, industries and potentials, one won deal for
about 60 % of them and a contract with one to three payments for about half, spread over two years
(so the 12-month window keeps part of them), then times, in one process:

1. the first recomputation (every customer gets a tier: 100,000 updates and history rows);
2. a second one (nothing moves: the pure read + score cost);
3. a preview with changed thresholds (the same reads and scores, nothing written);
4. the recomputation after saving those thresholds (the customers whose tier moves).

Results go to ``bench/results/tiers-<vendor>.json``. ``tiers_cases`` gives the page cases of the
routine list and the tier API for ``bench.run`` (register it in ``bench.cases.SUITES``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.cases import Case, Context

RESULTS = Path(__file__).resolve().parent / "results"
BATCH = 5000


def tiers_cases(ctx: Context) -> list[Case]:
    """Pages of the routine and the tier API (register in ``bench.cases.SUITES`` as "tiers")."""
    from django.urls import reverse

    from bridgecrm.customers.models import Customer

    customer = Customer.objects.visible_to(ctx.user).order_by("pk").values_list("pk", flat=True).first()
    cases = [
        Case("tiers: routine list (overdue)", reverse("tiers:routine"), same_queries="tiers-routine"),
        Case(
            "tiers: routine list (due in 30 days)",
            reverse("tiers:routine") + "?within=30",
            same_queries="tiers-routine",
        ),
        Case("tiers: compliance, this month", reverse("tiers:compliance")),
    ]
    if customer is not None:
        cases.append(Case("tiers: customer page", reverse("customers:detail", kwargs={"customer_id": customer})))
    return cases


def _generate(count: int, seed: int) -> int:
    """Top the database up to ``count`` customers with deals and payments; returns how many were added."""
    from django.db import transaction

    from bridgecrm.contracts.models import Contract, Payment
    from bridgecrm.customers.models import Customer, Industry, SizeBand
    from bridgecrm.pipeline import services as pipeline_services
    from bridgecrm.pipeline.models import Deal, DealStatus, Pipeline
    from bridgecrm.users.models import User
    from bridgecrm.users.tests.factories import UserFactory, role

    have = Customer.objects.count()
    if have >= count:
        return 0
    rng = random.Random(seed + have)
    admin = User.objects.filter(username="bench-admin").first() or UserFactory(
        username="bench-admin", role=role("admin")
    )
    reps = list(User.objects.filter(username__startswith="bench-rep-"))
    if not reps:
        reps = [UserFactory(username=f"bench-rep-{i}", role=role("rep")) for i in range(20)]
    pipeline = Pipeline.objects.filter(is_default=True).first() or pipeline_services.pipeline_create(
        actor=admin, name="Bench"
    )
    won_stage = pipeline.stages.filter(kind="won").first()
    assert won_stage is not None
    today = dt.date.today()
    now = dt.datetime.now(dt.UTC)
    sizes, industries = SizeBand.values, Industry.values
    contract_no = Contract.objects.count()
    added = 0
    while have + added < count:
        n = min(BATCH, count - have - added)
        with transaction.atomic():
            customers = Customer.objects.bulk_create(
                [
                    Customer(
                        name=f"Bench customer {have + added + i}",
                        size=rng.choice(sizes),
                        industry=rng.choice(industries),
                        estimated_annual_potential=Decimal(rng.randrange(0, 3_000_000)),
                        owner=rng.choice(reps),
                        created_at=now,
                        updated_at=now,
                        owner_since=now,
                    )
                    for i in range(n)
                ]
            )
            deals, contracts = [], []
            for c in customers:
                if rng.random() < 0.6:
                    amount = Decimal(rng.randrange(10_000, 2_000_000))
                    deals.append(
                        Deal(
                            name="Bench deal",
                            customer=c,
                            pipeline=pipeline,
                            stage=won_stage,
                            status=DealStatus.WON,
                            amount=amount,
                            amount_base=amount,
                            probability=100,
                            forecast_category="closed",
                            owner=c.owner,
                            closed_on=today - dt.timedelta(days=rng.randrange(0, 730)),
                        )
                    )
                if rng.random() < 0.5:
                    contract_no += 1
                    contracts.append(
                        Contract(
                            number=f"BENCH-{contract_no}",
                            title="Bench contract",
                            customer=c,
                            amount=Decimal(1_000_000),
                            status="active",
                            owner=c.owner,
                        )
                    )
            Deal.objects.bulk_create(deals, batch_size=2000)
            Contract.objects.bulk_create(contracts, batch_size=2000)
            payments = [
                Payment(
                    contract=k,
                    received_on=today - dt.timedelta(days=rng.randrange(0, 730)),
                    amount=Decimal(rng.randrange(1_000, 500_000)),
                    currency="CNY",
                    recorded_by=admin,
                )
                for k in contracts
                for _ in range(rng.randrange(1, 4))
            ]
            Payment.objects.bulk_create(payments, batch_size=2000)
        added += n
    return added


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    from bench._setup import django_setup

    django_setup()
    from decimal import Decimal as D

    from django.db import connection
    from django.db.models import Count

    from bridgecrm.customers.models import Customer
    from bridgecrm.tiers import selectors, services
    from bridgecrm.tiers.models import ManualTier, TierChange, TierModel
    from bridgecrm.users.models import User

    started = time.perf_counter()
    added = _generate(args.customers, args.seed)
    generated_s = round(time.perf_counter() - started, 1)
    # Start from "never tiered" with the default rules, so every run measures the same work.
    ManualTier.objects.all().delete()
    TierChange.objects.all().delete()
    Customer.objects.update(tier="")
    TierModel.objects.update(value_high=60, value_medium=25, potential_high=60, potential_medium=30, version=1)
    admin = User.objects.get(username="bench-admin")

    cpu0 = time.process_time()
    first = services.tiers_recompute()
    cpu1 = time.process_time()
    second = services.tiers_recompute()
    cpu2 = time.process_time()
    model = selectors.tier_model()
    values = {name: getattr(model, name) for name in services.MODEL_FIELDS}
    values |= {"value_medium": D("15"), "potential_high": D("50")}
    rows = [{n: getattr(t, n) for n in services.TIER_FIELDS} for t in selectors.tiers()]
    t0 = time.perf_counter()
    preview = services.tier_model_preview(actor=admin, values=values, tier_rows=rows)
    preview_s = round(time.perf_counter() - t0, 3)
    services.tier_model_save(actor=admin, values=values, tier_rows=rows, recompute=False)
    cpu3 = time.process_time()
    third = services.tiers_recompute()
    cpu4 = time.process_time()
    saved = {
        code: n
        for code, n in Customer.objects.filter(deleted_at__isnull=True)
        .values_list("tier")
        .annotate(n=Count("pk"))
        .values_list("tier", "n")
    }
    report: dict[str, Any] = {
        "vendor": connection.vendor,
        "customers": first.customers,
        "generated_now": added,
        "generate_seconds": generated_s,
        "first_run": {
            "seconds": first.seconds,
            "cpu_seconds": round(cpu1 - cpu0, 3),
            "changed": first.changed,
            "counts": first.counts,
        },
        "second_run": {"seconds": second.seconds, "cpu_seconds": round(cpu2 - cpu1, 3), "changed": second.changed},
        "preview": {"seconds": preview_s, "counts": preview},
        "after_save": {
            "seconds": third.seconds,
            "cpu_seconds": round(cpu4 - cpu3, 3),
            "changed": third.changed,
            "counts": saved,
        },
        "preview_matches_saved": preview == saved,
        "history_rows": TierChange.objects.count(),
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"tiers-{connection.vendor}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
