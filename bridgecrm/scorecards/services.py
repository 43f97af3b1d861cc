"""Writes of scorecards and evaluations: the one path for the UI, the API, the demo and tasks.

An evaluation moves draft → in review → published → locked. A draft can be run again (its entries
are replaced); anything later cannot. Reviewers comment and adjust while it is in review; reps
acknowledge their own entry once it is published; a locked evaluation never changes again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.activities.models import NotificationKind
from bridgecrm.activities.services import notification_create
from bridgecrm.core import audit
from bridgecrm.core.errors import ApplicationError, Conflict, PermissionDenied
from bridgecrm.core.periods import Period
from bridgecrm.customers.models import Customer
from bridgecrm.scorecards import metrics, policies, scoring
from bridgecrm.scorecards.models import (
    Evaluation,
    EvaluationAdjustment,
    EvaluationComment,
    EvaluationEntry,
    EvaluationStatus,
    Scorecard,
    ScorecardMetric,
)
from bridgecrm.targets.models import Measure
from bridgecrm.targets.selectors import rep_target_amounts
from bridgecrm.users.models import Role, Team, User

FOUR = Decimal("0.0001")
TWO = Decimal("0.01")


def _denied() -> PermissionDenied:
    return PermissionDenied("forbidden", _("You do not have permission to do this."))


def _invalid(name: str, message: Any, code: str = "invalid") -> ApplicationError:
    return ApplicationError(code, message, details={name: [code]})


RULE_PROBLEMS = {
    "empty": _("Pick at least one metric."),
    "weights": _("The weights must add up to exactly 100 %."),
    "duplicate": _("Each metric can be used once."),
    "negative": _("Weights, caps and thresholds must be above zero."),
    "bands": _("A bands curve needs bands, each as “from %: points %”, e.g. “100:100, 80:60”."),
    "target": _("A fixed target must be above zero."),
}


def check_rules(rules: Sequence[scoring.Rule]) -> None:
    for rule in rules:
        metric = metrics.REGISTRY.get(rule.code)
        if metric is None:
            raise _invalid("metrics", _("Unknown metric."))
        if not metric.available:
            raise _invalid(
                "metrics",
                _("%(metric)s cannot be used: %(why)s")
                % {
                    "metric": metric.label,
                    "why": metric.unavailable,
                },
                "unavailable",
            )
        if rule.target_kind == "rep" and not metrics.has_rep_targets(metric):
            raise _invalid(
                "metrics", _("%(metric)s has no rep targets: give it a fixed target.") % {"metric": metric.label}
            )
    problems = scoring.check_rules(rules)
    if problems:
        raise _invalid("metrics", RULE_PROBLEMS[problems[0]], problems[0])


# ---- scorecards ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScorecardValues:
    name: str
    description: str
    period_kind: str
    is_active: bool
    role_ids: Sequence[int]
    team_ids: Sequence[int]
    rules: Sequence[scoring.Rule]


def _snapshot(card: Scorecard) -> dict[str, Any]:
    return {
        "name": card.name,
        "description": card.description,
        "period_kind": card.period_kind,
        "is_active": card.is_active,
        "roles": sorted(card.roles.values_list("pk", flat=True)),
        "teams": sorted(card.teams.values_list("pk", flat=True)),
        "metrics": [_rule(m).as_json() for m in card.metrics.all()],
    }


def _rule(m: ScorecardMetric) -> scoring.Rule:
    return scoring.Rule(
        code=m.code,
        weight=m.weight,
        direction=m.direction,
        curve=m.curve,
        cap=m.cap,
        threshold=m.threshold,
        bands=tuple((Decimal(str(a)), Decimal(str(b))) for a, b in m.bands),
        target_kind=m.target_kind,
        target_value=m.target_value,
        kind=m.kind,
    )


def rules_of(card: Scorecard) -> list[scoring.Rule]:
    return [_rule(m) for m in card.metrics.all()]


@transaction.atomic
def scorecard_save(*, actor: User, values: ScorecardValues, scorecard: Scorecard | None = None) -> Scorecard:
    """Create (``scorecard`` None) or replace a scorecard's definition. Past evaluations keep the
    definition they ran with (frozen on the evaluation)."""
    if not policies.may_manage(actor):
        raise _denied()
    name = values.name.strip()
    if not name:
        raise _invalid("name", _("This field is required."), "required")
    if not values.role_ids and not values.team_ids:
        raise _invalid("roles", _("Choose the roles or teams the scorecard applies to."), "required")
    check_rules(values.rules)
    roles = list(Role.objects.filter(pk__in=list(values.role_ids)))
    teams = list(Team.objects.filter(pk__in=list(values.team_ids), is_active=True))
    if len(roles) != len(set(values.role_ids)) or len(teams) != len(set(values.team_ids)):
        raise _invalid("roles", _("Select a valid choice."))
    before = _snapshot(scorecard) if scorecard else None
    if scorecard is None:
        scorecard = Scorecard(created_at=timezone.now())
    scorecard.name = name[:120]
    scorecard.description = values.description.strip()
    scorecard.period_kind = values.period_kind
    scorecard.is_active = values.is_active
    scorecard.updated_at = timezone.now()
    scorecard.save()
    scorecard.roles.set(roles)
    scorecard.teams.set(teams)
    ScorecardMetric.objects.filter(scorecard=scorecard).delete()
    ScorecardMetric.objects.bulk_create(
        [
            ScorecardMetric(
                scorecard=scorecard,
                code=r.code,
                position=i,
                weight=r.weight,
                direction=r.direction,
                curve=r.curve,
                cap=r.cap,
                threshold=r.threshold,
                bands=[[str(a), str(b)] for a, b in r.bands],
                target_kind=r.target_kind,
                target_value=r.target_value,
                kind=r.kind,
            )
            for i, r in enumerate(values.rules)
        ]
    )
    after = _snapshot(scorecard)
    if before is None:
        audit.record_created(actor=actor, obj=scorecard, values=after)
    else:
        audit.record_changes(actor=actor, obj=scorecard, before=before, after=after)
    return scorecard


# ---- running ---------------------------------------------------------------------------------------


def reps_for(card: Scorecard) -> list[User]:
    """Active users the scorecard applies to: in one of its roles (if any) and in the subtree of one
    of its teams (if any)."""
    qs = User.objects.filter(is_active=True).select_related("team")
    role_ids = list(card.roles.values_list("pk", flat=True))
    if role_ids:
        qs = qs.filter(role_id__in=role_ids)
    paths = list(card.teams.values_list("path", flat=True))
    if paths:
        condition = Q(pk__in=[])
        for path in paths:
            condition |= Q(team__path__startswith=path)
        qs = qs.filter(condition)
    return list(qs.order_by("username"))


def _targets(rules: Sequence[scoring.Rule], period: Period, ids: Sequence[int]) -> dict[str, dict[int, Decimal]]:
    out: dict[str, dict[int, Decimal]] = {}
    for rule in rules:
        if rule.target_kind == "rep":
            out[rule.code] = metrics.rep_targets(metrics.REGISTRY[rule.code], period=period, user_ids=ids)
    return out


def _difficulty(period: Period, ids: Sequence[int]) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    """(signed-amount target, customers' potential for the period) per rep. The potential is the sum of
    the estimated annual potential of the live customers the rep owns, prorated to the period's months."""
    targets = rep_target_amounts(measure=Measure.SIGNED_AMOUNT, period=period, user_ids=ids)
    share = Decimal(len(period.months())) / Decimal(12)
    potential = {
        owner: (Decimal(str(total)) * share).quantize(TWO, ROUND_HALF_UP)
        for owner, total in Customer.objects.filter(owner_id__in=list(ids), deleted_at__isnull=True)
        .order_by()
        .values("owner_id")
        .annotate(total=Sum("estimated_annual_potential"))
        .values_list("owner_id", "total")
        if total
    }
    return targets, potential


def _line(rule: scoring.Rule, score: scoring.MetricScore) -> dict[str, Any]:
    return {
        "code": rule.code,
        "kind": rule.kind,
        "weight": str(rule.weight),
        "curve": rule.curve,
        "cap": str(rule.cap) if rule.curve == "linear" else None,
        "threshold": str(rule.threshold) if rule.curve == "threshold" else None,
        "raw": None if score.raw is None else str(score.raw),
        "target": None if score.target is None else str(score.target),
        "achievement": None if score.achievement is None else str(score.achievement),
        "points": str(score.points),
        "status": score.status,
        "adjusted": None,
    }


@transaction.atomic
def evaluation_run(*, actor: User, scorecard: Scorecard, period: Period, today: dt.date | None = None) -> Evaluation:
    """Compute and freeze every rep's values, points, total and rank for ``period``. Running a period
    again replaces its draft; an evaluation past the draft is refused (``not_draft``, ``locked``)."""
    if not policies.may_manage(actor):
        raise _denied()
    if period.kind != scorecard.period_kind:
        raise _invalid(
            "period", _("This scorecard is evaluated per %(kind)s.") % {"kind": scorecard.get_period_kind_display()}
        )
    today = today or timezone.localdate()
    if period.start > today:
        raise _invalid("period", _("The period has not begun yet."))
    rules = rules_of(scorecard)
    check_rules(rules)
    existing = (
        Evaluation.objects.select_for_update()
        .filter(scorecard=scorecard, period_start=period.start, period_end=period.end)
        .first()
    )
    if existing is not None and existing.status == EvaluationStatus.LOCKED:
        raise Conflict("locked", _("This evaluation is locked: it never changes again."))
    if existing is not None and existing.status != EvaluationStatus.DRAFT:
        raise Conflict("not_draft", _("Only a draft can be run again."))
    reps = reps_for(scorecard)
    ids = [u.pk for u in reps]
    values = metrics.compute_all([r.code for r in rules], period=period, user_ids=ids, today=today)
    targets = _targets(rules, period, ids)
    signed_targets, potential = _difficulty(period, ids)
    definition = {
        "name": scorecard.name,
        "period": period.code,
        "metrics": [r.as_json() for r in rules],
        "rounding": "ROUND_HALF_UP",
    }
    if existing is None:
        evaluation = Evaluation.objects.create(
            scorecard=scorecard,
            period_kind=period.kind,
            period_start=period.start,
            period_end=period.end,
            definition=definition,
            run_by=actor,
            run_at=timezone.now(),
        )
    else:
        evaluation = existing
        evaluation.entries.all().delete()
        evaluation.definition = definition
        evaluation.run_by = actor
        evaluation.run_at = timezone.now()
        evaluation.save(update_fields=["definition", "run_by", "run_at"])
    results = []
    for rep in reps:
        raws = {r.code: values[r.code].get(rep.pk) for r in rules}
        rep_targets = {r.code: scoring.target_for(r, targets.get(r.code, {}).get(rep.pk)) for r in rules}
        results.append((rep, scoring.score_rep(rep.pk, rules, raws, rep_targets)))
    ranks = scoring.competition_ranks((rep.pk, res.total) for rep, res in results)
    rows = []
    for rep, res in results:
        signed = signed_targets.get(rep.pk)
        pot = potential.get(rep.pk)
        rows.append(
            EvaluationEntry(
                evaluation=evaluation,
                user=rep,
                team_id=rep.team_id,
                total=res.total,
                rank=ranks[rep.pk],
                breakdown={
                    "metrics": [_line(rule, s) for rule, s in zip(rules, res.scores, strict=True)],
                    "signed_target": None if signed is None else str(signed),
                    "potential": None if pot is None else str(pot),
                    "difficulty": str((signed / pot).quantize(FOUR, ROUND_HALF_UP)) if signed and pot else None,
                },
            )
        )
    EvaluationEntry.objects.bulk_create(rows, batch_size=500)
    audit.record_event(
        actor=actor,
        event="evaluation_run",
        obj=evaluation,
        details={"period": period.code, "reps": len(rows), "rerun": existing is not None},
    )
    return evaluation


# ---- review ----------------------------------------------------------------------------------------

NEXT = {
    EvaluationStatus.DRAFT: EvaluationStatus.IN_REVIEW,
    EvaluationStatus.IN_REVIEW: EvaluationStatus.PUBLISHED,
    EvaluationStatus.PUBLISHED: EvaluationStatus.LOCKED,
}


def _locked_evaluation(evaluation_id: int) -> Evaluation:
    return Evaluation.objects.select_for_update().get(pk=evaluation_id)


@transaction.atomic
def evaluation_advance(*, actor: User, evaluation: Evaluation, to: str) -> Evaluation:
    """Move an evaluation one step: to ``in_review``, ``published`` (reps are notified) or ``locked``."""
    if not policies.may_manage(actor):
        raise _denied()
    current = _locked_evaluation(evaluation.pk)
    if current.status == EvaluationStatus.LOCKED:
        raise Conflict("locked", _("This evaluation is locked: it never changes again."))
    if NEXT.get(EvaluationStatus(current.status)) != to:
        raise Conflict("invalid_step", _("The evaluation cannot go to that status from where it is."))
    before = current.status
    current.status = to
    fields = ["status"]
    if to == EvaluationStatus.LOCKED:
        current.locked_at = timezone.now()
        fields.append("locked_at")
    current.save(update_fields=fields)
    audit.record_changes(actor=actor, obj=current, before={"status": before}, after={"status": to})
    if to == EvaluationStatus.PUBLISHED:
        for entry in current.entries.select_related("user").filter(user__is_active=True):
            params: dict[str, Any] = {
                "scorecard": current.scorecard.name,
                "period": current.period.code,
                "total": str(entry.total),
                "rank": entry.rank,
            }
            notification_create(
                recipient=entry.user,
                kind=NotificationKind.EVALUATION_PUBLISHED,
                params=params,
                url=reverse("scorecards:entry", kwargs={"entry_id": entry.pk}),
            )
    evaluation.status, evaluation.locked_at = current.status, current.locked_at
    return current


def _reviewable(actor: User, entry: EvaluationEntry) -> Evaluation:
    if not policies.may_review_entry(actor, entry):
        raise _denied()
    current = _locked_evaluation(entry.evaluation_id)
    if current.status == EvaluationStatus.LOCKED:
        raise Conflict("locked", _("This evaluation is locked: it never changes again."))
    if current.status != EvaluationStatus.IN_REVIEW:
        raise Conflict("not_in_review", _("Comments and adjustments are made while the evaluation is in review."))
    return current


@transaction.atomic
def entry_comment(*, actor: User, entry: EvaluationEntry, text: str) -> EvaluationComment:
    _reviewable(actor, entry)
    text = text.strip()
    if not text:
        raise _invalid("text", _("This field is required."), "required")
    comment = EvaluationComment.objects.create(entry=entry, author=actor, text=text[:2000])
    audit.record_event(actor=actor, event="evaluation_comment", obj=entry, details={"comment": comment.text})
    return comment


def _rerank(evaluation: Evaluation) -> None:
    rows = list(EvaluationEntry.objects.filter(evaluation=evaluation).only("pk", "total", "rank"))
    ranks = scoring.competition_ranks((e.pk, e.total) for e in rows)
    changed = [e for e in rows if e.rank != ranks[e.pk]]
    for e in changed:
        e.rank = ranks[e.pk]
    EvaluationEntry.objects.bulk_update(changed, ["rank"], batch_size=500)


@transaction.atomic
def entry_adjust(
    *, actor: User, entry: EvaluationEntry, metric: str, points: Decimal | str, reason: str
) -> EvaluationEntry:
    """Set one metric's points on one entry by hand (0 to the metric's weight × its cap), with a reason.
    The total and every rank of the evaluation are recomputed; the original points stay in the breakdown."""
    evaluation = _reviewable(actor, entry)
    reason = reason.strip()
    if not reason:
        raise _invalid("reason", _("Say why the score is adjusted."), "required")
    try:
        new_points = Decimal(str(points)).quantize(TWO, ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        raise _invalid("points", _("Enter a number.")) from None
    fresh = EvaluationEntry.objects.select_for_update().get(pk=entry.pk)
    lines = fresh.breakdown.get("metrics", [])
    line = next((x for x in lines if x["code"] == metric), None)
    if line is None:
        raise _invalid("metric", _("Select a valid choice."))
    weight = Decimal(line["weight"])
    ceiling = weight * Decimal(line.get("cap") or 100) / 100 if line.get("curve") == "linear" else weight
    if new_points < 0 or new_points > ceiling.quantize(TWO, ROUND_HALF_UP):
        raise _invalid(
            "points",
            _("Points must be between 0 and %(max)s.") % {"max": ceiling.quantize(TWO, ROUND_HALF_UP)},
        )
    old = Decimal(line["adjusted"]["points"] if line.get("adjusted") else line["points"])
    line["adjusted"] = {
        "points": str(new_points),
        "reason": reason[:500],
        "by": actor.pk,
        "by_name": actor.display_name,
        "at": timezone.now().isoformat(),
    }
    fresh.total = sum(
        (Decimal(x["adjusted"]["points"] if x.get("adjusted") else x["points"]) for x in lines), Decimal("0.00")
    )
    fresh.save(update_fields=["breakdown", "total"])
    EvaluationAdjustment.objects.create(
        entry=fresh, metric=metric, old_points=old, new_points=new_points, reason=reason[:500], by=actor
    )
    audit.record_event(
        actor=actor,
        event="evaluation_adjust",
        obj=fresh,
        field=metric,
        old_value=str(old),
        new_value={"points": str(new_points), "reason": reason[:500]},
    )
    _rerank(evaluation)
    fresh.refresh_from_db()
    return fresh


@transaction.atomic
def entry_acknowledge(*, actor: User, entry: EvaluationEntry) -> EvaluationEntry:
    """The rep confirms having read their published entry (once)."""
    if not policies.may_acknowledge(actor, entry):
        raise _denied()
    current = _locked_evaluation(entry.evaluation_id)
    if current.status != EvaluationStatus.PUBLISHED:
        raise Conflict("not_published", _("Only a published evaluation can be acknowledged."))
    fresh = EvaluationEntry.objects.select_for_update().get(pk=entry.pk)
    if fresh.acknowledged_at is None:
        fresh.acknowledged_at = timezone.now()
        fresh.save(update_fields=["acknowledged_at"])
        audit.record_event(actor=actor, event="evaluation_acknowledged", obj=fresh)
    return fresh


# ---- what-if ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WhatIfRow:
    user_id: int
    name: str
    published_total: Decimal
    published_rank: int
    total: Decimal
    rank: int

    @property
    def move(self) -> int:
        """Places gained (positive) or lost (negative)."""
        return self.published_rank - self.rank

    @property
    def move_down(self) -> int:
        return -self.move


def evaluation_what_if(*, actor: User, evaluation: Evaluation, rules: Sequence[scoring.Rule]) -> list[WhatIfRow]:
    """Re-score the evaluation's frozen raw values and targets with other weights and curves; nothing
    is saved. The metrics must be the evaluation's own (their values are what was frozen)."""
    if not policies.may_manage(actor):
        raise _denied()
    check_rules(rules)
    frozen = {m["code"] for m in evaluation.definition.get("metrics", [])}
    if any(r.code not in frozen for r in rules):
        raise _invalid("metrics", _("A what-if can only reweigh the metrics the evaluation ran with."))
    entries = list(evaluation.entries.select_related("user").order_by("rank", "user__username"))
    results = []
    for entry in entries:
        lines = {x["code"]: x for x in entry.breakdown.get("metrics", [])}
        raws = {c: None if x["raw"] is None else Decimal(x["raw"]) for c, x in lines.items()}
        targets = {c: None if x["target"] is None else Decimal(x["target"]) for c, x in lines.items()}
        results.append((entry, scoring.score_rep(entry.user_id, rules, raws, targets)))
    ranks = scoring.competition_ranks((e.pk, r.total) for e, r in results)
    rows = [WhatIfRow(e.user_id, e.user.display_name, e.total, e.rank, r.total, ranks[e.pk]) for e, r in results]
    return sorted(rows, key=lambda r: (r.rank, r.name))
