"""Reads of plans, statements, bonus rules and promotion eligibility, scoped to the actor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from bridgecrm.core import dates
from bridgecrm.core.errors import NotFound
from bridgecrm.core.periods import Period, PeriodKind
from bridgecrm.core.visibility import scope_of, subtree_filter
from bridgecrm.incentives import policies
from bridgecrm.incentives.models import (
    BonusRule,
    CommissionPlan,
    PlanAssignment,
    PromotionCriterion,
    Statement,
    StatementLine,
)
from bridgecrm.scorecards.models import EvaluationEntry, EvaluationStatus
from bridgecrm.training.selectors import completed_course_ids
from bridgecrm.users.models import User


def not_found() -> NotFound:
    return NotFound("not_found", _("Not found."))


# ---- statements ------------------------------------------------------------------------------------


def statements(
    *, actor: User, period: Period | None = None, status: str = "", user_id: int | None = None
) -> QuerySet[Statement]:
    """The statements ``actor`` may see: his own; with ``incentives.view_rates`` his team subtree's."""
    qs = Statement.objects.visible_to(actor).select_related("user", "user__team")
    if period is not None:
        qs = qs.filter(period_start=period.start, period_end=period.end)
    if status:
        qs = qs.filter(status=status)
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    return qs.order_by("-period_start", "user__username", "pk")


def statement(*, actor: User, statement_id: int) -> Statement:
    found = statements(actor=actor).select_related("approved_by", "plan").filter(pk=statement_id).first()
    if found is None:
        raise not_found()
    return found


def statement_lines(statement: Statement) -> list[StatementLine]:
    return list(
        statement.lines.select_related("deal", "payment", "payment__contract", "clawback_of__statement").order_by(
            "position", "pk"
        )
    )


def reps_for_approval(actor: User) -> QuerySet[User]:
    """The active users whose statements ``actor`` may generate and approve (not himself)."""
    scope = scope_of(actor)
    if scope is None or not policies.may_approve_any(actor):
        return User.objects.none()
    qs = User.objects.filter(is_active=True).exclude(pk=actor.pk)
    if not scope.sees_all:
        qs = qs.filter(subtree_filter("team__path", scope.managed_team_paths))
    return qs.order_by("username")


def payroll_rows(*, actor: User, period: Period) -> list[Statement]:
    return list(statements(actor=actor, period=period))


def payroll_lines(*, actor: User, period: Period) -> list[StatementLine]:
    return list(
        StatementLine.objects.filter(statement__in=statements(actor=actor, period=period).values("pk"))
        .select_related("statement__user")
        .order_by("statement__user__username", "statement_id", "position", "pk")
    )


# ---- plans -----------------------------------------------------------------------------------------


def plans(*, actor: User) -> QuerySet[CommissionPlan]:
    """Plans with their rates: for holders of ``incentives.view_rates`` or ``incentives.manage``."""
    if not (policies.may_view_rates(actor) or policies.may_manage(actor)):
        return CommissionPlan.objects.none()
    return CommissionPlan.objects.all().order_by("name", "pk")


def plan(*, actor: User, plan_id: int) -> CommissionPlan:
    found = plans(actor=actor).filter(pk=plan_id).first()
    if found is None:
        raise not_found()
    return found


def assignments(plan: CommissionPlan) -> list[PlanAssignment]:
    return list(plan.assignments.select_related("user", "team", "role").order_by("valid_from", "pk"))


def plan_for(user: User, period: Period) -> CommissionPlan | None:
    """The plan that applies to ``user`` in ``period``: one assigned to him wins over one assigned
    to his team (the nearest team up the tree wins), which wins over one assigned to his role; among
    equals the latest ``valid_from``. Only active plans valid on the period's last day count."""
    day = period.end
    valid = PlanAssignment.objects.filter(plan__is_active=True, valid_from__lte=day).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=day)
    )
    team_path = user.team.path if user.team_id and user.team is not None else ""
    team_paths = []
    parts = [p for p in team_path.split(".") if p]
    for i in range(len(parts)):
        team_paths.append(".".join(parts[: i + 1]) + ".")
    candidates = list(
        valid.filter(Q(user_id=user.pk) | Q(team__path__in=team_paths) | Q(role_id=user.role_id))
        .select_related("plan", "team")
        .order_by("-valid_from", "-pk")
    )

    def rank(a: PlanAssignment) -> tuple[int, int]:
        if a.user_id:
            return (0, 0)
        if a.team_id and a.team is not None:
            return (1, -len(a.team.path))
        return (2, 0)

    if not candidates:
        return None
    return min(candidates, key=rank).plan


def bonus_rules() -> QuerySet[BonusRule]:
    return BonusRule.objects.select_related("scorecard").order_by("-min_total", "pk")


# ---- promotion ---------------------------------------------------------------------------------------


@dataclass
class Condition:
    label: str
    met: bool
    detail: str


@dataclass
class Eligibility:
    user: User
    criterion: PromotionCriterion
    conditions: list[Condition] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return all(c.met for c in self.conditions)


def criteria() -> QuerySet[PromotionCriterion]:
    return PromotionCriterion.objects.select_related("course").order_by("name", "pk")


def _months_between(start: dt.date, end: dt.date) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - (1 if end.day < start.day else 0)


def quarter_totals(user_ids: Iterable[int]) -> dict[int, dict[str, Decimal]]:
    """Per rep, his best locked quarterly scorecard total per quarter code ("2026-Q3")."""
    out: dict[int, dict[str, Decimal]] = {}
    rows = EvaluationEntry.objects.filter(
        user_id__in=list(user_ids),
        evaluation__status=EvaluationStatus.LOCKED,
        evaluation__period_kind=PeriodKind.QUARTER,
    ).values_list("user_id", "evaluation__period_start", "total")
    for user_id, start, total in rows:
        code = Period.containing(PeriodKind.QUARTER, start).code
        bucket = out.setdefault(user_id, {})
        bucket[code] = max(bucket.get(code, total), total)
    return out


def eligibility(*, actor: User, today: dt.date | None = None) -> list[Eligibility]:
    """For every active criterion and every active person ``actor`` looks after (himself, the team
    subtrees he manages; admins everyone): each condition met or not, with the figures. A rep sees
    only himself: his teammates' scores are not his to read."""
    today = today or dates.company_today()
    scope = scope_of(actor)
    if scope is None:
        return []
    people = User.objects.filter(is_active=True)
    if not scope.sees_all:
        people = people.filter(Q(pk=actor.pk) | subtree_filter("team__path", scope.managed_team_paths))
    users = list(people.select_related("team").order_by("username"))
    crits = list(criteria().filter(is_active=True))
    if not users or not crits:
        return []
    ids = [u.pk for u in users]
    totals = quarter_totals(ids)
    courses = completed_course_ids(user_ids=ids)
    last_quarter = Period.containing(PeriodKind.QUARTER, today).previous()
    out: list[Eligibility] = []
    for crit in crits:
        for user in users:
            result = Eligibility(user=user, criterion=crit)
            if crit.min_score is not None:
                wanted = max(1, crit.quarters)
                quarters = []
                q = last_quarter
                for _i in range(wanted):
                    quarters.append(q)
                    q = q.previous()
                scores = totals.get(user.pk, {})
                figures = [(q.code, scores.get(q.code)) for q in reversed(quarters)]
                met = all(s is not None and s >= crit.min_score for _c, s in figures)
                detail = ", ".join(f"{c}: {'—' if s is None else s}" for c, s in figures)
                result.conditions.append(
                    Condition(
                        _("Scorecard total ≥ %(score)s for %(n)s quarters in a row")
                        % {"score": crit.min_score, "n": wanted},
                        met,
                        detail,
                    )
                )
            if crit.course_id is not None:
                done = crit.course_id in courses.get(user.pk, set())
                result.conditions.append(
                    Condition(
                        _("Completed the course %(course)s") % {"course": crit.course},
                        done,
                        _("completed") if done else _("not completed"),
                    )
                )
            if crit.min_tenure_months is not None:
                joined = timezone.localtime(user.date_joined).date()
                months = _months_between(joined, today)
                result.conditions.append(
                    Condition(
                        _("Tenure at least %(n)s months") % {"n": crit.min_tenure_months},
                        months >= crit.min_tenure_months,
                        _("%(months)s months (joined %(date)s)") % {"months": months, "date": joined.isoformat()},
                    )
                )
            out.append(result)
    return out


def locked_entries_for(*, user_id: int, period: Period) -> QuerySet[EvaluationEntry]:
    """Locked evaluation entries of a rep whose evaluation period ends inside ``period`` and which
    no statement line has paid a bonus for yet."""
    paid = StatementLine.objects.filter(evaluation_entry_id=OuterRef("pk"))
    return (
        EvaluationEntry.objects.filter(
            user_id=user_id,
            evaluation__status=EvaluationStatus.LOCKED,
            evaluation__period_end__gte=period.start,
            evaluation__period_end__lte=period.end,
        )
        .exclude(Exists(paid))
        .select_related("evaluation__scorecard")
        .order_by("evaluation__period_end", "pk")
    )


def describe(line: StatementLine) -> dict[str, Any]:
    """What a line links to (for pages, the API and the export)."""
    if line.deal_id:
        return {"kind": "deal", "id": line.deal_id}
    if line.payment_id:
        return {
            "kind": "payment",
            "id": line.payment_id,
            "contract_id": line.payment.contract_id if line.payment else None,
        }
    return {"kind": "", "id": None}


def unpaid_reason(band: str) -> str:
    """Why a "not paid" statement line earned nothing, in the reader's language, from the reason code
    the generator stored in its ``band`` ("margin_unknown:<first line without a cost>", "no_margin")."""
    from django.utils.translation import gettext

    code, _sep, line = (band or "").partition(":")
    if code == "no_margin":
        return gettext("not paid: no positive margin (cost at or above the amount)")
    if line:
        return gettext("not paid: margin unknown (no cost on line “%(line)s”)") % {"line": line}
    return gettext("not paid: margin unknown (the deal has no product lines)")
