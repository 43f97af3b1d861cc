"""Reads of scorecards and evaluations, always from what the actor may see.

Entries: the scorecards' managers see all (drafts too); otherwise nobody sees a draft, reviewers
(managers) see their teams' entries from review on, and every rep sees their own entry once it is
published. An evaluation is visible when one of its entries is (or to the scorecards' managers).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from bridgecrm.core.errors import NotFound
from bridgecrm.core.periods import Period
from bridgecrm.core.visibility import scope_of, subtree_filter
from bridgecrm.scorecards import metrics, policies
from bridgecrm.scorecards.models import (
    Evaluation,
    EvaluationEntry,
    EvaluationStatus,
    Scorecard,
)
from bridgecrm.scorecards.scoring import NO_DATA, NO_TARGET
from bridgecrm.users.models import User

SHOWN_TO_REPS = (EvaluationStatus.PUBLISHED, EvaluationStatus.LOCKED)
SHOWN_TO_REVIEWERS = (EvaluationStatus.IN_REVIEW, EvaluationStatus.PUBLISHED, EvaluationStatus.LOCKED)


def scorecards(*, actor: Any) -> QuerySet[Scorecard]:
    """Scorecard definitions are company rules: every signed-in, active user reads them."""
    if scope_of(actor) is None:
        return Scorecard.objects.none()
    return Scorecard.objects.all()


def scorecard(*, actor: Any, scorecard_id: int) -> Scorecard:
    found = scorecards(actor=actor).filter(pk=scorecard_id).prefetch_related("metrics", "roles", "teams").first()
    if found is None:
        raise NotFound("not_found", _("Not found."))
    return found


def entries(*, actor: Any) -> QuerySet[EvaluationEntry]:
    """The evaluation entries ``actor`` may see (see the module's docstring)."""
    scope = scope_of(actor)
    if scope is None:
        return EvaluationEntry.objects.none()
    qs = EvaluationEntry.objects.all()
    if policies.may_manage(actor):
        return qs
    if scope.sees_all:
        return qs.filter(evaluation__status__in=SHOWN_TO_REVIEWERS)
    own = Q(user_id=scope.user_id, evaluation__status__in=SHOWN_TO_REPS)
    team = (
        subtree_filter("user__team__path", scope.managed_team_paths)
        & ~Q(user_id=scope.user_id)
        & Q(evaluation__status__in=SHOWN_TO_REVIEWERS)
    )
    return qs.filter(own | team)


def evaluations(*, actor: Any) -> QuerySet[Evaluation]:
    if scope_of(actor) is None:
        return Evaluation.objects.none()
    qs = Evaluation.objects.select_related("scorecard")
    if policies.may_manage(actor):
        return qs
    return qs.filter(Exists(entries(actor=actor).filter(evaluation_id=OuterRef("pk"))))


def evaluation(*, actor: Any, evaluation_id: int) -> Evaluation:
    found = evaluations(actor=actor).filter(pk=evaluation_id).first()
    if found is None:
        raise NotFound("not_found", _("Not found."))
    return found


def evaluation_entries(*, actor: Any, evaluation: Evaluation) -> QuerySet[EvaluationEntry]:
    return (
        entries(actor=actor)
        .filter(evaluation=evaluation)
        .select_related("user", "team")
        .order_by("rank", "user__username")
    )


def entry(*, actor: Any, entry_id: int) -> EvaluationEntry:
    found = (
        entries(actor=actor).filter(pk=entry_id).select_related("evaluation__scorecard", "user__team", "team").first()
    )
    if found is None:
        raise NotFound("not_found", _("Not found."))
    return found


def history(*, actor: Any, user_id: int) -> QuerySet[EvaluationEntry]:
    """A rep's entries across periods, newest first (only those the actor may see)."""
    return (
        entries(actor=actor)
        .filter(user_id=user_id)
        .select_related("evaluation__scorecard")
        .order_by("-evaluation__period_start", "evaluation__scorecard_id")
    )


# ---- explaining the points -----------------------------------------------------------------------


def _num(value: Decimal, places: int) -> str:
    """With thousands separators in every language (as ``customers.amount``: the Chinese locale has none)."""
    return f"{value:,.{places}f}"


def plain(value: Any) -> str:
    """``"100.00"`` → ``"100"``, ``"12.50"`` → ``"12.5"``."""
    return format(Decimal(str(value)).normalize(), "f")


def format_value(code: str, value: str | Decimal | None) -> str:
    """A raw or target value as people read it: money with two places, ratios as %, counts whole."""
    if value is None or value == "":
        return "—"
    number = Decimal(str(value))
    metric = metrics.REGISTRY.get(code)
    unit = metric.unit if metric else metrics.COUNT
    if unit == metrics.RATIO:
        return f"{_num(number * 100, 1)} %"
    if unit == metrics.MONEY:
        return _num(number, 2)
    return _num(number, 0) if number == number.to_integral_value() else _num(number, 2)


def metric_label(code: str) -> str:
    metric = metrics.REGISTRY.get(code)
    return str(metric.label) if metric else code


def explain(line: dict[str, Any]) -> str:
    """One metric's line of the breakdown in the reader's language, e.g. "80,000.00 of 100,000.00
    target → 80.0 % → 24.00 of 30.00 points"."""
    code = line["code"]
    weight = _num(Decimal(line["weight"]), 2)
    original = _num(Decimal(line["points"]), 2)
    if line["status"] == NO_DATA:
        text = _("no data → %(points)s of %(weight)s points") % {"points": original, "weight": weight}
    elif line["status"] == NO_TARGET:
        text = _("%(raw)s, no target → %(points)s of %(weight)s points") % {
            "raw": format_value(code, line["raw"]),
            "points": original,
            "weight": weight,
        }
    else:
        text = _("%(raw)s of %(target)s target → %(achievement)s → %(points)s of %(weight)s points") % {
            "raw": format_value(code, line["raw"]),
            "target": format_value(code, line["target"]),
            "achievement": f"{_num(Decimal(line['achievement']) * 100, 1)} %",
            "points": original,
            "weight": weight,
        }
        if line.get("curve") == "threshold":
            text += " " + _("(all or nothing at %(threshold)s %%)") % {"threshold": plain(line.get("threshold"))}
        elif line.get("curve") == "linear" and line.get("cap"):
            text += " " + _("(capped at %(cap)s %%)") % {"cap": plain(line.get("cap"))}
    adjusted = line.get("adjusted")
    if adjusted:
        text += " · " + _("adjusted to %(points)s by %(by)s: %(reason)s") % {
            "points": _num(Decimal(adjusted["points"]), 2),
            "by": adjusted.get("by_name", ""),
            "reason": adjusted.get("reason", ""),
        }
    return text


@dataclass(frozen=True)
class BreakdownLine:
    code: str
    label: str
    kind: str
    raw: str
    target: str
    points: Decimal  # effective (after an adjustment)
    weight: Decimal
    adjusted: bool
    text: str

    @property
    def weight_text(self) -> str:
        return plain(self.weight)


def breakdown_lines(entry: EvaluationEntry) -> list[BreakdownLine]:
    out = []
    for line in entry.breakdown.get("metrics", []):
        adjusted = line.get("adjusted")
        out.append(
            BreakdownLine(
                code=line["code"],
                label=metric_label(line["code"]),
                kind=line.get("kind", "result"),
                raw=format_value(line["code"], line["raw"]),
                target=format_value(line["code"], line["target"]),
                points=Decimal(adjusted["points"] if adjusted else line["points"]),
                weight=Decimal(line["weight"]),
                adjusted=bool(adjusted),
                text=explain(line),
            )
        )
    return out


def difficulty(entry: EvaluationEntry) -> Decimal | None:
    raw = entry.breakdown.get("difficulty")
    return None if raw in (None, "") else Decimal(str(raw))


# ---- for other parts (dashboards, incentives) ----------------------------------------------------


@dataclass(frozen=True)
class LeaderRow:
    rep: User
    total: Decimal
    rank: int
    link: str
    evaluation_id: int
    period: str


def leaderboard(*, actor: Any, today: dt.date, limit: int = 10) -> list[LeaderRow]:
    """The latest published or locked evaluation (period begun by ``today``) the actor may see, its
    visible entries best first: two queries."""
    latest = (
        evaluations(actor=actor)
        .filter(status__in=SHOWN_TO_REPS, period_start__lte=today)
        .order_by("-period_end", "-run_at", "-pk")
        .first()
    )
    if latest is None:
        return []
    rows = evaluation_entries(actor=actor, evaluation=latest)[:limit]
    return [
        LeaderRow(
            rep=e.user,
            total=e.total,
            rank=e.rank,
            link=reverse("scorecards:entry", kwargs={"entry_id": e.pk}),
            evaluation_id=latest.pk,
            period=latest.period.code,
        )
        for e in rows
    ]


def locked_totals(*, user_ids: Any, period: Period) -> dict[int, Decimal]:
    """Each rep's total in the locked evaluations of exactly ``period``. When a rep is in several
    scorecards' evaluations, the one of the lowest scorecard id counts. No visibility check: callers
    hold ids they were allowed to see."""
    out: dict[int, Decimal] = {}
    for user_id, total in (
        EvaluationEntry.objects.filter(
            user_id__in=list(user_ids),
            evaluation__status=EvaluationStatus.LOCKED,
            evaluation__period_start=period.start,
            evaluation__period_end=period.end,
        )
        .order_by("-evaluation__scorecard_id")
        .values_list("user_id", "total")
    ):
        out[user_id] = total
    return out
