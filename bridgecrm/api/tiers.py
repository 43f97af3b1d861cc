# No `from __future__ import annotations`: @paginate wraps the list views (see users.py).
"""The API for tiers and follow-up routines: the same selectors and services as the UI."""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from bridgecrm.api.pagination import Pagination
from bridgecrm.api.schemas import NO_NUL, ErrorOut, Id
from bridgecrm.core.errors import ApplicationError, NotFound
from bridgecrm.customers.models import Customer
from bridgecrm.tiers import selectors, services
from bridgecrm.users.models import User

router = Router(tags=["tiers"])
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {400: ErrorOut, **ERRORS}
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


# ---- schemas -------------------------------------------------------------------------------------


class TierOut(Schema):
    code: str
    label_en: str
    label_zh: str
    position: int
    follow_up_every_days: int | None
    min_visits: int
    visit_period: str
    counted_kinds: list[str] = Field(description="follow-up kinds that count; empty: every kind")


class TierModelOut(Schema):
    version: int
    updated_at: dt.datetime
    weight_payments: float
    weight_won: float
    weight_frequency: float
    weight_recency: float
    payments_full: float
    won_full: float
    frequency_full: int
    recency_days: int
    weight_potential: float
    weight_size: float
    weight_industry: float
    potential_full: float
    size_points: dict[str, float]
    industry_points: dict[str, float]
    custom_factors: list[dict[str, Any]]
    value_high: float
    value_medium: float
    potential_high: float
    potential_medium: float
    grid: dict[str, dict[str, str]] = Field(description="value band → potential band → tier code")
    tiers: list[TierOut]


class ScoresOut(Schema):
    value: float
    potential: float
    value_band: str
    potential_band: str
    tier: str = Field(description="the tier the scores give (a manual tier may differ)")
    parts: dict[str, float]


class RoutineOut(Schema):
    due_on: dt.date | None
    overdue_days: int
    last_counted_at: dt.datetime | None
    visits_required: int
    visits_done: int


class ManualOut(Schema):
    tier: str
    reason: str
    set_by_id: int
    set_at: dt.datetime


class CustomerTierOut(Schema):
    customer_id: int
    tier: str
    manual: ManualOut | None
    scores: ScoresOut | None
    routine: RoutineOut


class TierChangeOut(Schema):
    id: int
    from_tier: str
    to_tier: str
    manual: bool
    reason: dict[str, Any]
    by_id: int | None
    at: dt.datetime


class ManualTierIn(Schema):
    tier: str = Field(max_length=16, pattern=NO_NUL)
    reason: str = Field(max_length=500, pattern=NO_NUL)


class PeriodIn(Schema):
    start: str = Field(pattern=DATE, description="YYYY-MM-DD, first day")
    end: str = Field(pattern=DATE, description="YYYY-MM-DD, last day (inclusive)")


class ComplianceRowOut(Schema):
    id: int = Field(description="the user's or team's id; 0 for the total")
    label: str
    customers: int
    on_time: int
    on_time_share: float | None
    visits_required: int
    visits_done: int
    visits_logged: int
    visit_share: float | None


class ComplianceOut(Schema):
    period_start: dt.date
    period_end: dt.date
    reps: list[ComplianceRowOut]
    teams: list[ComplianceRowOut]
    total: ComplianceRowOut


def _row(r: selectors.ComplianceRow) -> dict[str, Any]:
    return {
        "id": r.key,
        "label": r.label,
        "customers": r.customers,
        "on_time": r.on_time,
        "on_time_share": r.on_time_share,
        "visits_required": r.visits_required,
        "visits_done": r.visits_done,
        "visits_logged": r.visits_logged,
        "visit_share": r.visit_share,
    }


def _customer_tier(actor: User, customer_id: int) -> dict[str, Any]:
    info = selectors.customer_tier(actor=actor, customer_id=customer_id, history_limit=0)
    result = info.result
    return {
        "customer_id": info.customer.pk,
        "tier": info.code,
        "manual": None
        if info.manual is None
        else {
            "tier": info.manual.tier,
            "reason": info.manual.reason,
            "set_by_id": info.manual.set_by_id,
            "set_at": info.manual.set_at,
        },
        "scores": None
        if result is None
        else {
            "value": result.value,
            "potential": result.potential,
            "value_band": result.value_band,
            "potential_band": result.potential_band,
            "tier": result.tier,
            "parts": result.parts,
        },
        "routine": {
            "due_on": info.sop.due_on,
            "overdue_days": info.sop.overdue_days,
            "last_counted_at": info.sop.last_counted_at,
            "visits_required": info.sop.visits_required,
            "visits_done": info.sop.visits_done,
        },
    }


# ---- operations ----------------------------------------------------------------------------------


@router.get("/tiers", response={200: TierModelOut, **ERRORS}, summary="The tier model and the tiers")
def tier_model(request: HttpRequest) -> dict[str, Any]:
    model = selectors.tier_model()
    values = {name: getattr(model, name) for name in services.MODEL_FIELDS}
    return {**values, "version": model.version, "updated_at": model.updated_at, "tiers": selectors.tiers()}


@router.get(
    "/tiers/compliance",
    response={200: ComplianceOut, 400: ErrorOut, **ERRORS},
    summary="Follow-up routine compliance per rep and team (yourself, the teams you manage, or all)",
)
def compliance(request: HttpRequest, period: Query[PeriodIn]) -> dict[str, Any]:
    try:
        start, end = dt.date.fromisoformat(period.start), dt.date.fromisoformat(period.end)
    except ValueError as exc:
        raise ApplicationError("invalid", _("Enter a valid date."), details={"start": ["invalid date"]}) from exc
    if end < start or (end - start).days > 366:
        raise ApplicationError("invalid", _("Choose a period of at most a year."), details={"end": ["invalid"]})
    result = selectors.sop_compliance(actor=_actor(request), period_start=start, period_end=end)
    return {
        "period_start": result.period_start,
        "period_end": result.period_end,
        "reps": [_row(r) for r in result.reps],
        "teams": [_row(r) for r in result.teams],
        "total": _row(result.total),
    }


@router.get(
    "/customers/{customer_id}/tier",
    response={200: CustomerTierOut, **ERRORS},
    summary="A customer's tier, scores and follow-up routine status",
)
def customer_tier(request: HttpRequest, customer_id: Id) -> dict[str, Any]:
    return _customer_tier(_actor(request), customer_id)


@router.get(
    "/customers/{customer_id}/tier/history",
    response={200: list[TierChangeOut], **ERRORS},
    summary="A customer's tier changes, newest first",
)
@paginate(Pagination)
def customer_tier_history(request: HttpRequest, customer_id: Id) -> Any:
    return selectors.tier_history(actor=_actor(request), customer_id=customer_id)


def _editable(actor: User, customer_id: int) -> Customer:
    customer = Customer.objects.visible_to(actor).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound("not_found", _("Not found."))
    return customer


@router.put(
    "/customers/{customer_id}/tier",
    response={200: CustomerTierOut, **WRITE_ERRORS},
    summary="Set a customer's tier by hand, with a reason (kept until cleared)",
)
def customer_tier_set(request: HttpRequest, payload: ManualTierIn, customer_id: Id) -> dict[str, Any]:
    actor = _actor(request)
    services.manual_tier_set(
        actor=actor, customer=_editable(actor, customer_id), tier=payload.tier, reason=payload.reason
    )
    return _customer_tier(actor, customer_id)


@router.delete(
    "/customers/{customer_id}/tier",
    response={200: CustomerTierOut, **WRITE_ERRORS},
    summary="Clear a manual tier: the scores decide again",
)
def customer_tier_clear(request: HttpRequest, customer_id: Id) -> dict[str, Any]:
    actor = _actor(request)
    services.manual_tier_clear(actor=actor, customer=_editable(actor, customer_id))
    return _customer_tier(actor, customer_id)
