# No `from __future__ import annotations`: @paginate wraps the list views (see users.py).
"""The API for scorecards and evaluations: the same selectors, services and visibility as the UI."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status

from bridgecrm.api.pagination import Pagination
from bridgecrm.api.schemas import NO_NUL, ErrorOut, Id
from bridgecrm.core.errors import ApplicationError, PermissionDenied
from bridgecrm.core.periods import Period
from bridgecrm.scorecards import policies, selectors, services
from bridgecrm.scorecards.models import Evaluation, EvaluationEntry, EvaluationStatus
from bridgecrm.users.models import User

router = Router(tags=["scorecards"])
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {400: ErrorOut, 409: ErrorOut, **ERRORS}


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


# ---- schemas -------------------------------------------------------------------------------------


class MetricRuleOut(Schema):
    code: str
    label: str
    weight: Decimal = Field(description="percent of 100")
    direction: str
    curve: str = Field(description="linear, threshold or bands")
    cap: Decimal = Field(description="linear: achievement % at which points stop growing")
    threshold: Decimal = Field(description="threshold: achievement % for all the points")
    bands: list[list[Decimal]] = Field(description="bands: [from achievement %, points % of the weight]")
    target_kind: str = Field(description="fixed, or rep (the rep's own target of the metric's measure)")
    target_value: Decimal | None
    kind: str = Field(description="result or process")


class ScorecardOut(Schema):
    id: int
    name: str
    description: str
    period_kind: str
    is_active: bool
    role_ids: list[int]
    team_ids: list[int]
    metrics: list[MetricRuleOut]

    @staticmethod
    def resolve_role_ids(obj: Any) -> list[int]:
        return obj["role_ids"] if isinstance(obj, dict) else [r.pk for r in obj.roles.all()]

    @staticmethod
    def resolve_team_ids(obj: Any) -> list[int]:
        return obj["team_ids"] if isinstance(obj, dict) else [t.pk for t in obj.teams.all()]

    @staticmethod
    def resolve_metrics(obj: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = obj["metrics"] if isinstance(obj, dict) else _scorecard(obj)["metrics"]
        return found


class MetricOut(Schema):
    code: str
    label: str
    unit: str = Field(description="money (base currency), ratio (0–1) or count")
    direction: str
    kind: str
    available: bool
    unavailable_reason: str


class EvaluationOut(Schema):
    id: int
    scorecard_id: int
    scorecard_name: str
    period: str
    period_start: dt.date
    period_end: dt.date
    status: str
    run_at: dt.datetime
    locked_at: dt.datetime | None

    @staticmethod
    def resolve_scorecard_name(obj: Any) -> str:
        return str(obj["scorecard_name"] if isinstance(obj, dict) else obj.scorecard.name)

    @staticmethod
    def resolve_period(obj: Any) -> str:
        return str(obj["period"] if isinstance(obj, dict) else obj.period.code)


class EntryLineOut(Schema):
    code: str
    label: str
    raw: Decimal | None
    target: Decimal | None
    achievement: Decimal | None = Field(description="a share: 0.8 is 80 %")
    points: Decimal = Field(description="effective points (after an adjustment)")
    computed_points: Decimal
    weight: Decimal
    status: str = Field(description="ok, no_data or no_target")
    adjusted_reason: str | None
    explanation: str


class EntryOut(Schema):
    id: int
    evaluation_id: int
    user_id: int
    user_name: str
    team_id: int | None
    total: Decimal
    rank: int
    acknowledged_at: dt.datetime | None
    target_difficulty: Decimal | None = Field(
        description="the rep's signed-amount target ÷ their customers' estimated potential for the period"
    )
    lines: list[EntryLineOut]


class EvaluationDetailOut(EvaluationOut):
    entries: list[EntryOut]


class EntryCommentIn(Schema):
    text: str = Field(min_length=1, max_length=2000, pattern=NO_NUL)


class EntryCommentOut(Schema):
    id: int
    entry_id: int
    author_id: int
    text: str
    created_at: dt.datetime


class EntryAdjustIn(Schema):
    metric: str = Field(max_length=40, pattern=NO_NUL)
    points: Decimal = Field(ge=0, max_digits=7, decimal_places=2)
    reason: str = Field(min_length=1, max_length=500, pattern=NO_NUL)


class RunIn(Schema):
    period: str = Field(pattern=r"^[0-9]{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$", description="2026, 2026-Q3 or 2026-07")


class EntrySummaryOut(Schema):
    id: int
    evaluation_id: int
    scorecard_name: str
    period: str
    status: str
    user_id: int
    total: Decimal
    rank: int
    acknowledged_at: dt.datetime | None

    @staticmethod
    def resolve_scorecard_name(obj: Any) -> str:
        return str(obj.evaluation.scorecard.name)

    @staticmethod
    def resolve_period(obj: Any) -> str:
        return str(obj.evaluation.period.code)

    @staticmethod
    def resolve_status(obj: Any) -> str:
        return str(obj.evaluation.status)


class AdvanceIn(Schema):
    to: EvaluationStatus = Field(description="the next status: in_review, published or locked")


def _evaluation(e: Evaluation) -> dict[str, Any]:
    return {
        "id": e.pk,
        "scorecard_id": e.scorecard_id,
        "scorecard_name": e.scorecard.name,
        "period": e.period.code,
        "period_start": e.period_start,
        "period_end": e.period_end,
        "status": e.status,
        "run_at": e.run_at,
        "locked_at": e.locked_at,
    }


def _dec(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def _entry(e: EvaluationEntry) -> dict[str, Any]:
    lines = []
    for x in e.breakdown.get("metrics", []):
        adjusted = x.get("adjusted") or {}
        lines.append(
            {
                "code": x["code"],
                "label": selectors.metric_label(x["code"]),
                "raw": _dec(x["raw"]),
                "target": _dec(x["target"]),
                "achievement": _dec(x["achievement"]),
                "points": Decimal(adjusted.get("points") or x["points"]),
                "computed_points": Decimal(x["points"]),
                "weight": Decimal(x["weight"]),
                "status": x["status"],
                "adjusted_reason": adjusted.get("reason"),
                "explanation": selectors.explain(x),
            }
        )
    return {
        "id": e.pk,
        "evaluation_id": e.evaluation_id,
        "user_id": e.user_id,
        "user_name": e.user.display_name,
        "team_id": e.team_id,
        "total": e.total,
        "rank": e.rank,
        "acknowledged_at": e.acknowledged_at,
        "target_difficulty": selectors.difficulty(e),
        "lines": lines,
    }


def _scorecard(card: Any) -> dict[str, Any]:
    return {
        "id": card.pk,
        "name": card.name,
        "description": card.description,
        "period_kind": card.period_kind,
        "is_active": card.is_active,
        "role_ids": [r.pk for r in card.roles.all()],
        "team_ids": [t.pk for t in card.teams.all()],
        "metrics": [
            {
                "code": m.code,
                "label": selectors.metric_label(m.code),
                "weight": m.weight,
                "direction": m.direction,
                "curve": m.curve,
                "cap": m.cap,
                "threshold": m.threshold,
                "bands": [[Decimal(str(a)), Decimal(str(b))] for a, b in m.bands],
                "target_kind": m.target_kind,
                "target_value": m.target_value,
                "kind": m.kind,
            }
            for m in card.metrics.all()
        ],
    }


# ---- operations ----------------------------------------------------------------------------------


@router.get("/scorecards/metrics", response={200: list[MetricOut], **ERRORS}, summary="The metrics a scorecard can use")
def metric_registry(request: HttpRequest) -> list[dict[str, Any]]:
    from bridgecrm.scorecards.metrics import REGISTRY

    return [
        {
            "code": m.code,
            "label": str(m.label),
            "unit": m.unit,
            "direction": m.direction,
            "kind": m.kind,
            "available": m.available,
            "unavailable_reason": str(m.unavailable or ""),
        }
        for m in REGISTRY.values()
    ]


@router.get("/scorecards", response={200: list[ScorecardOut], **ERRORS}, summary="Scorecards and their metrics")
@paginate(Pagination)
def scorecard_list(request: HttpRequest) -> Any:
    return (
        selectors.scorecards(actor=_actor(request)).prefetch_related("metrics", "roles", "teams").order_by("name", "pk")
    )


@router.get("/scorecards/{scorecard_id}", response={200: ScorecardOut, **ERRORS}, summary="One scorecard")
def scorecard_detail(request: HttpRequest, scorecard_id: Id) -> dict[str, Any]:
    return _scorecard(selectors.scorecard(actor=_actor(request), scorecard_id=scorecard_id))


@router.post(
    "/scorecards/{scorecard_id}/evaluations",
    response={201: EvaluationOut, **WRITE_ERRORS},
    summary="Run the scorecard for a period (a draft; running it again replaces the draft)",
)
def evaluation_run(request: HttpRequest, scorecard_id: Id, payload: RunIn) -> Status[Any]:
    actor = _actor(request)
    if not policies.may_manage(actor):
        raise PermissionDenied("forbidden", _("You do not have permission to do this."))
    card = selectors.scorecard(actor=actor, scorecard_id=scorecard_id)
    try:
        period = Period.parse(payload.period)
    except ValueError:
        raise ApplicationError("invalid", _("Choose a period."), details={"period": ["invalid"]}) from None
    evaluation = services.evaluation_run(actor=actor, scorecard=card, period=period)
    return Status(201, _evaluation(evaluation))


@router.get(
    "/evaluation-entries",
    response={200: list[EntrySummaryOut], **ERRORS},
    summary="Entries you may see, newest period first; ?user_id= for one rep's history",
)
@paginate(Pagination)
def entry_list(request: HttpRequest, user_id: Id | None = None) -> Any:
    qs = selectors.entries(actor=_actor(request)).select_related("evaluation__scorecard")
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    return qs.order_by("-evaluation__period_start", "evaluation__scorecard_id", "rank", "pk")


@router.get(
    "/evaluations",
    response={200: list[EvaluationOut], **ERRORS},
    summary="Evaluations with an entry you may see (all for scorecard managers), newest period first",
)
@paginate(Pagination)
def evaluation_list(request: HttpRequest) -> Any:
    return selectors.evaluations(actor=_actor(request)).order_by("-period_start", "scorecard_id", "pk")


def _detail(actor: User, evaluation_id: int) -> dict[str, Any]:
    evaluation = selectors.evaluation(actor=actor, evaluation_id=evaluation_id)
    entries = selectors.evaluation_entries(actor=actor, evaluation=evaluation)
    return {**_evaluation(evaluation), "entries": [_entry(e) for e in entries]}


@router.get(
    "/evaluations/{evaluation_id}",
    response={200: EvaluationDetailOut, **ERRORS},
    summary="One evaluation with the entries you may see and every point explained",
)
def evaluation_detail(request: HttpRequest, evaluation_id: Id) -> dict[str, Any]:
    return _detail(_actor(request), evaluation_id)


@router.post(
    "/evaluations/{evaluation_id}/advance",
    response={200: EvaluationOut, **WRITE_ERRORS},
    summary="Move an evaluation one step: in_review, published (reps are notified), locked",
)
def evaluation_advance(request: HttpRequest, evaluation_id: Id, payload: AdvanceIn) -> dict[str, Any]:
    actor = _actor(request)
    evaluation = selectors.evaluation(actor=actor, evaluation_id=evaluation_id)
    return _evaluation(services.evaluation_advance(actor=actor, evaluation=evaluation, to=payload.to))


@router.get(
    "/evaluation-entries/{entry_id}",
    response={200: EntryOut, **ERRORS},
    summary="One entry (yours once published; your team's from review on)",
)
def entry_detail(request: HttpRequest, entry_id: Id) -> dict[str, Any]:
    return _entry(selectors.entry(actor=_actor(request), entry_id=entry_id))


@router.post(
    "/evaluation-entries/{entry_id}/comments",
    response={201: EntryCommentOut, **WRITE_ERRORS},
    summary="Comment on an entry while the evaluation is in review",
)
def entry_comment(request: HttpRequest, entry_id: Id, payload: EntryCommentIn) -> Status[Any]:
    actor = _actor(request)
    comment = services.entry_comment(
        actor=actor, entry=selectors.entry(actor=actor, entry_id=entry_id), text=payload.text
    )
    return Status(201, comment)


@router.post(
    "/evaluation-entries/{entry_id}/adjustments",
    response={200: EntryOut, **WRITE_ERRORS},
    summary="Set one metric's points by hand, with a reason; total and ranks are recomputed",
)
def entry_adjust(request: HttpRequest, entry_id: Id, payload: EntryAdjustIn) -> dict[str, Any]:
    actor = _actor(request)
    entry = services.entry_adjust(
        actor=actor,
        entry=selectors.entry(actor=actor, entry_id=entry_id),
        metric=payload.metric,
        points=payload.points,
        reason=payload.reason,
    )
    return _entry(selectors.entry(actor=actor, entry_id=entry.pk))


@router.post(
    "/evaluation-entries/{entry_id}/acknowledge",
    response={200: EntryOut, **WRITE_ERRORS},
    summary="Acknowledge your own published entry",
)
def entry_acknowledge(request: HttpRequest, entry_id: Id) -> dict[str, Any]:
    actor = _actor(request)
    entry = services.entry_acknowledge(actor=actor, entry=selectors.entry(actor=actor, entry_id=entry_id))
    return _entry(selectors.entry(actor=actor, entry_id=entry.pk))
