"""Suite "targets" (issue 5): the target progress page and the manager dashboard on the crm-large
data set, p95 ≤ 100 ms server time each. The raw SQL is the progress page's main question: each
rep's won amount in the period, one GROUP BY.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from bench.cases import Case, Context

BUDGET_MS = 100.0


def _route(name: str) -> str | None:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def targets_cases(ctx: Context) -> list[Case]:
    from django.db.models import Count

    from bridgecrm.core.periods import Period, PeriodKind
    from bridgecrm.pipeline.models import Deal
    from bridgecrm.users.models import Team, User

    if not Deal.objects.exists():
        return []  # a scale without CRM rows (the audit scales): nothing to measure progress against
    progress = _route("targets:progress")
    dashboard = _route("web:manager_dashboard")
    if progress is None or dashboard is None:
        return [Case("target progress", "", budget_ms=BUDGET_MS, skip="the targets app is not in this checkout")]
    year = dt.date.today().year
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    # The manager of the team with the most people: the dashboard's user.
    manager = (
        User.objects.filter(pk__in=Team.objects.filter(manager__isnull=False).values("manager_id"))
        .order_by("pk")
        .first()
    )
    ctx.facts["targets_manager"] = manager.username if manager else None
    biggest = (
        Team.objects.filter(parent__isnull=False, children__isnull=True)
        .annotate(n=Count("members"))
        .order_by("-n", "pk")
        .first()
    )
    focus_team = biggest.pk if biggest else 0
    won_sql = (
        "SELECT d.owner_id, SUM(d.amount_base) FROM pipeline_deal d"
        " WHERE d.status = 'won' AND d.deleted_at IS NULL AND d.closed_on BETWEEN %s AND %s GROUP BY d.owner_id"
    )
    params: list[Any] = [start.isoformat(), end.isoformat()]
    cases = [
        Case(
            "target progress: signed amount, this year",
            progress + "?" + urlencode({"measure": "signed_amount", "period": str(year)}),
            won_sql,
            params,
            budget_ms=BUDGET_MS,
        ),
        Case(
            "target progress: signed amount, this year, one team's reps",
            progress + "?" + urlencode({"measure": "signed_amount", "period": str(year), "team": focus_team}),
            won_sql,
            params,
            budget_ms=BUDGET_MS,
        ),
        Case(
            "target progress: collected amount, this year",
            progress + "?" + urlencode({"measure": "collected_amount", "period": str(year)}),
            "SELECT c.owner_id, p.currency, SUM(p.amount) FROM contracts_payment p"
            " JOIN contracts_contract c ON c.id = p.contract_id WHERE p.received_on BETWEEN %s AND %s"
            " GROUP BY c.owner_id, p.currency",
            params,
            budget_ms=BUDGET_MS,
        ),
        Case(
            "target progress: signing rate (a ratio, computed per team), this year",
            progress + "?" + urlencode({"measure": "signing_rate", "period": str(year)}),
            "SELECT d.owner_id, SUM(CASE WHEN d.status = 'won' THEN 1 ELSE 0 END), COUNT(*) FROM pipeline_deal d"
            " WHERE d.status IN ('won', 'lost') AND d.deleted_at IS NULL AND d.closed_on BETWEEN %s AND %s"
            " GROUP BY d.owner_id",
            params,
            budget_ms=BUDGET_MS,
            note="won and closed per rep in one GROUP BY; teams and the company divide their sums",
        ),
        Case(
            "target progress: visits, this month",
            progress + "?" + urlencode({"measure": "visits", "period": f"{year}-{dt.date.today().month:02d}"}),
            budget_ms=BUDGET_MS,
            note="1,000,000 follow-ups: one GROUP BY over the month's range",
        ),
    ]
    month = Period.containing(PeriodKind.MONTH, dt.date.today())
    if manager is not None:
        cases.append(
            Case(
                "manager dashboard (team manager)",
                dashboard,
                won_sql,
                [month.start.isoformat(), month.end.isoformat()],
                user=manager.username,
                budget_ms=BUDGET_MS,
            )
        )
    return cases
