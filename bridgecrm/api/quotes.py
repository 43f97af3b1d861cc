# No `from __future__ import annotations`: @paginate wraps the list views (see users.py).
"""The API for quotes: the same selectors and services as the UI."""

import datetime as dt
import decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status
from pydantic import BaseModel, StrictBool, StrictInt

from bridgecrm.api.pagination import Pagination
from bridgecrm.api.schemas import MAX_ID, NO_NUL, ErrorOut
from bridgecrm.contracts import pdf as quote_pdf_module
from bridgecrm.contracts import selectors_quotes as selectors
from bridgecrm.contracts.models import QuoteStatus
from bridgecrm.contracts.services import quotes as services
from bridgecrm.core.errors import ApplicationError
from bridgecrm.customers import selectors as customer_selectors
from bridgecrm.customers.models import Contact
from bridgecrm.users.models import User

router = Router(tags=["quotes"])
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {400: ErrorOut, 409: ErrorOut, **ERRORS}
MAX_PRICE = decimal.Decimal("999999999999.99")
ISO_DATE = r"^(|\d{4}-\d{2}-\d{2})$"


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class QuoteFiltersIn(Schema):
    q: str = Field("", max_length=100, pattern=NO_NUL)
    status: str = Field("", pattern="^(|" + "|".join(QuoteStatus.values) + ")$")
    customer: int | None = Field(None, ge=1, le=MAX_ID)
    deal: int | None = Field(None, ge=1, le=MAX_ID)
    owner: int | None = Field(None, ge=1, le=MAX_ID)
    # Plain ISO dates (YYYY-MM-DD): pydantic alone would also take a number as a date.
    created_from: str = Field("", pattern=ISO_DATE)
    created_to: str = Field("", pattern=ISO_DATE)
    sort: str = Field(selectors.DEFAULT_SORT, pattern="^(" + "|".join(selectors.SORTS) + ")$")


class QuoteLineOut(Schema):
    id: int
    product_id: int | None
    name: str
    description: str
    unit: str
    quantity: decimal.Decimal
    unit_price: decimal.Decimal
    discount_percent: decimal.Decimal
    line_total: decimal.Decimal


class QuoteOut(Schema):
    id: int
    number: str
    version: int
    status: str
    customer_id: int
    deal_id: int | None
    contact_id: int | None
    title: str
    currency: str
    tax_rate: decimal.Decimal
    subtotal: decimal.Decimal
    discount_total: decimal.Decimal
    tax_amount: decimal.Decimal
    total: decimal.Decimal
    valid_until: dt.date
    terms: str
    owner_id: int
    sent_at: dt.datetime | None
    decided_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    lock_version: int
    contract_id: int | None = None
    lines: list[QuoteLineOut] = []

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        return list(obj.lines.all())

    @staticmethod
    def resolve_contract_id(obj: Any) -> int | None:
        contract = getattr(obj, "contract", None) if obj.status == QuoteStatus.ACCEPTED else None
        return contract.pk if contract is not None else None


class QuoteSummaryOut(Schema):
    id: int
    number: str
    version: int
    status: str
    customer_id: int
    deal_id: int | None
    title: str
    currency: str
    total: decimal.Decimal
    valid_until: dt.date
    owner_id: int
    created_at: dt.datetime


class QuoteLineIn(BaseModel):
    product_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    name: str = Field("", max_length=200, pattern=NO_NUL)
    description: str = Field("", max_length=500, pattern=NO_NUL)
    unit: str = Field("", max_length=16, pattern=NO_NUL)
    quantity: decimal.Decimal = Field(decimal.Decimal(1), gt=0, le=decimal.Decimal("999999999.999"))
    unit_price: decimal.Decimal | None = Field(None, ge=0, le=MAX_PRICE)
    discount_percent: decimal.Decimal = Field(decimal.Decimal(0), ge=0, le=100)


class QuoteFields(BaseModel):
    contact_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    title: str | None = Field(None, max_length=200, pattern=NO_NUL)
    currency: str | None = Field(None, max_length=3, pattern=NO_NUL)
    tax_rate: decimal.Decimal | None = Field(None, ge=0, le=100)
    valid_until: dt.date | None = None
    terms: str | None = Field(None, max_length=4000, pattern=NO_NUL)


class QuoteIn(QuoteFields):
    customer_id: StrictInt = Field(..., ge=1, le=MAX_ID)
    deal_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    from_deal: StrictBool = Field(False, description="Copy the deal's line items (when no lines are given).")
    lines: list[QuoteLineIn] | None = Field(None, max_length=200)


class QuotePatch(QuoteFields):
    lines: list[QuoteLineIn] | None = Field(None, max_length=200)
    lock_version: StrictInt = Field(
        ..., ge=1, le=MAX_ID, description="The lock_version you read; a newer one answers 409."
    )


class QuoteStatusIn(BaseModel):
    action: str = Field(..., pattern="^(send|accept|reject|expire)$")
    lock_version: StrictInt | None = Field(None, ge=1, le=MAX_ID)


class ReviseIn(BaseModel):
    lock_version: StrictInt | None = Field(None, ge=1, le=MAX_ID)


def _lines(lines: list[QuoteLineIn] | None) -> list[dict[str, Any]] | None:
    if lines is None:
        return None
    return [
        {
            "product": line.product_id,
            "name": line.name,
            "description": line.description,
            "unit": line.unit,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "discount_percent": line.discount_percent,
        }
        for line in lines
    ]


def _date(field: str, text: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ApplicationError("invalid", _("Enter a valid date."), details={field: [text]}) from None


def _contact(actor: User, customer_id: int, contact_id: int | None) -> Contact | None:
    if contact_id is None:
        return None
    try:
        return customer_selectors.contact_get(actor=actor, contact_id=contact_id, customer_id=customer_id)
    except ApplicationError:
        raise ApplicationError(
            "invalid", _("Choose a contact of this customer."), details={"contact_id": ["not found"]}
        ) from None


@router.get("/quotes", response={200: list[QuoteSummaryOut], 400: ErrorOut, **ERRORS}, url_name="quotes_list")
@paginate(Pagination)
def quotes_list(request: HttpRequest, filters: Query[QuoteFiltersIn]) -> Any:
    f = selectors.QuoteFilters(
        q=filters.q,
        status=filters.status,
        customer_id=filters.customer,
        deal_id=filters.deal,
        owner_id=filters.owner,
        created_from=_date("created_from", filters.created_from),
        created_to=_date("created_to", filters.created_to),
        sort=filters.sort,
    )
    return selectors.quote_list(actor=_actor(request), filters=f)


@router.post("/quotes", response={201: QuoteOut, **WRITE_ERRORS}, url_name="quote_create")
def quote_create(request: HttpRequest, payload: QuoteIn) -> Any:
    actor = _actor(request)
    customer = customer_selectors.customer_get(actor=actor, customer_id=payload.customer_id)
    deal = None
    if payload.deal_id is not None:
        try:
            deal = selectors.deal_get(actor=actor, deal_id=payload.deal_id)
        except ApplicationError:
            raise ApplicationError(
                "invalid", _("Choose one of your deals."), details={"deal_id": ["not found"]}
            ) from None
    quote = services.quote_create(
        actor=actor,
        customer=customer,
        deal=deal,
        contact=_contact(actor, customer.pk, payload.contact_id),
        lines=_lines(payload.lines),
        from_deal=payload.from_deal,
        currency=payload.currency,
        tax_rate=payload.tax_rate,
        valid_until=payload.valid_until,
        terms=payload.terms or "",
        title=payload.title or "",
    )
    return Status(201, selectors.quote_get(actor=actor, quote_id=quote.pk))


@router.get("/quotes/{quote_id}", response={200: QuoteOut, **ERRORS}, url_name="quote_detail")
def quote_detail(request: HttpRequest, quote_id: int) -> Any:
    return selectors.quote_get(actor=_actor(request), quote_id=quote_id)


@router.patch("/quotes/{quote_id}", response={200: QuoteOut, **WRITE_ERRORS}, url_name="quote_update")
def quote_update(request: HttpRequest, quote_id: int, payload: QuotePatch) -> Any:
    actor = _actor(request)
    quote = selectors.quote_get(actor=actor, quote_id=quote_id)
    changes: dict[str, Any] = {
        k: v for k, v in payload.model_dump(exclude_unset=True).items() if k not in ("lock_version", "contact_id")
    }
    if "lines" in changes:
        changes["lines"] = _lines(payload.lines)
    if "contact_id" in payload.model_fields_set:
        changes["contact"] = _contact(actor, quote.customer_id, payload.contact_id)
    services.quote_update(actor=actor, quote=quote, lock_version=payload.lock_version, **changes)
    return selectors.quote_get(actor=actor, quote_id=quote.pk)


@router.post("/quotes/{quote_id}/status", response={200: QuoteOut, **WRITE_ERRORS}, url_name="quote_status")
def quote_status(request: HttpRequest, quote_id: int, payload: QuoteStatusIn) -> Any:
    actor = _actor(request)
    quote = selectors.quote_get(actor=actor, quote_id=quote_id)
    services.quote_set_status(actor=actor, quote=quote, action=payload.action, lock_version=payload.lock_version)
    return selectors.quote_get(actor=actor, quote_id=quote.pk)


@router.post("/quotes/{quote_id}/revise", response={201: QuoteOut, **WRITE_ERRORS}, url_name="quote_revise")
def quote_revise(request: HttpRequest, quote_id: int, payload: ReviseIn) -> Any:
    actor = _actor(request)
    quote = selectors.quote_get(actor=actor, quote_id=quote_id)
    new = services.quote_revise(actor=actor, quote=quote, lock_version=payload.lock_version)
    return Status(201, selectors.quote_get(actor=actor, quote_id=new.pk))


@router.get(
    "/quotes/{quote_id}/pdf",
    response={200: None, 503: ErrorOut, **ERRORS},
    url_name="quote_pdf",
    openapi_extra={"responses": {"200": {"description": "The quote as a PDF", "content": {"application/pdf": {}}}}},
)
def quote_pdf(request: HttpRequest, quote_id: int) -> HttpResponse:
    quote = selectors.quote_get(actor=_actor(request), quote_id=quote_id)
    response = HttpResponse(quote_pdf_module.quote_pdf(quote), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{quote_pdf_module.pdf_filename(quote)}"'
    return response
