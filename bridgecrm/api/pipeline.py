# No `from __future__ import annotations`: @paginate wraps the list views (see users.py).
"""Products, pipelines with their stages, and lost reasons over the API: the same selectors and services as the UI."""

import decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status
from pydantic import BaseModel, StrictBool, StrictInt

from bridgecrm.api.pagination import Pagination
from bridgecrm.api.schemas import NO_NUL, ErrorOut
from bridgecrm.pipeline import gates, policies, selectors, services
from bridgecrm.pipeline.models import Pipeline, Product, Stage
from bridgecrm.users.models import User

router = Router(tags=["pipeline"])
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {400: ErrorOut, **ERRORS}
MAX_PRICE = services.MAX_PRICE
GateCode = Annotated[str, Field(max_length=40, pattern=NO_NUL)]


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


# ---- schemas -------------------------------------------------------------------------------------


class ProductFiltersIn(Schema):
    q: str = Field("", max_length=100, pattern=NO_NUL)
    category: str = Field("", max_length=16, pattern=NO_NUL)
    active: Literal["true", "false", "all"] = "true"


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    category: str
    unit: str
    list_price: decimal.Decimal
    currency: str
    is_active: bool
    unit_cost: decimal.Decimal | None = Field(
        None,
        description="What one unit costs, in the product's currency; null when unknown, and always null "
        "for callers without the products.view_cost capability",
    )

    @staticmethod
    def resolve_unit_cost(obj: Product, context: dict[str, Any]) -> decimal.Decimal | None:
        return obj.unit_cost if policies.may_view_cost(context["request"].user) else None


class ProductFields(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200, pattern=NO_NUL)
    category: str | None = Field(None, max_length=16, pattern=NO_NUL)
    unit: str | None = Field(None, max_length=16, pattern=NO_NUL)
    list_price: decimal.Decimal | None = Field(None, ge=0, le=MAX_PRICE)
    currency: str | None = Field(None, min_length=3, max_length=3, pattern=NO_NUL)
    is_active: StrictBool | None = None
    unit_cost: decimal.Decimal | None = Field(
        None, ge=0, le=MAX_PRICE, description="Needs products.view_cost; in a PATCH, null sets it to unknown"
    )


class ProductIn(ProductFields):
    sku: str = Field(..., min_length=1, max_length=40, pattern=NO_NUL)
    name: str = Field(..., min_length=1, max_length=200, pattern=NO_NUL)
    category: str = Field(..., max_length=16, pattern=NO_NUL)
    list_price: decimal.Decimal = Field(..., ge=0, le=MAX_PRICE)


class ProductPatch(ProductFields):
    sku: str | None = Field(None, min_length=1, max_length=40, pattern=NO_NUL)


class StageOut(Schema):
    id: int
    pipeline_id: int
    name: str
    order: int
    probability: int
    kind: str
    stale_after_days: int | None
    forecast_category: str
    gate_fields: list[str]


class PipelineOut(Schema):
    id: int
    name: str
    is_default: bool
    is_active: bool
    order: int
    stages: list[StageOut]

    @staticmethod
    def resolve_stages(obj: Any) -> list[Any]:
        return list(obj.stages.all())


class StageFields(BaseModel):
    probability: StrictInt | None = Field(None, ge=0, le=100)
    kind: str | None = Field(None, max_length=8, pattern=NO_NUL)
    stale_after_days: StrictInt | None = Field(None, ge=1, le=services.MAX_STALE_DAYS)
    forecast_category: str | None = Field(None, max_length=16, pattern=NO_NUL)
    gate_fields: list[GateCode] | None = Field(
        None, max_length=len(gates.GATE_FIELDS), description="Codes: " + ", ".join(gates.GATE_FIELDS)
    )


class StageIn(StageFields):
    name: str = Field(..., min_length=1, max_length=80, pattern=NO_NUL)
    probability: StrictInt = Field(..., ge=0, le=100)
    position: StrictInt | None = Field(None, ge=1, le=100, description="1-based; by default after the last open stage.")


class StagePatch(StageFields):
    name: str | None = Field(None, min_length=1, max_length=80, pattern=NO_NUL)


class LostReasonOut(Schema):
    id: int
    name: str
    is_active: bool
    order: int


# ---- products ------------------------------------------------------------------------------------


@router.get("/products", response={200: list[ProductOut], **ERRORS}, summary="Products")
@paginate(Pagination)
def products_list(request: HttpRequest, filters: Query[ProductFiltersIn]) -> Any:
    active = {"true": True, "false": False, "all": None}[filters.active]
    return selectors.product_list(
        actor=_actor(request),
        filters=selectors.ProductFilters(q=filters.q, category=filters.category, active=active),
    )


@router.post("/products", response={201: ProductOut, **WRITE_ERRORS}, summary="Create a product")
def product_create(request: HttpRequest, payload: ProductIn) -> Status[Product]:
    actor = _actor(request)
    product = services.product_create(actor=actor, **payload.model_dump(exclude_none=True))
    return Status(201, product)


@router.get("/products/{product_id}", response={200: ProductOut, **ERRORS}, summary="One product")
def product_detail(request: HttpRequest, product_id: int) -> Product:
    return selectors.product_get(actor=_actor(request), product_id=product_id)


@router.patch("/products/{product_id}", response={200: ProductOut, **WRITE_ERRORS}, summary="Update a product")
def product_update(request: HttpRequest, product_id: int, payload: ProductPatch) -> Product:
    actor = _actor(request)
    product = selectors.product_get(actor=actor, product_id=product_id)
    changes = payload.model_dump(exclude_none=True)
    if "unit_cost" in payload.model_fields_set:  # an explicit null: the cost becomes unknown
        changes["unit_cost"] = payload.unit_cost
    return services.product_update(actor=actor, product=product, **changes)


@router.delete("/products/{product_id}", response={204: None, **ERRORS}, summary="Deactivate a product")
def product_delete(request: HttpRequest, product_id: int) -> Status[None]:
    actor = _actor(request)
    services.product_deactivate(actor=actor, product=selectors.product_get(actor=actor, product_id=product_id))
    return Status(204, None)


# ---- pipelines and stages ------------------------------------------------------------------------


@router.get("/pipelines", response={200: list[PipelineOut], **ERRORS}, summary="Pipelines with their stages")
def pipelines_list(request: HttpRequest) -> list[Pipeline]:
    return selectors.pipeline_list(actor=_actor(request))


@router.get("/pipelines/{pipeline_id}", response={200: PipelineOut, **ERRORS}, summary="One pipeline")
def pipeline_detail(request: HttpRequest, pipeline_id: int) -> Pipeline:
    return selectors.pipeline_get(actor=_actor(request), pipeline_id=pipeline_id)


@router.post("/pipelines/{pipeline_id}/stages", response={201: StageOut, **WRITE_ERRORS}, summary="Add a stage")
def stage_create(request: HttpRequest, pipeline_id: int, payload: StageIn) -> Status[Stage]:
    actor = _actor(request)
    pipeline = selectors.pipeline_get(actor=actor, pipeline_id=pipeline_id)
    stage = services.stage_add(actor=actor, pipeline=pipeline, **payload.model_dump(exclude_none=True))
    return Status(201, selectors.stage_get(actor=actor, stage_id=stage.pk))


@router.patch(
    "/pipelines/{pipeline_id}/stages/{stage_id}", response={200: StageOut, **WRITE_ERRORS}, summary="Update a stage"
)
def stage_update(request: HttpRequest, pipeline_id: int, stage_id: int, payload: StagePatch) -> Stage:
    actor = _actor(request)
    stage = selectors.stage_get(actor=actor, stage_id=stage_id, pipeline_id=pipeline_id)
    data = payload.model_dump(exclude_unset=True)
    for name in ("name", "probability", "kind", "forecast_category", "gate_fields"):
        if name in data and data[name] is None:
            data.pop(name)  # required values: null means "leave as is"
    services.stage_update(actor=actor, stage=stage, **data)
    return selectors.stage_get(actor=actor, stage_id=stage_id)


@router.delete(
    "/pipelines/{pipeline_id}/stages/{stage_id}", response={204: None, **WRITE_ERRORS}, summary="Delete a stage"
)
def stage_delete(request: HttpRequest, pipeline_id: int, stage_id: int) -> Status[None]:
    actor = _actor(request)
    stage = selectors.stage_get(actor=actor, stage_id=stage_id, pipeline_id=pipeline_id)
    services.stage_delete(actor=actor, stage=stage)
    return Status(204, None)


# ---- lost reasons --------------------------------------------------------------------------------


@router.get("/lost-reasons", response={200: list[LostReasonOut], **ERRORS}, summary="Reasons a deal is lost")
def lost_reasons_list(request: HttpRequest) -> list[Any]:
    return list(selectors.lost_reason_list(actor=_actor(request)))
