"""The manager dashboard: a list of sections, each a function ``(actor, today) -> Section``.

Other parts add sections by appending to ``SECTIONS`` (a scorecard leaderboard, coaching check-ins
due…). A section renders its own template with its own context; every figure links to the records
behind it. Sections return None to stay hidden (nothing to show, or not for this actor).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from bridgecrm.core import dates
from bridgecrm.core.periods import Period, PeriodKind
from bridgecrm.scorecards import selectors as scorecard_selectors
from bridgecrm.targets import measures as target_measures
from bridgecrm.targets import policies as target_policies
from bridgecrm.targets import selectors as target_selectors
from bridgecrm.targets.models import Measure
from bridgecrm.tiers.selectors import sop_compliance
from bridgecrm.training import selectors as training_selectors
from bridgecrm.users.models import User
from bridgecrm.users.viewtools import actor_of, guarded, require


@dataclass
class Section:
    key: str
    title: str | Promise
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    link: str = ""  # "see all"


SectionFn = Callable[[User, dt.date], Section | None]


OTHER_MEASURE_TABLES = 3  # at most this many tables for measures other than signed and collected amounts


def _other_measures(actor: User, month: Period) -> list[str]:
    """Other measures (rates, averages, counts) with a target the actor sees for this month, in the
    registry's order. One query. (This month only: a year's rate over the whole company is a scan of
    the year's closed deals, too slow for a page that shows every section at once.)"""
    rows = (
        target_selectors.visible_targets(actor)
        .filter(period_start=month.start, period_end=month.end, product_category="")
        .exclude(measure__in=[Measure.SIGNED_AMOUNT, Measure.COLLECTED_AMOUNT])
        .order_by("measure")
        .values_list("measure", flat=True)
        .distinct()
    )
    found = {code for code in rows if (m := target_measures.get(code)) is not None and m.available}
    ordered = [m.code for m in target_measures.all_measures() if m.code in found]
    return ordered[:OTHER_MEASURE_TABLES]


def target_progress_section(actor: User, today: dt.date) -> Section | None:
    """This month's signed amount and collected amount: the teams one manages and each rep; then
    the other measures (signing rate, say) that have targets this month."""
    period = Period.containing(PeriodKind.MONTH, today)
    tables = []
    for measure in (Measure.SIGNED_AMOUNT, Measure.COLLECTED_AMOUNT):
        result = target_selectors.progress(actor=actor, measure=measure, period=period, today=today)
        tables.append({"measure": Measure(measure).label, "result": result, "period": period})
    for code in _other_measures(actor, period):
        result = target_selectors.progress(actor=actor, measure=code, period=period, today=today)
        tables.append({"measure": target_measures.label_of(code), "result": result, "period": period})
    return Section(
        "targets",
        _("Target progress this month"),
        "web/dashboard/targets.html",
        {"tables": tables, "period": period},
        reverse("targets:progress") + "?" + urlencode({"period": period.code}),
    )


def overdue_milestones_section(actor: User, today: dt.date) -> Section | None:
    rows = target_selectors.overdue_milestones(actor=actor, today=today)
    return Section(
        "milestones",
        _("Overdue milestones"),
        "web/dashboard/milestones.html",
        {"milestones": rows[:20], "more": max(0, len(rows) - 20), "today": today},
        reverse("targets:plans"),
    )


def sop_compliance_section(actor: User, today: dt.date) -> Section | None:
    start = today.replace(day=1)
    result = sop_compliance(actor=actor, period_start=start, period_end=today, today=today)
    return Section(
        "sop",
        _("Follow-up routine compliance this month"),
        "web/dashboard/sop.html",
        {"result": result, "start": start, "today": today},
        reverse("tiers:compliance") + "?" + urlencode({"start": start, "end": today}),
    )


def leaderboard_section(actor: User, today: dt.date) -> Section | None:
    """The latest published or locked evaluation the manager may see, best first."""
    rows = scorecard_selectors.leaderboard(actor=actor, today=today, limit=10)
    return Section(
        "leaderboard",
        _("Scorecard leaderboard"),
        "web/dashboard/leaderboard.html",
        {"rows": rows, "period": rows[0].period if rows else ""},
        reverse("scorecards:evaluation", kwargs={"evaluation_id": rows[0].evaluation_id})
        if rows
        else reverse("scorecards:list"),
    )


def coaching_due_section(actor: User, today: dt.date) -> Section | None:
    """Coaching check-ins due within a week or overdue, for the people the manager coaches or manages."""
    rows = training_selectors.coaching_due(actor=actor, today=today, within_days=7)
    return Section(
        "coaching",
        _("Coaching check-ins due"),
        "web/dashboard/coaching.html",
        {"rows": rows[:20], "more": max(0, len(rows) - 20), "today": today},
        reverse("training:coaching"),
    )


SECTIONS: list[SectionFn] = [
    target_progress_section,
    leaderboard_section,
    overdue_milestones_section,
    sop_compliance_section,
    coaching_due_section,
]


def sections_for(actor: User, today: dt.date) -> list[Section]:
    return [s for s in (fn(actor, today) for fn in SECTIONS) if s is not None]


@guarded
def manager_dashboard(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    require(target_policies.may_view_others(actor))
    today = dates.company_today()
    return render(request, "web/manager_dashboard.html", {"sections": sections_for(actor, today), "today": today})
