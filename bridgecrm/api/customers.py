# No `from __future__ import annotations`: @paginate wraps the list views (see users.py).
"""Customers and their contacts over the API: the same selectors, services and visibility as the UI."""

import datetime as dt
import decimal
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status
from pydantic import BaseModel, StrictBool, StrictInt

from bridgecrm.api.customization import check_filters, custom_property, resolve_custom
from bridgecrm.api.pagination import Pagination
from bridgecrm.api.references import bad_reference as _bad
from bridgecrm.api.references import visible_people as _people
from bridgecrm.api.schemas import MAX_ID, NO_NUL, BodyId, ErrorOut
from bridgecrm.customers import selectors, services
from bridgecrm.customers.models import Contact, Customer
from bridgecrm.customization import selectors as custom_fields
from bridgecrm.customization.models import Entity
from bridgecrm.users.models import Team, User

router = Router(tags=["customers"])
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {400: ErrorOut, **ERRORS}
MAX_AMOUNT = decimal.Decimal("999999999999.99")
TagName = Annotated[str, Field(max_length=40, pattern=NO_NUL)]
PhoneText = Annotated[str, Field(max_length=40, pattern=NO_NUL)]


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


# ---- schemas -------------------------------------------------------------------------------------


class CustomerFiltersIn(Schema):
    q: str = Field("", max_length=100, pattern=NO_NUL)
    kind: str = Field("", max_length=16, pattern=NO_NUL)
    stage: str = Field("", max_length=16, pattern=NO_NUL)
    tier: str = Field("", max_length=16, pattern=NO_NUL, description="A tier's code, e.g. A")
    source: str = Field("", max_length=16, pattern=NO_NUL)
    industry: str = Field("", max_length=20, pattern=NO_NUL)
    country: str = Field("", max_length=2, pattern=NO_NUL)
    province: str = Field("", max_length=2, pattern=NO_NUL)
    city: str = Field("", max_length=60, pattern=NO_NUL)
    size: str = Field("", max_length=10, pattern=NO_NUL)
    owner: int | None = Field(None, ge=1, le=MAX_ID)
    team: int | None = Field(None, ge=1, le=MAX_ID)
    tag: str = Field("", max_length=40, pattern=NO_NUL)
    potential_min: decimal.Decimal | None = Field(None, ge=0, le=MAX_AMOUNT)
    potential_max: decimal.Decimal | None = Field(None, ge=0, le=MAX_AMOUNT)
    sort: str = Field(
        selectors.DEFAULT_SORT,
        pattern="^(" + "|".join(selectors.SORTS) + "|-?cf_[a-z0-9_]{1,40})$",
        description="A built-in sort, or cf_<key> / -cf_<key> for a custom field.",
    )


class CustomerOut(Schema):
    id: int
    kind: str
    name: str
    lifecycle_stage: str
    tier: str = Field(description="The customer's tier code; empty until tiers are computed")
    source: str
    industry: str
    country: str
    province: str
    city: str
    size: str
    estimated_annual_potential: decimal.Decimal | None
    currency: str
    tags: list[str]
    owner_id: int | None
    team_id: int | None
    collaborator_ids: list[int]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    custom: dict[str, Any] = custom_property(Entity.CUSTOMER, required=True)

    resolve_custom = resolve_custom(Entity.CUSTOMER)

    @staticmethod
    def resolve_tags(obj: Any) -> list[str]:
        return [t.name for t in obj.tags.all()]

    @staticmethod
    def resolve_collaborator_ids(obj: Any) -> list[int]:
        return sorted(u.pk for u in obj.collaborators.all())


class CustomerFacts(BaseModel):
    # Plain pydantic models for bodies (see MePatch): a JSON array or string is refused with 422.
    kind: str | None = Field(None, max_length=16, pattern=NO_NUL)
    lifecycle_stage: str | None = Field(None, max_length=16, pattern=NO_NUL)
    source: str | None = Field(None, max_length=16, pattern=NO_NUL)
    industry: str | None = Field(None, max_length=20, pattern=NO_NUL)
    country: str | None = Field(None, max_length=2, pattern=NO_NUL)
    province: str | None = Field(None, max_length=2, pattern=NO_NUL)
    city: str | None = Field(None, max_length=60, pattern=NO_NUL)
    size: str | None = Field(None, max_length=10, pattern=NO_NUL)
    estimated_annual_potential: decimal.Decimal | None = Field(None, ge=0, le=MAX_AMOUNT)
    currency: str | None = Field(None, max_length=3, pattern=NO_NUL)
    tags: list[TagName] | None = Field(None, max_length=20)
    owner_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    team_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    collaborator_ids: list[BodyId] | None = Field(None, max_length=50)
    custom: dict[str, Any] | None = custom_property(Entity.CUSTOMER)


class CustomerIn(CustomerFacts):
    name: str = Field(..., min_length=1, max_length=200, pattern=NO_NUL)
    allow_duplicate: StrictBool = Field(
        False, description="Create it even when the duplicate check finds matches (else 409 `duplicate`)."
    )


class CustomerPatch(CustomerFacts):
    name: str | None = Field(None, min_length=1, max_length=200, pattern=NO_NUL)
    version: StrictInt = Field(..., ge=1, le=MAX_ID, description="The version you read; a newer one answers 409.")
    allow_duplicate: StrictBool = Field(
        False, description="Rename it even when the duplicate check finds matches (else 409 `duplicate`)."
    )


class PhoneOut(Schema):
    e164: str
    raw: str
    kind: str


class ContactOut(Schema):
    id: int
    customer_id: int
    name: str
    title: str
    decision_role: str
    email: str
    wechat: str
    is_primary: bool
    notes: str
    phones: list[PhoneOut]
    custom: dict[str, Any] = custom_property(Entity.CONTACT, required=True)

    resolve_custom = resolve_custom(Entity.CONTACT)

    @staticmethod
    def resolve_phones(obj: Any) -> list[Any]:
        return list(obj.phones.all())


class ContactFields(BaseModel):
    title: str | None = Field(None, max_length=100, pattern=NO_NUL)
    decision_role: str | None = Field(None, max_length=20, pattern=NO_NUL)
    email: str | None = Field(None, max_length=254, pattern=NO_NUL)
    wechat: str | None = Field(None, max_length=64, pattern=NO_NUL)
    is_primary: StrictBool | None = None
    notes: str | None = Field(None, max_length=2000, pattern=NO_NUL)
    phones: list[PhoneText] | None = Field(None, max_length=5, description="Any common format; stored in E.164.")
    custom: dict[str, Any] | None = custom_property(Entity.CONTACT)


class ContactIn(ContactFields):
    name: str = Field(..., min_length=1, max_length=100, pattern=NO_NUL)


class ContactPatch(ContactFields):
    name: str | None = Field(None, min_length=1, max_length=100, pattern=NO_NUL)


# ---- references by id ----------------------------------------------------------------------------


def _references(actor: User, data: dict[str, Any]) -> dict[str, Any]:
    """Ids in the body → objects the actor may see (an unseen id is refused like a missing one)."""
    if "owner_id" in data:
        owner_id = data.pop("owner_id")
        if owner_id is not None:
            data["owner"] = _people(actor, [owner_id], "owner_id")[0]
    if "team_id" in data:
        team_id = data.pop("team_id")
        team = Team.objects.visible_to(actor).filter(pk=team_id).first() if team_id is not None else None
        if team_id is not None and team is None:
            raise _bad("team_id")
        data["team"] = team
    if "collaborator_ids" in data:
        data["collaborators"] = _people(actor, data.pop("collaborator_ids") or [], "collaborator_ids")
    return data


# ---- customers -----------------------------------------------------------------------------------


@router.get(
    "/customers",
    response={200: list[CustomerOut], **ERRORS},
    summary="Customers you may see",
    description="Custom field filters: `cf_<key>=value` (contains for texts, equals otherwise), "
    "`cf_<key>__min` / `cf_<key>__max` (numbers, money, dates), `cf_<key>__set=1|0` (filled in or not).",
)
@paginate(Pagination)
def customers_list(request: HttpRequest, filters: Query[CustomerFiltersIn]) -> Any:
    f = filters
    actor = _actor(request)
    custom = custom_fields.filter_params(request.GET)
    check_filters(actor, Entity.CUSTOMER, custom)
    return selectors.customer_list(
        actor=_actor(request),
        filters=selectors.CustomerFilters(
            q=f.q,
            kind=f.kind,
            stage=f.stage,
            tier=f.tier,
            source=f.source,
            industry=f.industry,
            country=f.country,
            province=f.province,
            city=f.city,
            size=f.size,
            owner_id=f.owner,
            team_id=f.team,
            tag=f.tag,
            potential_min=f.potential_min,
            potential_max=f.potential_max,
            sort=f.sort,
            custom=custom,
        ),
    ).prefetch_related("collaborators")


@router.post("/customers", response={201: CustomerOut, 409: ErrorOut, **WRITE_ERRORS}, summary="Create a customer")
def customer_create(request: HttpRequest, payload: CustomerIn) -> Status[Customer]:
    """A probable duplicate answers 409 ``duplicate`` with ``details.matches`` unless ``allow_duplicate``."""
    actor = _actor(request)
    data = _references(actor, payload.model_dump(exclude_none=True))
    if data.get("team", "") is None:
        data.pop("team")
    customer = services.customer_create(actor=actor, **data)
    return Status(201, selectors.customer_get(actor=actor, customer_id=customer.pk))


@router.get("/customers/{customer_id}", response={200: CustomerOut, **ERRORS}, summary="One customer")
def customer_detail(request: HttpRequest, customer_id: int) -> Customer:
    return selectors.customer_get(actor=_actor(request), customer_id=customer_id)


@router.patch(
    "/customers/{customer_id}", response={200: CustomerOut, 409: ErrorOut, **WRITE_ERRORS}, summary="Update a customer"
)
def customer_update(request: HttpRequest, customer_id: int, payload: CustomerPatch) -> Customer:
    actor = _actor(request)
    customer = selectors.customer_get(actor=actor, customer_id=customer_id)
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version")
    data["allow_duplicate"] = bool(data.get("allow_duplicate"))
    for name in (
        "name",
        "kind",
        "lifecycle_stage",
        "country",
        "currency",
        "tags",
        "collaborator_ids",
        "owner_id",
        "custom",
    ):
        if name in data and data[name] is None:
            data.pop(name)  # required values: null means "leave as is"
    services.customer_update(actor=actor, customer=customer, version=version, **_references(actor, data))
    return selectors.customer_get(actor=actor, customer_id=customer_id)


@router.delete("/customers/{customer_id}", response={204: None, **ERRORS}, summary="Delete a customer")
def customer_delete(request: HttpRequest, customer_id: int) -> Status[None]:
    actor = _actor(request)
    services.customer_delete(actor=actor, customer=selectors.customer_get(actor=actor, customer_id=customer_id))
    return Status(204, None)


# ---- contacts ------------------------------------------------------------------------------------


@router.get(
    "/customers/{customer_id}/contacts", response={200: list[ContactOut], **ERRORS}, summary="A customer's contacts"
)
@paginate(Pagination)
def contacts_list(request: HttpRequest, customer_id: int) -> Any:
    actor = _actor(request)
    return selectors.contact_list(actor=actor, customer=selectors.customer_get(actor=actor, customer_id=customer_id))


@router.post("/customers/{customer_id}/contacts", response={201: ContactOut, **WRITE_ERRORS}, summary="Add a contact")
def contact_create(request: HttpRequest, customer_id: int, payload: ContactIn) -> Status[Contact]:
    actor = _actor(request)
    customer = selectors.customer_get(actor=actor, customer_id=customer_id)
    contact = services.contact_create(actor=actor, customer=customer, **payload.model_dump(exclude_none=True))
    return Status(201, selectors.contact_get(actor=actor, contact_id=contact.pk))


@router.patch(
    "/customers/{customer_id}/contacts/{contact_id}",
    response={200: ContactOut, **WRITE_ERRORS},
    summary="Update a contact",
)
def contact_update(request: HttpRequest, customer_id: int, contact_id: int, payload: ContactPatch) -> Contact:
    actor = _actor(request)
    contact = selectors.contact_get(actor=actor, contact_id=contact_id, customer_id=customer_id)
    services.contact_update(actor=actor, contact=contact, **payload.model_dump(exclude_none=True))
    return selectors.contact_get(actor=actor, contact_id=contact_id)


@router.delete(
    "/customers/{customer_id}/contacts/{contact_id}", response={204: None, **ERRORS}, summary="Delete a contact"
)
def contact_delete(request: HttpRequest, customer_id: int, contact_id: int) -> Status[None]:
    actor = _actor(request)
    contact = selectors.contact_get(actor=actor, contact_id=contact_id, customer_id=customer_id)
    services.contact_delete(actor=actor, contact=contact)
    return Status(204, None)
