# No `from __future__ import annotations`: @paginate wraps the list views (see users.py).
"""The API for targets and sales plans: the same selectors, services and visibility as the pages."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status
from pydantic import StrictBool

from bridgecrm.api.pagination import Pagination
from bridgecrm.api.references import bad_reference
from bridgecrm.api.schemas import NO_NUL, BodyId, ErrorOut, Id
from bridgecrm.core import dates
from bridgecrm.core.errors import ApplicationError
from bridgecrm.core.periods import Period, PeriodKind
from bridgecrm.targets import measures, selectors, services
from bridgecrm.targets.models import PlanPhase, SalesPlan, Target
from bridgecrm.users.models import Team, User

router = Router(tags=["targets"])
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {400: ErrorOut, **ERRORS}
PERIOD = r"^[0-9]{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$"
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _period(code: str) -> Period:
    try:
        return Period.parse(code)
    except ValueError:
        raise ApplicationError(
            "invalid", _("Enter a period as 2026, 2026-Q3 or 2026-07."), details={"period": ["invalid"]}
        ) from None


def _measure_enum(schema: dict[str, Any]) -> None:
    """The measure's enum in the OpenAPI document: the registry's codes when the document is built
    (scorecard metrics included). The services check the value, with translated errors."""
    schema["enum"] = measures.codes()


def _measure_enum_or_empty(schema: dict[str, Any]) -> None:
    schema["enum"] = ["", *measures.codes()]


MEASURE_HELP = (
    "a measure code (GET /api/v1/targets/measures): sums (money in the base currency, counts) or rates "
    "and averages; rates are in percent"
)

# ---- schemas -------------------------------------------------------------------------------------


class TargetOut(Schema):
    id: int
    measure: str = Field(description=MEASURE_HELP, json_schema_extra=_measure_enum)
    unit: str = Field(description="money, count or ratio (in percent)")
    period: str = Field(description="2026, 2026-Q3 or 2026-07")
    period_start: dt.date
    period_end: dt.date
    scope: str = Field(description="company, team or rep")
    team_id: int | None
    user_id: int | None
    product_category: str
    parent_id: int | None
    amount: Decimal = Field(description="money to the cent, counts in whole units, rates in percent (35.50 is 35.5 %)")
    method: str = Field(description="equal, weights, last_year_share, seasonality, same (rates and averages), manual")

    @staticmethod
    def resolve_period(obj: Target) -> str:
        return obj.period.code


class TargetFilters(Schema):
    measure: str = Field("", pattern=NO_NUL, max_length=40, json_schema_extra=_measure_enum_or_empty)
    period: str = Field("", pattern=r"^$|" + PERIOD)
    scope: str = Field("", pattern=r"^(|company|team|rep)$")
    user_id: Id | None = None


class TargetIn(Schema):
    measure: str = Field(pattern=NO_NUL, max_length=40, description=MEASURE_HELP, json_schema_extra=_measure_enum)
    period: str = Field(pattern=PERIOD)
    scope: str = Field(pattern=r"^(company|team|rep)$")
    team_id: BodyId | None = None
    user_id: BodyId | None = None
    product_category: str = Field("", max_length=16, pattern=NO_NUL)
    amount: Decimal = Field(
        ge=0, max_digits=18, decimal_places=2, description="money to the cent, counts whole, rates in percent (0–100)"
    )


class AdjustIn(Schema):
    amount: Decimal = Field(ge=0, max_digits=18, decimal_places=2)


class DecomposeIn(Schema):
    dimension: str = Field("scope", pattern=r"^(scope|months|quarters)$")
    method: str = Field(
        "equal",
        pattern=r"^(equal|weights|last_year_share|seasonality|same)$",
        description="sums: equal, weights, last_year_share, seasonality; rates and averages: same (copied)",
    )
    weights: dict[str, Decimal] = Field(
        default_factory=dict, description='for "weights": unit key ("team:4", "rep:17", "period:2026-03") → weight'
    )
    preview: StrictBool = Field(False, description="compute without saving")


class PartOut(Schema):
    key: str
    label: str
    weight: Decimal
    amount: Decimal
    current: Decimal | None


class DecomposeOut(Schema):
    parent_id: int
    dimension: str
    method: str
    fell_back_to_equal: bool = Field(description="last year had no data: an equal split was used")
    saved: bool
    parts: list[PartOut]
    total: Decimal | None = Field(description="the parts' sum; null for rates and averages (copied, not split)")


class MismatchOut(Schema):
    parent_amount: Decimal
    children_sum: Decimal
    difference: Decimal


class ProgressRowOut(Schema):
    kind: str = Field(description="company, team or rep")
    id: int = Field(description="the team's or rep's id; 0 for the company")
    label: str
    depth: int
    target_id: int | None
    target: Decimal | None
    actual: Decimal | None = Field(description="null: no data (a rate with nothing to divide)")
    percent: Decimal | None = Field(description="actual ÷ target, in %")
    projection: Decimal | None = Field(description="run rate; null for rates and averages (not applicable)")
    status: str = Field(description="on_track, at_risk, behind, not_started, no_data; empty without a target")
    weighted_pipeline: Decimal
    coverage: Decimal | None
    mismatch: MismatchOut | None = Field(description="the teams or reps do not add up to this target")
    time_mismatch: MismatchOut | None = Field(description="the months or quarters do not add up")


class ProgressOut(Schema):
    measure: str
    unit: str = Field(description="money, count or ratio (in percent)")
    additive: bool = Field(description="false: a rate or an average (no projection, coverage or sums of children)")
    direction: str = Field(description="higher or lower is better")
    period: str
    today: dt.date
    elapsed_days: int
    rows: list[ProgressRowOut]


class ProgressQuery(Schema):
    measure: str = Field("signed_amount", pattern=NO_NUL, max_length=40, json_schema_extra=_measure_enum)
    period: str = Field("", pattern=r"^$|" + PERIOD)
    product_category: str = Field("", max_length=16, pattern=NO_NUL)


class PhaseOut(Schema):
    id: int
    order: int
    name: str
    starts_on: dt.date
    ends_on: dt.date


class MilestoneOut(Schema):
    id: int
    plan_id: int
    phase_id: int | None
    title: str
    due_on: dt.date
    owner_id: int
    status: str
    done_on: dt.date | None
    target_ids: list[int]
    customer_ids: list[int]

    @staticmethod
    def resolve_target_ids(obj: Any) -> list[int]:
        return [t.pk for t in obj.targets.all()]

    @staticmethod
    def resolve_customer_ids(obj: Any) -> list[int]:
        return [c.pk for c in obj.customers.all()]


class PlanOut(Schema):
    id: int
    name: str
    period: str
    scope: str
    team_id: int | None
    user_id: int | None
    description: str
    milestones_total: int
    milestones_done: int
    milestones_overdue: int
    progress: Decimal | None = Field(description="done ÷ milestones (cancelled ones left out), in %")


class PlanDetailOut(PlanOut):
    phases: list[PhaseOut]
    milestones: list[MilestoneOut]


class PlanIn(Schema):
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    period: str = Field(pattern=PERIOD)
    scope: str = Field(pattern=r"^(team|rep)$")
    team_id: BodyId | None = None
    user_id: BodyId | None = None
    description: str = Field("", max_length=4000, pattern=NO_NUL)


class PlanPatch(Schema):
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    description: str = Field("", max_length=4000, pattern=NO_NUL)


class PhaseIn(Schema):
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    starts_on: dt.date
    ends_on: dt.date


class MilestoneIn(Schema):
    title: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    due_on: dt.date
    owner_id: BodyId
    phase_id: BodyId | None = None
    target_ids: list[BodyId] = Field(default_factory=list, max_length=50)
    customer_ids: list[BodyId] = Field(default_factory=list, max_length=50)


class MilestoneStatusIn(Schema):
    status: str = Field(pattern=r"^(open|done|cancelled)$")


def _mismatch(m: Any) -> dict[str, Any] | None:
    if m is None:
        return None
    return {"parent_amount": m.parent_amount, "children_sum": m.children_sum, "difference": m.difference}


def _plan(summary: selectors.PlanSummary) -> dict[str, Any]:
    p = summary.plan
    return {
        "id": p.pk,
        "name": p.name,
        "period": p.period.code,
        "scope": p.scope,
        "team_id": p.team_id,
        "user_id": p.user_id,
        "description": p.description,
        "milestones_total": summary.total,
        "milestones_done": summary.done,
        "milestones_overdue": summary.overdue,
        "progress": summary.progress,
    }


def _plan_detail(actor: User, plan_id: int) -> dict[str, Any]:
    plan = selectors.plan_detail(actor=actor, plan_id=plan_id)
    out = _plan(selectors.plan_summary(plan, dates.company_today()))
    out["phases"] = list(plan.phases.all())
    out["milestones"] = list(plan.milestones.all())
    return out


def _team(actor: User, team_id: int | None) -> Team | None:
    if team_id is None:
        return None
    team = Team.objects.visible_to(actor).filter(pk=team_id).first()
    if team is None:
        raise bad_reference("team_id")
    return team


def _user(actor: User, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    user = User.objects.visible_to(actor).select_related("team").filter(pk=user_id).first()
    if user is None:
        raise bad_reference("user_id")
    return user


# ---- targets -------------------------------------------------------------------------------------


@router.get("/targets", response={200: list[TargetOut], 400: ErrorOut, **ERRORS}, summary="Targets one may see")
@paginate(Pagination)
def target_list(request: HttpRequest, filters: Query[TargetFilters]) -> Any:
    if filters.measure and measures.get(filters.measure) is None:
        raise ApplicationError("invalid", _("Select a valid choice."), details={"measure": ["invalid"]})
    return selectors.target_list(
        actor=_actor(request),
        measure=filters.measure,
        period=_period(filters.period) if filters.period else None,
        scope=filters.scope,
        user_id=filters.user_id,
    )


@router.get(
    "/targets/progress",
    response={200: ProgressOut, 400: ErrorOut, **ERRORS},
    summary="Progress of one measure and period: company, teams and reps as far as one may see",
)
def target_progress(request: HttpRequest, query: Query[ProgressQuery]) -> dict[str, Any]:
    services.clean_measure(query.measure)
    period = _period(query.period) if query.period else Period.containing(PeriodKind.YEAR, dates.company_today())
    result = selectors.progress(
        actor=_actor(request), measure=query.measure, period=period, product_category=query.product_category
    )
    return {
        "measure": result.measure,
        "unit": result.unit,
        "additive": result.additive,
        "direction": result.direction,
        "period": result.period.code,
        "today": result.today,
        "elapsed_days": result.elapsed_days,
        "rows": [
            {
                "kind": r.kind,
                "id": r.key,
                "label": r.label,
                "depth": r.depth,
                "target_id": r.target.pk if r.target else None,
                "target": r.amount,
                "actual": r.actual,
                "percent": r.percent,
                "projection": r.projection,
                "status": r.status,
                "weighted_pipeline": r.pipeline,
                "coverage": r.coverage,
                "mismatch": _mismatch(r.mismatch),
                "time_mismatch": _mismatch(r.time_mismatch),
            }
            for r in result.rows
        ],
    }


class MeasureOut(Schema):
    code: str
    label: str
    unit: str = Field(description="money (base currency), count, or ratio (targets in percent)")
    additive: bool = Field(description="sums split on decomposition; rates and averages are copied")
    direction: str = Field(description="higher or lower is better")
    places: int = Field(description="decimals of an amount")
    product_categories: bool = Field(description="a product category may narrow it")
    pipeline_coverage: bool
    description: str
    available: bool
    unavailable_reason: str = Field(description="why it cannot be a target (empty when available)")


@router.get(
    "/targets/measures",
    response={200: list[MeasureOut], **ERRORS},
    summary="The measures a target may be set on (and those that may not, with the reason)",
)
def measure_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "code": m.code,
            "label": str(m.label),
            "unit": m.unit,
            "additive": m.additive,
            "direction": m.direction,
            "places": m.places,
            "product_categories": m.categories,
            "pipeline_coverage": m.pipeline,
            "description": str(m.description),
            "available": m.available,
            "unavailable_reason": str(m.unavailable or ""),
        }
        for m in measures.all_measures()
    ]


@router.get("/targets/{target_id}", response={200: TargetOut, **ERRORS}, summary="A target")
def target_get(request: HttpRequest, target_id: Id) -> Target:
    return selectors.target_for(actor=_actor(request), target_id=target_id)


@router.post("/targets", response={201: TargetOut, **WRITE_ERRORS}, summary="Set a target")
def target_create(request: HttpRequest, payload: TargetIn) -> Status[Target]:
    actor = _actor(request)
    target = services.target_create(
        actor=actor,
        measure=payload.measure,
        period=payload.period,
        scope=payload.scope,
        amount=payload.amount,
        team=_team(actor, payload.team_id),
        user=_user(actor, payload.user_id),
        product_category=payload.product_category,
    )
    return Status(201, target)


@router.patch("/targets/{target_id}", response={200: TargetOut, **WRITE_ERRORS}, summary="Adjust a target by hand")
def target_adjust(request: HttpRequest, target_id: Id, payload: AdjustIn) -> Target:
    actor = _actor(request)
    target = selectors.target_for(actor=actor, target_id=target_id)
    return services.target_adjust(actor=actor, target=target, amount=payload.amount)


@router.delete("/targets/{target_id}", response={204: None, **ERRORS}, summary="Remove a target and its parts")
def target_delete(request: HttpRequest, target_id: Id) -> Status[None]:
    actor = _actor(request)
    services.target_delete(actor=actor, target=selectors.target_for(actor=actor, target_id=target_id))
    return Status(204, None)


@router.post(
    "/targets/{target_id}/decompose",
    response={200: DecomposeOut, **WRITE_ERRORS},
    summary="Split a target among teams, reps, months or quarters (or preview the split)",
)
def target_decompose(request: HttpRequest, target_id: Id, payload: DecomposeIn) -> dict[str, Any]:
    actor = _actor(request)
    target = selectors.target_for(actor=actor, target_id=target_id)
    weights = {k: str(v) for k, v in payload.weights.items()}
    if payload.preview:
        preview = services.decomposition_preview(
            actor=actor, parent=target, dimension=payload.dimension, method=payload.method, weights=weights
        )
    else:
        _children, preview = services.target_decompose(
            actor=actor, parent=target, dimension=payload.dimension, method=payload.method, weights=weights
        )
    return {
        "parent_id": target.pk,
        "dimension": preview.dimension,
        "method": preview.method,
        "fell_back_to_equal": preview.fell_back_to_equal,
        "saved": not payload.preview,
        "parts": [
            {
                "key": line.unit.key,
                "label": line.unit.label,
                "weight": line.weight,
                "amount": line.amount,
                "current": line.current,
            }
            for line in preview.lines
        ],
        "total": preview.total,
    }


# ---- plans ---------------------------------------------------------------------------------------


class PlanListOut(Schema):
    items: list[PlanOut]
    count: int


@router.get(
    "/plans",
    response={200: PlanListOut, **ERRORS},
    summary="Sales plans one may see (newest period first, 500 at most)",
)
def plan_list(request: HttpRequest) -> dict[str, Any]:
    items = [_plan(s) for s in selectors.plan_list(actor=_actor(request))]
    return {"items": items, "count": len(items)}


@router.post("/plans", response={201: PlanDetailOut, **WRITE_ERRORS}, summary="Create a sales plan")
def plan_create(request: HttpRequest, payload: PlanIn) -> Status[dict[str, Any]]:
    actor = _actor(request)
    plan = services.plan_create(
        actor=actor,
        name=payload.name,
        period=payload.period,
        scope=payload.scope,
        team=_team(actor, payload.team_id),
        user=_user(actor, payload.user_id),
        description=payload.description,
    )
    return Status(201, _plan_detail(actor, plan.pk))


@router.get("/plans/{plan_id}", response={200: PlanDetailOut, **ERRORS}, summary="A plan with phases and milestones")
def plan_get(request: HttpRequest, plan_id: Id) -> dict[str, Any]:
    return _plan_detail(_actor(request), plan_id)


@router.patch("/plans/{plan_id}", response={200: PlanDetailOut, **WRITE_ERRORS}, summary="Rename or describe a plan")
def plan_update(request: HttpRequest, plan_id: Id, payload: PlanPatch) -> dict[str, Any]:
    actor = _actor(request)
    plan = selectors.plan_for(actor=actor, plan_id=plan_id)
    services.plan_update(actor=actor, plan=plan, name=payload.name, description=payload.description)
    return _plan_detail(actor, plan_id)


@router.delete("/plans/{plan_id}", response={204: None, **ERRORS}, summary="Remove a plan")
def plan_delete(request: HttpRequest, plan_id: Id) -> Status[None]:
    actor = _actor(request)
    services.plan_delete(actor=actor, plan=selectors.plan_for(actor=actor, plan_id=plan_id))
    return Status(204, None)


@router.post("/plans/{plan_id}/phases", response={201: PhaseOut, **WRITE_ERRORS}, summary="Add a phase")
def phase_add(request: HttpRequest, plan_id: Id, payload: PhaseIn) -> Status[PlanPhase]:
    actor = _actor(request)
    plan: SalesPlan = selectors.plan_for(actor=actor, plan_id=plan_id)
    phase = services.phase_add(
        actor=actor, plan=plan, name=payload.name, starts_on=payload.starts_on, ends_on=payload.ends_on
    )
    return Status(201, phase)


@router.post("/plans/{plan_id}/milestones", response={201: MilestoneOut, **WRITE_ERRORS}, summary="Add a milestone")
def milestone_add(request: HttpRequest, plan_id: Id, payload: MilestoneIn) -> Status[Any]:
    actor = _actor(request)
    plan = selectors.plan_for(actor=actor, plan_id=plan_id)
    owner = _user(actor, payload.owner_id)
    assert owner is not None
    phase = None
    if payload.phase_id is not None:
        phase = PlanPhase.objects.filter(plan=plan, pk=payload.phase_id).first()
        if phase is None:
            raise bad_reference("phase_id")
    milestone = services.milestone_add(
        actor=actor,
        plan=plan,
        title=payload.title,
        due_on=payload.due_on,
        owner=owner,
        phase=phase,
        target_ids=payload.target_ids,
        customer_ids=payload.customer_ids,
    )
    return Status(201, milestone)


@router.put(
    "/milestones/{milestone_id}/status",
    response={200: MilestoneOut, **WRITE_ERRORS},
    summary="Mark a milestone done, cancelled or open",
)
def milestone_status(request: HttpRequest, milestone_id: Id, payload: MilestoneStatusIn) -> Any:
    actor = _actor(request)
    milestone = selectors.milestone_for(actor=actor, milestone_id=milestone_id)
    return services.milestone_set_status(actor=actor, milestone=milestone, status=payload.status)
