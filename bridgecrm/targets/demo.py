"""Demo targets and plans: this year's company targets decomposed to everyone and every month, a
company signing-rate target copied to the teams, and a few sales plans with milestones (one
overdue). Called by the ``demo`` command after the deals, payments and follow-ups exist, so last
year's shares and seasonality come from the demo's data."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction

from bridgecrm.core.periods import Period, PeriodKind
from bridgecrm.customers.models import Customer
from bridgecrm.targets import measures, selectors, services
from bridgecrm.targets.models import DecompositionMethod, Measure, Target, TargetScope
from bridgecrm.users.capabilities import VIEW_ALL_RECORDS
from bridgecrm.users.models import RolePermission, Team, TeamKind, User

GROWTH = Decimal("1.2")  # this year's target: last year's actual plus a fifth


def _admin() -> User | None:
    roles = RolePermission.objects.filter(capability=VIEW_ALL_RECORDS).values("role_id")
    return User.objects.filter(is_active=True, role_id__in=roles).order_by("pk").first()


def _round(amount: Decimal, step: Decimal) -> Decimal:
    return ((amount / step).to_integral_value(rounding=ROUND_HALF_UP) * step).quantize(Decimal("0.01"))


def _months(admin: User, parent: Target) -> None:
    """Months by last year's seasonality where every month of last year has data, else equally
    (the demo's first months may predate its history)."""
    preview = services.decomposition_preview(
        actor=admin, parent=parent, dimension="months", method=DecompositionMethod.SEASONALITY
    )
    method = DecompositionMethod.SEASONALITY
    if any(line.weight == 0 for line in preview.lines):
        method = DecompositionMethod.EQUAL
    services.target_decompose(actor=admin, parent=parent, dimension="months", method=method)


def _tree(admin: User, parent: Target, counts: dict[str, int]) -> None:
    """Decompose down the team tree, and each team's and rep's year into months by last year's
    seasonality."""
    if parent.scope == TargetScope.REP:
        _months(admin, parent)
        counts["targets"] += 12
        return
    if parent.scope == TargetScope.TEAM:
        _months(admin, parent)
        counts["targets"] += 12
    if not services.units_for(parent, "scope"):
        return
    # Teams and regions by last year's share; a team's reps equally (a rep new since last year would
    # otherwise get nothing).
    to_reps = any(u.scope == TargetScope.REP for u in services.units_for(parent, "scope"))
    method = DecompositionMethod.EQUAL if to_reps else DecompositionMethod.LAST_YEAR_SHARE
    children, _preview = services.target_decompose(actor=admin, parent=parent, dimension="scope", method=method)
    counts["targets"] += len(children)
    for child in children:
        _tree(admin, child, counts)


def create_demo_targets(*, today: dt.date) -> dict[str, int]:
    admin = _admin()
    counts = {"targets": 0, "sales plans": 0, "milestones": 0}
    if admin is None:
        return counts
    year = Period.containing(PeriodKind.YEAR, today)
    last = year.a_year_earlier()
    with transaction.atomic():
        for measure in (Measure.SIGNED_AMOUNT, Measure.COLLECTED_AMOUNT):
            actual = sum(selectors.actuals_by_owner(measure=measure, period=last).values(), Decimal(0))
            amount = max(_round(actual * GROWTH, Decimal(10000)), Decimal("1000000.00"))
            top = services.target_create(
                actor=admin, measure=measure, period=year, scope=TargetScope.COMPANY, amount=amount
            )
            counts["targets"] += 1
            _months(admin, top)
            counts["targets"] += 12
            _tree(admin, top, counts)
        counts["targets"] += _signing_rate(admin, year)
        counts.update(_plans(admin, today))
    return counts


SIGNING_RATE = "signing_rate"  # a scorecard metric, registered as a measure by the scorecards app


def _signing_rate(admin: User, year: Period) -> int:
    """This year's company signing-rate target (last year's rate plus 5 points, rounded to 5 %,
    between 30 % and 95 %), copied ("same value for everyone") to its months (so the manager
    dashboard shows this month's) and to the teams under the company. Nothing when the measure is
    not registered (a checkout without scorecards)."""
    found = measures.get(SIGNING_RATE)
    if found is None or not found.available:
        return 0
    last = found.compute_group(year.a_year_earlier(), list(User.objects.values_list("pk", flat=True)))
    rate = _round((last or Decimal(0)) + 5, Decimal(5))
    rate = min(max(rate, Decimal("30.00")), Decimal("95.00"))
    top = services.target_create(actor=admin, measure=SIGNING_RATE, period=year, scope=TargetScope.COMPANY, amount=rate)
    months, _preview = services.target_decompose(
        actor=admin, parent=top, dimension="months", method=DecompositionMethod.SAME
    )
    if not services.units_for(top, "scope"):
        return 1 + len(months)
    children, _preview = services.target_decompose(
        actor=admin, parent=top, dimension="scope", method=DecompositionMethod.SAME
    )
    return 1 + len(months) + len(children)


def _plans(admin: User, today: dt.date) -> dict[str, int]:
    quarter = Period.containing(PeriodKind.QUARTER, today)
    teams = list(Team.objects.filter(is_active=True, kind=TeamKind.TEAM, manager__isnull=False).order_by("path")[:2])
    plans = milestones = 0
    for n, team in enumerate(teams):
        members = list(User.objects.filter(team=team, is_active=True).exclude(managed_teams=team).order_by("pk"))
        if not members:
            continue
        plan = services.plan_create(
            actor=admin,
            name=f"{team.name} {quarter.code}",
            period=quarter,
            scope="team",
            team=team,
            description="Win the quarter: open doors in the first month, demos in the second, sign in the third.",
        )
        plans += 1
        months = quarter.months()
        phases = [
            services.phase_add(actor=admin, plan=plan, name=name, starts_on=m.start, ends_on=m.end)
            for name, m in zip(("Open doors", "Demos and proposals", "Close"), months, strict=True)
        ]
        rows = [
            ("Visit the ten largest accounts", quarter.start + dt.timedelta(days=20), phases[0], "done"),
            ("Product demo for every active deal", min(today - dt.timedelta(days=5), quarter.end), phases[1], "open"),
            ("Proposals out for the pipeline's top five", quarter.end - dt.timedelta(days=20), phases[2], "open"),
        ]
        if n > 0:
            rows = rows[:1] + rows[2:]  # only one plan carries the overdue milestone
        for i, (title, due, phase, status) in enumerate(rows):
            due = max(quarter.start, min(due, quarter.end))
            owner = members[i % len(members)]
            key = list(
                Customer.objects.filter(owner=owner, deleted_at__isnull=True)
                .order_by("-estimated_annual_potential", "pk")
                .values_list("pk", flat=True)[:2]
            )
            linked = list(
                Target.objects.filter(
                    scope=TargetScope.REP, user=owner, period_start=quarter.start.replace(month=1, day=1)
                )
                .filter(period_kind=PeriodKind.YEAR, measure=Measure.SIGNED_AMOUNT)
                .values_list("pk", flat=True)
            )
            m = services.milestone_add(
                actor=admin,
                plan=plan,
                title=title,
                due_on=due,
                owner=owner,
                phase=phase,
                target_ids=linked,
                customer_ids=key,
            )
            if status == "done":
                services.milestone_set_status(actor=admin, milestone=m, status="done", today=today)
            milestones += 1
    return {"sales plans": plans, "milestones": milestones}
