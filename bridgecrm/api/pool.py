"""The public pool over the API: the same selectors (contact details masked there) and services as the UI."""

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema
from pydantic import BaseModel, StrictBool, StrictInt

from bridgecrm.api.schemas import MAX_ID, NO_NUL, BodyId, ErrorOut
from bridgecrm.core.errors import ApplicationError, PermissionDenied
from bridgecrm.customers import selectors as customer_selectors
from bridgecrm.customers.models import Customer
from bridgecrm.pool import policies, selectors, services
from bridgecrm.pool.models import PoolRules
from bridgecrm.users.models import User

router = Router(tags=["pool"])
Days = Annotated[StrictInt, Field(ge=0, le=3650)]
Count = Annotated[StrictInt, Field(ge=0, le=100_000)]
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {400: ErrorOut, 409: ErrorOut, **ERRORS}
MAX_PAGE = 200
DATE_OR_EMPTY = r"^([0-9]{4}-[0-9]{2}-[0-9]{2})?$"


def _date(field: str, raw: str | None) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise ApplicationError("invalid", _("Enter a valid date."), details={field: ["invalid date"]}) from exc


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class PoolFiltersIn(Schema):
    q: str = Field("", max_length=100, pattern=NO_NUL)
    industry: str = Field("", max_length=20, pattern=NO_NUL)
    province: str = Field("", max_length=2, pattern=NO_NUL)
    source: str = Field("", max_length=16, pattern=NO_NUL)
    reason: Literal["", "no_follow_up", "no_progress", "released"] = ""
    # Not nullable: a missing parameter is the empty string, so the document has one type to test.
    pooled_since: str = Field("", pattern=DATE_OR_EMPTY, description="YYYY-MM-DD, in the company's time zone")
    sort: Literal["-pooled", "pooled", "name"] = "-pooled"
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0, le=10_000_000)


class PoolContactOut(Schema):
    name: str
    title: str
    is_primary: bool
    phones: list[str] = Field(description="Masked (138****8000) unless you hold pool.manage.")
    email: str = Field(description="Masked (a***@x.com) unless you hold pool.manage.")
    wechat: str


class PoolCustomerOut(Schema):
    id: int
    name: str
    kind: str
    industry: str
    country: str
    province: str
    city: str
    source: str
    size: str
    pooled_at: dt.datetime
    reason: str = Field(description="no_follow_up, no_progress, released, or empty")
    reason_days: int | None
    note: str = Field(description="The reason given when it was released")
    contact: PoolContactOut | None


class PoolCustomerDetailOut(PoolCustomerOut):
    contacts: list[PoolContactOut]


class PoolPage(Schema):
    items: list[PoolCustomerOut]
    count: int


class OwnershipOut(Schema):
    id: int
    name: str
    owner_id: int | None
    team_id: int | None
    owner_since: dt.datetime | None
    pooled_at: dt.datetime | None
    is_protected: bool
    version: int


class AssignIn(BaseModel):
    user_id: BodyId


class DistributeIn(BaseModel):
    customer_ids: list[BodyId] = Field(..., min_length=1, max_length=500)
    user_ids: list[BodyId] = Field(..., min_length=1, max_length=100)
    mode: Literal["round_robin", "load"] = "round_robin"


class AssignmentOut(Schema):
    customer_id: int
    user_id: int


class DistributionOut(Schema):
    assigned: list[AssignmentOut]
    skipped: list[int]


class ReleaseIn(BaseModel):
    reason: str = Field(..., min_length=1, max_length=300, pattern=NO_NUL)


class ProtectIn(BaseModel):
    protected: StrictBool


class RulesOut(Schema):
    recycle_no_follow_up_days: int
    recycle_no_progress_days: int
    warning_days: int
    holding_limit: int
    daily_claim_limit: int
    cooldown_days: int
    protected_cap: int
    mask_contacts: bool
    version: int


class RulesPatch(BaseModel):
    # Strict types: a JSON 0 is not a boolean and "5" is not a number.
    recycle_no_follow_up_days: Days | None = None
    recycle_no_progress_days: Days | None = None
    warning_days: Days | None = None
    holding_limit: Count | None = None
    daily_claim_limit: Count | None = None
    cooldown_days: Days | None = None
    protected_cap: Count | None = None
    mask_contacts: StrictBool | None = None
    version: StrictInt = Field(..., ge=1, le=MAX_ID, description="The version you read; a newer one answers 409.")


class StatusOut(Schema):
    holdings: int
    holding_limit: int
    claims_today: int
    claims_left: int | None
    protected: int
    protected_cap: int


def _out(row: selectors.PoolRow, contacts: list[selectors.PoolContact] | None = None) -> dict[str, Any]:
    c = row.customer
    data: dict[str, Any] = {
        "id": c.pk,
        "name": c.name,
        "kind": c.kind,
        "industry": c.industry,
        "country": c.country,
        "province": c.province,
        "city": c.city,
        "source": c.source,
        "size": c.size,
        "pooled_at": c.pooled_at,
        "reason": row.reason,
        "reason_days": row.reason_days,
        "note": row.note,
        "contact": row.contact,
    }
    if contacts is not None:
        data["contacts"] = contacts
    return data


@router.get(
    "/pool/customers",
    response={200: PoolPage, 400: ErrorOut, **ERRORS},
    summary="Customers in the public pool (masked)",
)
def pool_list(request: HttpRequest, filters: Query[PoolFiltersIn]) -> dict[str, Any]:
    actor = _actor(request)
    f = filters
    qs = selectors.pool_list(
        actor=actor,
        filters=selectors.PoolFilters(
            q=f.q,
            industry=f.industry,
            province=f.province,
            source=f.source,
            reason=f.reason,
            pooled_since=_date("pooled_since", f.pooled_since),
            sort=f.sort,
        ),
    )
    page = list(qs[f.offset : f.offset + f.limit])
    return {"items": [_out(r) for r in selectors.pool_rows(actor=actor, customers=page)], "count": qs.count()}


@router.get("/pool/customers/{customer_id}", response={200: PoolCustomerDetailOut, **ERRORS}, summary="A pool customer")
def pool_detail(request: HttpRequest, customer_id: int) -> dict[str, Any]:
    actor = _actor(request)
    customer = selectors.pool_get(actor=actor, customer_id=customer_id)
    row = selectors.pool_row(actor=actor, customer=customer)
    return _out(row, selectors.pool_contacts(actor=actor, customer=customer))


@router.post(
    "/pool/customers/{customer_id}/claim", response={200: OwnershipOut, **WRITE_ERRORS}, summary="Claim a customer"
)
def pool_claim(request: HttpRequest, customer_id: int) -> Customer:
    actor = _actor(request)
    return services.pool_claim(actor=actor, customer=selectors.pool_get(actor=actor, customer_id=customer_id))


@router.post(
    "/pool/customers/{customer_id}/assign",
    response={200: OwnershipOut, **WRITE_ERRORS},
    summary="Assign a pool customer to a rep (pool.assign)",
)
def pool_assign(request: HttpRequest, customer_id: int, payload: AssignIn) -> Customer:
    actor = _actor(request)
    if not policies.may_assign(actor):
        raise PermissionDenied("forbidden", _("You do not have permission to do this."))
    customer = selectors.pool_get(actor=actor, customer_id=customer_id)
    rep = services.reps_by_ids(actor=actor, ids=[payload.user_id])[0]
    return services.pool_assign(actor=actor, customer=customer, rep=rep)


@router.post(
    "/pool/distribute",
    response={200: DistributionOut, **WRITE_ERRORS},
    summary="Share pool customers among reps (pool.assign)",
)
def pool_distribute(request: HttpRequest, payload: DistributeIn) -> dict[str, Any]:
    actor = _actor(request)
    if not policies.may_assign(actor):
        raise PermissionDenied("forbidden", _("You do not have permission to do this."))
    reps = services.reps_by_ids(actor=actor, ids=payload.user_ids)
    wanted = list(dict.fromkeys(payload.customer_ids))
    customers = {c.pk: c for c in selectors.in_pool().filter(pk__in=wanted)}
    result = services.pool_distribute(
        actor=actor, customers=[customers[i] for i in wanted if i in customers], reps=reps, mode=payload.mode
    )
    return {
        "assigned": [{"customer_id": c, "user_id": u} for c, u in result.assigned],
        "skipped": result.skipped + [i for i in wanted if i not in customers],
    }


@router.post(
    "/customers/{customer_id}/release",
    response={200: OwnershipOut, **WRITE_ERRORS},
    summary="Release a customer to the public pool",
)
def pool_release(request: HttpRequest, customer_id: int, payload: ReleaseIn) -> Customer:
    actor = _actor(request)
    customer = customer_selectors.customer_get(actor=actor, customer_id=customer_id)
    return services.pool_release(actor=actor, customer=customer, reason=payload.reason)


@router.post(
    "/customers/{customer_id}/protect",
    response={200: OwnershipOut, **WRITE_ERRORS},
    summary="Protect a customer from recycling, or lift it",
)
def pool_protect(request: HttpRequest, customer_id: int, payload: ProtectIn) -> Customer:
    actor = _actor(request)
    customer = customer_selectors.customer_get(actor=actor, customer_id=customer_id)
    return services.pool_protect(actor=actor, customer=customer, protected=payload.protected)


@router.get("/pool/rules", response={200: RulesOut, **ERRORS}, summary="The public pool's rules")
def pool_rules_get(request: HttpRequest) -> PoolRules:
    return selectors.rules_get()


@router.patch("/pool/rules", response={200: RulesOut, **WRITE_ERRORS}, summary="Change the pool's rules (pool.manage)")
def pool_rules_update(request: HttpRequest, payload: RulesPatch) -> PoolRules:
    data = payload.model_dump(exclude_none=True)
    version = data.pop("version")
    return services.rules_update(actor=_actor(request), version=version, **data)


@router.get("/pool/status", response={200: StatusOut, **ERRORS}, summary="Your holdings and claims left today")
def pool_status(request: HttpRequest) -> selectors.PoolStatus:
    return selectors.pool_status(actor=_actor(request))
