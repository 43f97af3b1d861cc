# No `from __future__ import annotations`: @paginate wraps the list views (see users.py).
"""The API for commission statements and plans: the same selectors, policies and services as the UI.

A statement's lines carry ``rate`` and ``band`` only for callers allowed to see commission rates
(``incentives.view_rates``); for others they are null, as on the page and in the export.
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from bridgecrm.api.pagination import Pagination
from bridgecrm.api.schemas import ErrorOut, Id
from bridgecrm.core.errors import PermissionDenied
from bridgecrm.core.periods import Period
from bridgecrm.incentives import policies, selectors, services
from bridgecrm.incentives.models import CommissionPlan, LineKind, Statement
from bridgecrm.incentives.selectors import unpaid_reason
from bridgecrm.users.models import User

router = Router(tags=["incentives"])
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {400: ErrorOut, **ERRORS}


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class StatementOut(Schema):
    id: int
    user_id: int
    user_name: str
    period: str = Field(description='"2026-07", "2026-Q3" or "2026"')
    period_start: dt.date
    period_end: dt.date
    status: str = Field(description="draft or approved (approved statements are locked)")
    currency: str
    basis_total: Decimal
    target: Decimal | None
    attainment: Decimal | None = Field(description="% of the target, two places")
    total: Decimal = Field(description="the sum of the lines, exactly")
    plan_name: str | None
    approved_at: dt.datetime | None
    approved_by_id: int | None

    @staticmethod
    def resolve_user_name(obj: Any) -> str:
        return str(obj["user_name"] if isinstance(obj, dict) else obj.user)

    @staticmethod
    def resolve_period(obj: Any) -> str:
        return str(obj["period"] if isinstance(obj, dict) else obj.period.code)

    @staticmethod
    def resolve_plan_name(obj: Any) -> str | None:
        if isinstance(obj, dict):
            return obj["plan_name"]  # type: ignore[no-any-return]
        return obj.plan_snapshot.get("name") if obj.plan_snapshot else None


class StatementLineOut(Schema):
    position: int
    kind: str = Field(
        description="commission, accelerator, cap, clawback, bonus or not_paid (a won deal of a margin plan "
        "that earned nothing; see note)"
    )
    source_ref: str = Field(description='"deal:12", "payment:7", "evaluation:3"; empty for the cap')
    source_label: str
    source_date: dt.date | None
    deal_id: int | None
    payment_id: int | None
    clawback_of_statement_id: int | None
    base_amount: Decimal | None
    rate: Decimal | None = Field(description="% (only with incentives.view_rates)")
    band: str | None = Field(description="only with incentives.view_rates")
    amount: Decimal
    note: str = Field("", description="why a not_paid line earned nothing, in the caller's language")


class StatementDetailOut(StatementOut):
    lines: list[StatementLineOut]


class BandOut(Schema):
    start: Decimal = Field(description="attainment % from which the band applies")
    rate: Decimal


class CommissionPlanOut(Schema):
    id: int
    name: str
    basis: str = Field(
        description="signed (won deals), collected (payments) or margin (won deals: amount − cost; "
        "attainment on the signed amount)"
    )
    band_mode: str = Field(description="marginal (tiered) or whole (retroactive)")
    bands: list[BandOut]
    accelerator: Decimal
    cap: Decimal | None
    is_active: bool
    version: int

    @staticmethod
    def resolve_bands(obj: Any) -> list[dict[str, Decimal]]:
        bands = obj["bands"] if isinstance(obj, dict) else obj.bands
        return [{"start": Decimal(b["from"]), "rate": Decimal(b["rate"])} for b in bands]


class StatementFilter(Schema):
    period: str | None = Field(None, pattern=r"^[1-9][0-9]{3}(-Q[1-4]|-(0[1-9]|1[0-2]))?$")
    status: str | None = Field(None, pattern=r"^(draft|approved)$")


def _statement(s: Statement) -> dict[str, Any]:
    return {
        "id": s.pk,
        "user_id": s.user_id,
        "user_name": str(s.user),
        "period": s.period.code,
        "period_start": s.period_start,
        "period_end": s.period_end,
        "status": s.status,
        "currency": s.currency,
        "basis_total": s.basis_total,
        "target": s.target,
        "attainment": s.attainment,
        "total": s.total,
        "plan_name": s.plan_snapshot.get("name") if s.plan_snapshot else None,
        "approved_at": s.approved_at,
        "approved_by_id": s.approved_by_id,
    }


def _detail(actor: User, s: Statement) -> dict[str, Any]:
    rates = policies.may_see_rates_of(actor, s)
    lines = [
        {
            "position": line.position,
            "kind": line.kind,
            "source_ref": line.source_ref,
            "source_label": line.source_label,
            "source_date": line.source_date,
            "deal_id": line.deal_id,
            "payment_id": line.payment_id,
            "clawback_of_statement_id": line.clawback_of.statement_id if line.clawback_of else None,
            "base_amount": line.base_amount,
            "rate": line.rate if rates else None,
            "band": (line.band if line.kind != LineKind.NOT_PAID else "") if rates else None,
            "amount": line.amount,
            "note": unpaid_reason(line.band) if line.kind == LineKind.NOT_PAID else "",
        }
        for line in selectors.statement_lines(s)
    ]
    return {**_statement(s), "lines": lines}


@router.get(
    "/incentives/statements",
    response={200: list[StatementOut], **ERRORS},
    summary="Commission statements: your own; with incentives.view_rates, your team subtree's",
)
@paginate(Pagination)
def statement_list(request: HttpRequest, filters: Query[StatementFilter]) -> Any:
    period = Period.parse(filters.period) if filters.period else None
    return selectors.statements(actor=_actor(request), period=period, status=filters.status or "")


@router.get(
    "/incentives/statements/{statement_id}",
    response={200: StatementDetailOut, **ERRORS},
    summary="A statement with its lines, each traceable to its deal, payment or evaluation",
)
def statement_detail(request: HttpRequest, statement_id: Id) -> dict[str, Any]:
    actor = _actor(request)
    return _detail(actor, selectors.statement(actor=actor, statement_id=statement_id))


@router.post(
    "/incentives/statements/{statement_id}/approve",
    response={200: StatementDetailOut, **WRITE_ERRORS},
    summary="Approve and lock a draft statement of your team (statements.approve); the rep is notified",
)
def statement_approve(request: HttpRequest, statement_id: Id) -> dict[str, Any]:
    actor = _actor(request)
    statement = selectors.statement(actor=actor, statement_id=statement_id)
    services.statement_approve(actor=actor, statement=statement)
    return _detail(actor, selectors.statement(actor=actor, statement_id=statement_id))


def _plans_for(actor: User) -> Any:
    if not (policies.may_view_rates(actor) or policies.may_manage(actor)):
        raise PermissionDenied("forbidden", _("You do not have permission to do this."))
    return selectors.plans(actor=actor)


def _plan(p: CommissionPlan) -> dict[str, Any]:
    return {
        "id": p.pk,
        "name": p.name,
        "basis": p.basis,
        "band_mode": p.band_mode,
        "bands": p.bands,
        "accelerator": p.accelerator,
        "cap": p.cap,
        "is_active": p.is_active,
        "version": p.version,
    }


@router.get(
    "/incentives/plans",
    response={200: list[CommissionPlanOut], **ERRORS},
    summary="Commission plans with their rates (incentives.view_rates or incentives.manage)",
)
@paginate(Pagination)
def commission_plan_list(request: HttpRequest) -> Any:
    return _plans_for(_actor(request))


@router.get(
    "/incentives/plans/{plan_id}",
    response={200: CommissionPlanOut, **ERRORS},
    summary="One commission plan with its rates",
)
def commission_plan_detail(request: HttpRequest, plan_id: Id) -> dict[str, Any]:
    actor = _actor(request)
    _plans_for(actor)
    return _plan(selectors.plan(actor=actor, plan_id=plan_id))
