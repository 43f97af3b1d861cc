from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from bridgecrm.activities.demo import create_demo_activities
from bridgecrm.contracts.demo import create_demo_contracts
from bridgecrm.customers.demo import create_demo_customers
from bridgecrm.incentives.demo import create_demo_incentives
from bridgecrm.pipeline.demo import create_demo_pipeline
from bridgecrm.pipeline.demo_deals import create_demo_deals, local_at
from bridgecrm.pool.demo import create_demo_pool
from bridgecrm.scorecards.demo import create_demo_scorecards
from bridgecrm.targets.demo import create_demo_targets
from bridgecrm.tiers.services import tiers_recompute
from bridgecrm.training.demo import create_demo_training
from bridgecrm.users.demo import DemoAccount, create_demo_company, demo_exists
from bridgecrm.users.models import User

SIGN_IN_FILE = "demo-sign-in.txt"


@dataclass(frozen=True)
class DemoSize:
    """How much demo data: the full size is scale 1; tests use a small scale."""

    customers: int = 2000
    deals: int = 3000
    follow_ups: int = 20000
    tasks_per_person: int = 30

    @classmethod
    def scaled(cls, scale: float) -> DemoSize:
        full = cls()
        return cls(
            customers=max(1, round(full.customers * scale)),
            deals=round(full.deals * scale),
            follow_ups=round(full.follow_ups * scale),
            tasks_per_person=full.tasks_per_person if scale >= 0.25 else 12,
        )


def sign_in_file() -> Path:
    return Path(settings.VAR_DIR) / SIGN_IN_FILE


def write_sign_in(accounts: list[DemoAccount]) -> Path:
    """Keep the demo sign-ins beside the embedded database (mode 0600), so `make run` can show them."""
    path = sign_in_file()
    lines = [f"{a.role:8} {a.username:20} {a.password}   {a.full_name} · {a.team}" for a in accounts]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def create_demo(*, seed: int, now: dt.datetime, size: DemoSize) -> tuple[list[DemoAccount], dict[str, int]]:
    """The whole demo company in one transaction: people, customers, products and pipelines, deals,
    quotes, contracts and payments, follow-ups and tasks, all dated in the two years up to ``now``."""
    counts: dict[str, int] = {}
    with transaction.atomic():
        accounts = create_demo_company(seed=seed)
        owners = list(User.objects.filter(username__in=[a.username for a in accounts if a.role != "admin"]))
        counts["customers"] = create_demo_customers(
            seed=seed, owners=sorted(owners, key=lambda u: u.pk), count=size.customers, now=now
        )
        admin = User.objects.filter(username__in=[a.username for a in accounts if a.role == "admin"]).first()
        if admin is not None:
            create_demo_pipeline(admin=admin)
        deals = create_demo_deals(seed=seed, now=now, count=size.deals)
        counts["deals"] = len(deals.deals)
        documents = create_demo_contracts(seed=seed, now=now, deals=deals.deals)
        counts.update(
            quotes=documents.quotes,
            contracts=documents.contracts,
            plan_lines=documents.plan_lines,
            payments=documents.payments,
        )
        activities = create_demo_activities(
            seed=seed,
            now=now,
            deals=deals.deals,
            follow_ups=size.follow_ups,
            tasks_per_person=size.tasks_per_person,
        )
        counts.update(follow_ups=activities.follow_ups, tasks=activities.tasks)
        counts["in the public pool"] = create_demo_pool(seed=seed, now=now)
    # Tiers from the demo's payments, deals and potential, as the nightly job would compute them.
    counts["tiered"] = tiers_recompute(today=now.date()).customers
    # Targets and people: the year's target decomposed to everyone, training records, scorecards
    # with last quarter's evaluation locked (it reads targets, training and the routine's
    # compliance, so after tiers), then commissions and bonuses (they read locked evaluations).
    with transaction.atomic():
        counts.update(create_demo_targets(today=now.date()))
        counts.update(create_demo_training(today=now.date()))
        counts.update(create_demo_scorecards(today=now.date()))
        counts.update(create_demo_incentives(today=now.date()))
    return accounts, counts


class Command(BaseCommand):
    help = (
        "Create the demo company (3 regions, 6 teams, about 30 people, 2,000 customers, 3,000 deals, "
        "20,000 follow-ups, quotes, contracts and payments over the last two years, targets, scorecards, "
        "commission statements and training), reproducible by seed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--scale", type=float, default=1.0, help="1 = full size; 0.1 = a tenth of it.")
        parser.add_argument("--today", help="Date the demo as if today were YYYY-MM-DD (default: today).")

    def handle(self, *args: Any, **options: Any) -> None:
        if demo_exists():
            self.stdout.write("The demo company already exists.")
            return
        if not 0 < options["scale"] <= 10:
            raise CommandError("--scale must be above 0 and at most 10.")
        now = timezone.now()
        if options["today"]:
            try:
                now = local_at(dt.date.fromisoformat(options["today"]), 17 * 60)
            except ValueError as error:
                raise CommandError(f"--today: {error}") from None
        started = time.monotonic()
        accounts, counts = create_demo(seed=options["seed"], now=now, size=DemoSize.scaled(options["scale"]))
        path = write_sign_in(accounts)
        if options["verbosity"] == 0:
            return
        summary = ", ".join(f"{value} {key.replace('_', ' ')}" for key, value in counts.items())
        self.stdout.write(
            f"Created the demo company with {len(accounts)} people, {summary} "
            f"in {time.monotonic() - started:.1f} s. Sign-ins (also in {path}):"
        )
        for account in accounts[:4]:
            self.stdout.write(f"  {account.role:8} {account.username:20} {account.password}")
