# No `from __future__ import annotations`: @paginate wraps the list views (see users.py).
"""The API for deals: the same selectors, services, gates, visibility and audit as the UI."""

import datetime as dt
import decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status
from pydantic import BaseModel, StrictBool, StrictInt

from bridgecrm.api.customization import check_filters, custom_property, resolve_custom
from bridgecrm.api.pagination import Pagination
from bridgecrm.api.references import bad_reference as _bad
from bridgecrm.api.references import visible_people as _people
from bridgecrm.api.schemas import MAX_ID, NO_NUL, BodyId, ErrorOut
from bridgecrm.core.errors import ApplicationError, NotFound
from bridgecrm.customization import selectors as custom_fields
from bridgecrm.customization.models import Entity
from bridgecrm.pipeline import deal_selectors as selectors
from bridgecrm.pipeline import deals as services
from bridgecrm.pipeline import policies as pipeline_policies
from bridgecrm.pipeline.models import Competitor, Deal, DealLine, Stage
from bridgecrm.users.models import Team, User

router = Router(tags=["deals"])
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {400: ErrorOut, **ERRORS}
MAX_AMOUNT = decimal.Decimal("999999999999.99")
Name = Annotated[str, Field(max_length=120, pattern=NO_NUL)]
DATE = r"^(\d{4}-\d{2}-\d{2})?$"


def _date(field: str, raw: str) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ApplicationError("invalid", _("Enter a valid date."), details={field: ["invalid"]}) from None


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


# ---- schemas -------------------------------------------------------------------------------------


class DealFiltersIn(Schema):
    q: str = Field("", max_length=100, pattern=NO_NUL)
    pipeline: int | None = Field(None, ge=1, le=MAX_ID)
    stage: int | None = Field(None, ge=1, le=MAX_ID)
    status: Literal["", "open", "won", "lost"] = ""
    owner: int | None = Field(None, ge=1, le=MAX_ID)
    team: int | None = Field(None, ge=1, le=MAX_ID)
    customer: int | None = Field(None, ge=1, le=MAX_ID)
    close_from: str = Field("", pattern=DATE, description="YYYY-MM-DD")
    close_to: str = Field("", pattern=DATE, description="YYYY-MM-DD")
    amount_min: decimal.Decimal | None = Field(None, ge=0, le=MAX_AMOUNT)
    amount_max: decimal.Decimal | None = Field(None, ge=0, le=MAX_AMOUNT)
    source: str = Field("", max_length=16, pattern=NO_NUL)
    sort: str = Field(
        selectors.DEFAULT_SORT,
        pattern="^(" + "|".join(selectors.SORTS) + "|-?cf_[a-z0-9_]{1,40})$",
        description="A built-in sort, or cf_<key> / -cf_<key> for a custom field.",
    )


COST_NOTE = "Null when unknown, and always null for callers without the products.view_cost capability."


def _sees_cost(context: dict[str, Any]) -> bool:
    return pipeline_policies.may_view_cost(context["request"].user)


class DealLineOut(Schema):
    id: int
    product_id: int | None
    name: str
    quantity: decimal.Decimal
    unit_price: decimal.Decimal
    discount_percent: decimal.Decimal
    subtotal: decimal.Decimal
    unit_cost: decimal.Decimal | None = Field(None, description=COST_NOTE)
    cost: decimal.Decimal | None = Field(None, description="quantity × unit cost. " + COST_NOTE)
    margin: decimal.Decimal | None = Field(None, description="subtotal − cost. " + COST_NOTE)

    @staticmethod
    def resolve_unit_cost(obj: DealLine, context: dict[str, Any]) -> decimal.Decimal | None:
        return obj.unit_cost if _sees_cost(context) else None

    @staticmethod
    def resolve_cost(obj: DealLine, context: dict[str, Any]) -> decimal.Decimal | None:
        return obj.cost if _sees_cost(context) else None

    @staticmethod
    def resolve_margin(obj: DealLine, context: dict[str, Any]) -> decimal.Decimal | None:
        return obj.margin if _sees_cost(context) else None


class DealOut(Schema):
    id: int
    name: str
    customer_id: int
    contact_id: int | None
    pipeline_id: int
    stage_id: int
    status: str
    amount: decimal.Decimal | None
    currency: str
    amount_base: decimal.Decimal | None
    expected_close_date: dt.date | None
    probability: int
    forecast_category: str
    owner_id: int
    team_id: int | None
    collaborator_ids: list[int]
    competitors: list[str]
    source: str
    next_step: str
    lost_reason_id: int | None
    lost_note: str
    closed_on: dt.date | None
    stage_entered_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    custom: dict[str, Any] = custom_property(Entity.DEAL, required=True)

    resolve_custom = resolve_custom(Entity.DEAL)

    @staticmethod
    def resolve_collaborator_ids(obj: Any) -> list[int]:
        return sorted(u.pk for u in obj.collaborators.all())

    @staticmethod
    def resolve_competitors(obj: Any) -> list[str]:
        return sorted(c.name for c in obj.competitors.all())


class DealDetailOut(DealOut):
    lines: list[DealLineOut]
    cost_base: decimal.Decimal | None = Field(None, description="The lines' cost in the base currency. " + COST_NOTE)
    margin_base: decimal.Decimal | None = Field(None, description="amount_base − cost_base. " + COST_NOTE)
    margin_percent: decimal.Decimal | None = Field(None, description="margin_base ÷ amount_base, %. " + COST_NOTE)

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        return list(obj.lines.all())

    @staticmethod
    def resolve_cost_base(obj: Deal, context: dict[str, Any]) -> decimal.Decimal | None:
        return obj.cost_base if _sees_cost(context) else None

    @staticmethod
    def resolve_margin_base(obj: Deal, context: dict[str, Any]) -> decimal.Decimal | None:
        return obj.margin_base if _sees_cost(context) else None

    @staticmethod
    def resolve_margin_percent(obj: Deal, context: dict[str, Any]) -> decimal.Decimal | None:
        return obj.margin_percent if _sees_cost(context) else None


class DealFields(BaseModel):
    contact_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    amount: decimal.Decimal | None = Field(None, ge=0, le=MAX_AMOUNT)
    currency: str | None = Field(None, max_length=3, pattern=NO_NUL)
    expected_close_date: dt.date | None = None
    probability: StrictInt | None = Field(None, ge=0, le=100)
    forecast_category: str | None = Field(None, max_length=16, pattern=NO_NUL)
    source: str | None = Field(None, max_length=16, pattern=NO_NUL)
    next_step: str | None = Field(None, max_length=200, pattern=NO_NUL)
    owner_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    team_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    collaborator_ids: list[BodyId] | None = Field(None, max_length=50)
    competitors: list[Name] | None = Field(None, max_length=20)
    custom: dict[str, Any] | None = custom_property(Entity.DEAL)


class DealIn(DealFields):
    name: str = Field(..., min_length=1, max_length=200, pattern=NO_NUL)
    customer_id: StrictInt = Field(..., ge=1, le=MAX_ID)
    stage_id: StrictInt | None = Field(
        None, ge=1, le=MAX_ID, description="An open stage; the default pipeline's first."
    )


class DealPatch(DealFields):
    name: str | None = Field(None, min_length=1, max_length=200, pattern=NO_NUL)
    customer_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    version: StrictInt = Field(..., ge=1, le=MAX_ID, description="The version you read; a newer one answers 409.")


class MoveIn(BaseModel):
    stage_id: StrictInt = Field(..., ge=1, le=MAX_ID)
    version: StrictInt = Field(..., ge=1, le=MAX_ID)
    amount: decimal.Decimal | None = Field(None, ge=0, le=MAX_AMOUNT)
    expected_close_date: dt.date | None = None
    contact_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    probability: StrictInt | None = Field(None, ge=0, le=100)
    competitors: list[Name] | None = Field(None, max_length=20)
    lost_reason_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    lost_note: str | None = Field(None, max_length=500, pattern=NO_NUL)
    next_step: str | None = Field(None, max_length=200, pattern=NO_NUL)


class CloseIn(BaseModel):
    outcome: Literal["won", "lost", "reopen"]
    version: StrictInt = Field(..., ge=1, le=MAX_ID)
    lost_reason_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    note: str = Field("", max_length=500, pattern=NO_NUL)


class LineIn(BaseModel):
    name: str = Field("", max_length=200, pattern=NO_NUL)
    product_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    quantity: decimal.Decimal = Field(..., gt=0, le=decimal.Decimal("999999999.999"))
    unit_price: decimal.Decimal = Field(..., ge=0, le=MAX_AMOUNT)
    discount_percent: decimal.Decimal = Field(decimal.Decimal(0), ge=0, le=100)
    unit_cost: decimal.Decimal | None = Field(
        None,
        ge=0,
        le=MAX_AMOUNT,
        description="In the deal's currency; needs products.view_cost. Omitted or null: the cost the same "
        "line had (same product, or same name), else the product's cost now",
    )


class LinesIn(BaseModel):
    version: StrictInt = Field(..., ge=1, le=MAX_ID)
    lines: list[LineIn] = Field(..., max_length=services.MAX_LINES)
    amount_from_lines: StrictBool = True


class StageChangeOut(Schema):
    id: int
    from_stage_id: int | None
    to_stage_id: int
    to_stage_name: str
    changed_at: dt.datetime
    changed_by_id: int | None
    seconds_in_from_stage: int | None

    @staticmethod
    def resolve_to_stage_name(obj: Any) -> str:
        return str(obj.to_stage.name)


class CompetitorFiltersIn(Schema):
    q: str = Field("", max_length=100, pattern=NO_NUL)


class CompetitorOut(Schema):
    id: int
    name: str


# ---- references by id ----------------------------------------------------------------------------


def _references(actor: User, data: dict[str, Any]) -> dict[str, Any]:
    if "owner_id" in data:
        owner_id = data.pop("owner_id")
        if owner_id is not None:
            data["owner"] = _people(actor, [owner_id], "owner_id")[0]
    if "team_id" in data:
        team_id = data.pop("team_id")
        team = Team.objects.visible_to(actor).filter(pk=team_id).first() if team_id is not None else None
        if team_id is not None and team is None:
            raise _bad("team_id")
        if team is not None:
            data["team"] = team
    if "collaborator_ids" in data:
        data["collaborators"] = _people(actor, data.pop("collaborator_ids") or [], "collaborator_ids")
    if "contact_id" in data:
        data["contact"] = data.pop("contact_id")
    if "customer_id" in data:
        data["customer"] = data.pop("customer_id")
    return data


def _detail(actor: User, deal_id: int) -> Deal:
    return selectors.deal_get(actor=actor, deal_id=deal_id)


# ---- deals ---------------------------------------------------------------------------------------


@router.get("/deals", response={200: list[DealOut], **WRITE_ERRORS}, summary="Deals you may see")
@paginate(Pagination)
def deals_list(request: HttpRequest, filters: Query[DealFiltersIn]) -> Any:
    f = filters
    actor = _actor(request)
    custom = custom_fields.filter_params(request.GET)
    check_filters(actor, Entity.DEAL, custom)
    return selectors.deal_list(
        actor=actor,
        filters=selectors.DealFilters(
            q=f.q,
            pipeline_id=f.pipeline,
            stage_id=f.stage,
            status=f.status,
            owner_id=f.owner,
            team_id=f.team,
            customer_id=f.customer,
            close_from=_date("close_from", f.close_from),
            close_to=_date("close_to", f.close_to),
            amount_min=f.amount_min,
            amount_max=f.amount_max,
            source=f.source,
            sort=f.sort,
            custom=custom,
        ),
    ).prefetch_related("collaborators", "competitors")


@router.post("/deals", response={201: DealDetailOut, **WRITE_ERRORS}, summary="Create a deal")
def deal_create(request: HttpRequest, payload: DealIn) -> Status[Deal]:
    actor = _actor(request)
    data = _references(actor, payload.model_dump(exclude_none=True))
    stage_id = data.pop("stage_id", None)
    if stage_id is not None:
        stage = Stage.objects.select_related("pipeline").filter(pk=stage_id).first()
        if stage is None:
            raise _bad("stage_id")
        data["stage"], data["pipeline"] = stage, stage.pipeline
    deal = services.deal_create(actor=actor, **data)
    return Status(201, _detail(actor, deal.pk))


@router.get("/deals/{deal_id}", response={200: DealDetailOut, **ERRORS}, summary="One deal, with its lines")
def deal_detail(request: HttpRequest, deal_id: int) -> Deal:
    return _detail(_actor(request), deal_id)


@router.patch("/deals/{deal_id}", response={200: DealDetailOut, 409: ErrorOut, **WRITE_ERRORS}, summary="Update a deal")
def deal_update(request: HttpRequest, deal_id: int, payload: DealPatch) -> Deal:
    actor = _actor(request)
    deal = _detail(actor, deal_id)
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version")
    for name in ("name", "currency", "customer_id", "owner_id", "collaborator_ids", "competitors", "custom"):
        if name in data and data[name] is None:
            data.pop(name)  # required values: null means "leave as is"
    services.deal_update(actor=actor, deal=deal, version=version, **_references(actor, data))
    return _detail(actor, deal_id)


@router.delete("/deals/{deal_id}", response={204: None, **ERRORS}, summary="Delete a deal (soft)")
def deal_delete(request: HttpRequest, deal_id: int) -> Status[None]:
    actor = _actor(request)
    services.deal_delete(actor=actor, deal=_detail(actor, deal_id))
    return Status(204, None)


@router.post(
    "/deals/{deal_id}/move",
    response={200: DealDetailOut, 409: ErrorOut, **WRITE_ERRORS},
    summary="Move a deal to a stage",
    description="A stage gate's refusal answers 400 with code `gate` and `details.missing`: the fields to send.",
)
def deal_move(request: HttpRequest, deal_id: int, payload: MoveIn) -> Deal:
    actor = _actor(request)
    deal = _detail(actor, deal_id)
    stage = Stage.objects.filter(pk=payload.stage_id, pipeline_id=deal.pipeline_id).first()
    if stage is None:
        raise _bad("stage_id")
    values = payload.model_dump(exclude_none=True, exclude={"stage_id", "version"})
    if "contact_id" in values:
        values["contact"] = values.pop("contact_id")
    if "lost_reason_id" in values:
        values["lost_reason"] = values.pop("lost_reason_id")
    services.deal_move_to_stage(actor=actor, deal=deal, stage=stage, version=payload.version, values=values)
    return _detail(actor, deal_id)


@router.post(
    "/deals/{deal_id}/close",
    response={200: DealDetailOut, 409: ErrorOut, **WRITE_ERRORS},
    summary="Win, lose or reopen",
)
def deal_close(request: HttpRequest, deal_id: int, payload: CloseIn) -> Deal:
    actor = _actor(request)
    deal = _detail(actor, deal_id)
    if payload.outcome == "won":
        services.deal_close_won(actor=actor, deal=deal, version=payload.version)
    elif payload.outcome == "lost":
        services.deal_close_lost(
            actor=actor, deal=deal, version=payload.version, lost_reason=payload.lost_reason_id, note=payload.note
        )
    else:
        services.deal_reopen(actor=actor, deal=deal, version=payload.version)
    return _detail(actor, deal_id)


@router.get(
    "/deals/{deal_id}/stage-history", response={200: list[StageChangeOut], **ERRORS}, summary="A deal's stage moves"
)
def deal_stage_history(request: HttpRequest, deal_id: int) -> list[Any]:
    actor = _actor(request)
    return selectors.stage_changes(actor=actor, deal=_detail(actor, deal_id))


@router.put(
    "/deals/{deal_id}/lines", response={200: DealDetailOut, 409: ErrorOut, **WRITE_ERRORS}, summary="Replace the lines"
)
def deal_lines(request: HttpRequest, deal_id: int, payload: LinesIn) -> Deal:
    actor = _actor(request)
    deal = _detail(actor, deal_id)
    lines = [
        {
            "name": line.name,
            "product": line.product_id,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "discount_percent": line.discount_percent,
            "unit_cost": line.unit_cost,
        }
        for line in payload.lines
    ]
    services.deal_lines_set(
        actor=actor, deal=deal, version=payload.version, lines=lines, amount_from_lines=payload.amount_from_lines
    )
    return _detail(actor, deal_id)


@router.get("/competitors", response={200: list[CompetitorOut], **ERRORS}, summary="Competitors")
@paginate(Pagination)
def competitors_list(request: HttpRequest, filters: Query[CompetitorFiltersIn]) -> Any:
    if not _actor(request).is_active:  # pragma: no cover - token auth admits active users only
        raise NotFound("not_found", _("Not found."))
    qs = Competitor.objects.filter(is_active=True).order_by("name", "id")
    text = " ".join(filters.q.split())
    return qs.filter(name__icontains=text) if text else qs
