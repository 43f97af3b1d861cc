"""Test data for scorecards: the worked example of docs/scorecards.md, built from real records."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from bridgecrm.conftest import Company
from bridgecrm.core.periods import Period
from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.models import Deal, DealStatus
from bridgecrm.scorecards import scoring, services
from bridgecrm.scorecards.models import Scorecard
from bridgecrm.targets.models import Measure, Target, TargetScope
from bridgecrm.tiers.tests.helpers import customer, follow_up, paid, won
from bridgecrm.users.models import Role, User
from bridgecrm.users.tests.factories import UserFactory, role

Q1 = Period.quarter(2026, 1)
TODAY = dt.date(2026, 4, 10)
IN_Q1 = dt.datetime(2026, 2, 10, 2, 0, tzinfo=dt.UTC)

RULES = [
    scoring.Rule("signed_amount", Decimal(30), cap=Decimal(120), target_kind="rep"),
    scoring.Rule("collected_amount", Decimal(20), cap=Decimal(100), target_value=Decimal(100_000)),
    scoring.Rule("signing_rate", Decimal(10), curve="threshold", threshold=Decimal(100), target_value=Decimal("0.5")),
    scoring.Rule("new_customers", Decimal(10), cap=Decimal(120), target_value=Decimal(5), kind="result"),
    scoring.Rule(
        "visits",
        Decimal(20),
        curve="bands",
        bands=((Decimal(100), Decimal(100)), (Decimal(80), Decimal(60)), (Decimal(50), Decimal(20))),
        target_value=Decimal(10),
        kind="process",
    ),
    scoring.Rule("average_deal_size", Decimal(10), cap=Decimal(150), target_value=Decimal(50_000)),
]

# rep: (signed target, won amounts, lost deals, collected, new customers, visits)
EXAMPLE: dict[str, tuple[int | None, list[int], int, int, int, int]] = {
    "rep1": (200_000, [120_000, 60_000], 2, 90_000, 5, 12),
    "rep2": (150_000, [150_000], 3, 100_000, 3, 8),
    "rep3": (100_000, [50_000, 40_000, 30_000], 1, 120_000, 6, 4),
    "rep4": (120_000, [60_000], 0, 40_000, 2, 10),
    "rep5": (None, [], 2, 0, 7, 5),
}


def worked_example(company: Company) -> tuple[Scorecard, dict[str, User]]:
    """Five reps of team A with the example's records in 2026-Q1, and the scorecard (role "example")."""
    example_role = Role.objects.create(code="example", name_en="Example rep", name_zh="示例销售")
    reps: dict[str, User] = {}
    for name, (target, wins, lost, collected, new, visits) in EXAMPLE.items():
        rep = UserFactory(username=name, full_name=name.title(), role=example_role, team=company.team_a)
        reps[name] = rep
        if target is not None:
            Target.objects.create(
                measure=Measure.SIGNED_AMOUNT,
                period_kind=Q1.kind,
                period_start=Q1.start,
                period_end=Q1.end,
                scope=TargetScope.REP,
                user=rep,
                amount=Decimal(target),
            )
        old = customer(rep, f"{name} account")  # created in 2025: not new in Q1
        for amount in wins:
            won(company.admin, old, str(amount), dt.date(2026, 2, 1))
        for _i in range(lost):
            won(company.admin, old, "1000", dt.date(2026, 2, 2))
            Deal.objects.filter(owner=rep, status=DealStatus.WON, amount=Decimal(1000)).update(status=DealStatus.LOST)
        if collected:
            paid(rep, old, str(collected), dt.date(2026, 3, 1))
        for i in range(new):
            customer(rep, f"{name} new {i}", since=IN_Q1)
        for i in range(visits):
            follow_up(old, dt.date(2026, 1, 5) + dt.timedelta(days=i), kind="visit")
    card = services.scorecard_save(
        actor=company.admin,
        values=services.ScorecardValues(
            name="Worked example",
            description="",
            period_kind="quarter",
            is_active=True,
            role_ids=[example_role.pk],
            team_ids=[],
            rules=RULES,
        ),
    )
    assert Customer.objects.filter(owner__in=reps.values()).count() == 5 + 23
    return card, reps


def rep_role() -> Role:
    return role("rep")
