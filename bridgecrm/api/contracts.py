# No `from __future__ import annotations`: @paginate wraps the list views (see users.py).
"""The API for contracts, payment plans, payments, aging and exchange rates: the same selectors and
services as the UI, the same visibility (a contract one may not see is a 404)."""

import datetime as dt
import decimal
import re
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status
from pydantic import BaseModel, BeforeValidator, StrictInt

from bridgecrm.api.pagination import Pagination
from bridgecrm.api.references import bad_reference as _bad
from bridgecrm.api.schemas import MAX_ID, NO_NUL, ErrorOut
from bridgecrm.contracts import selectors
from bridgecrm.contracts.models import Contract, ContractStatus, Payment, PaymentMethod, Refund
from bridgecrm.contracts.services import contracts as contract_services
from bridgecrm.contracts.services import payments as payment_services
from bridgecrm.contracts.services import refunds as refund_services
from bridgecrm.core import services as core_services
from bridgecrm.core.errors import PermissionDenied
from bridgecrm.core.models import CompanyProfile, ExchangeRate
from bridgecrm.core.money import quantize
from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.models import Deal
from bridgecrm.users.models import User

router = Router(tags=["contracts"])
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {400: ErrorOut, 409: ErrorOut, **ERRORS}
MAX_AMOUNT = decimal.Decimal("99999999999999.99")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date_only(value: Any) -> Any:
    """Dates are YYYY-MM-DD strings (or dates): pydantic would also take a number as a Unix time."""
    if isinstance(value, dt.date) or (isinstance(value, str) and ISO_DATE.match(value)):
        return value
    raise ValueError("Enter a date as YYYY-MM-DD.")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_only)]


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


# ---- schemas -------------------------------------------------------------------------------------


class ContractFiltersIn(Schema):
    q: str = Field("", max_length=100, pattern=NO_NUL)
    status: str = Field("", pattern="^(|" + "|".join(ContractStatus.values) + ")$")
    customer: int | None = Field(None, ge=1, le=MAX_ID)
    owner: int | None = Field(None, ge=1, le=MAX_ID)
    deal: int | None = Field(None, ge=1, le=MAX_ID)
    team: int | None = Field(None, ge=1, le=MAX_ID)
    signed_from: IsoDate | None = None
    signed_to: IsoDate | None = None
    sort: str = Field(selectors.DEFAULT_SORT, pattern="^(" + "|".join(selectors.SORTS) + ")$")


class ContractOut(Schema):
    id: int
    number: str
    title: str
    customer_id: int
    deal_id: int | None
    quote_id: int | None
    amount: decimal.Decimal
    currency: str
    received_amount: decimal.Decimal
    signed_on: dt.date | None
    starts_on: dt.date | None
    ends_on: dt.date | None
    status: str
    owner_id: int
    notes: str
    created_at: dt.datetime
    updated_at: dt.datetime
    lock_version: int


class ContractFields(BaseModel):
    deal_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    currency: str | None = Field(None, max_length=3, pattern=NO_NUL)
    signed_on: IsoDate | None = None
    starts_on: IsoDate | None = None
    ends_on: IsoDate | None = None
    owner_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    notes: str | None = Field(None, max_length=4000, pattern=NO_NUL)


class ContractIn(ContractFields):
    title: str = Field(..., min_length=1, max_length=200, pattern=NO_NUL)
    customer_id: StrictInt = Field(..., ge=1, le=MAX_ID)
    amount: decimal.Decimal = Field(..., ge=0, le=MAX_AMOUNT)


class ContractPatch(ContractFields):
    title: str | None = Field(None, min_length=1, max_length=200, pattern=NO_NUL)
    customer_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    amount: decimal.Decimal | None = Field(None, ge=0, le=MAX_AMOUNT)
    lock_version: StrictInt = Field(..., ge=1, le=MAX_ID, description="The version you read; a newer one answers 409.")


class ContractStatusIn(BaseModel):
    status: str = Field(..., pattern="^(" + "|".join(ContractStatus.values) + ")$")
    lock_version: StrictInt | None = Field(None, ge=1, le=MAX_ID)


class PlanLineOut(Schema):
    id: int
    due_on: dt.date
    amount: decimal.Decimal
    paid_amount: decimal.Decimal
    paid_on: dt.date | None
    note: str
    status: str


class PaymentPlanOut(Schema):
    contract_id: int
    currency: str
    lock_version: int
    lines: list[PlanLineOut]


class PlanLineIn(BaseModel):
    id: int | None = Field(None, ge=1, le=MAX_ID)
    due_on: IsoDate
    amount: decimal.Decimal = Field(..., gt=0, le=MAX_AMOUNT)
    note: str = Field("", max_length=200, pattern=NO_NUL)


class PaymentPlanIn(BaseModel):
    lines: list[PlanLineIn] = Field(..., max_length=payment_services.MAX_PLAN_LINES)
    lock_version: StrictInt = Field(..., ge=1, le=MAX_ID)


class AllocationOut(Schema):
    plan_line_id: int
    amount: decimal.Decimal


class PaymentOut(Schema):
    id: int
    contract_id: int
    received_on: dt.date
    amount: decimal.Decimal
    currency: str
    method: str
    reference: str
    note: str
    recorded_by_id: int
    created_at: dt.datetime
    allocations: list[AllocationOut]
    refunded_amount: decimal.Decimal = Field(description="the sum of the payment's refunds")

    @staticmethod
    def resolve_allocations(obj: Any) -> list[Any]:
        return list(obj.allocations.all())

    @staticmethod
    def resolve_refunded_amount(obj: Any) -> decimal.Decimal:
        refunded = getattr(obj, "refunded", None)
        total = refunded if refunded is not None else refund_services.refunded_total(obj)
        return quantize(decimal.Decimal(total), obj.currency)


class RefundAllocationOut(Schema):
    plan_line_id: int
    amount: decimal.Decimal


class RefundOut(Schema):
    id: int
    payment_id: int
    contract_id: int
    refunded_on: dt.date
    amount: decimal.Decimal = Field(description="in the payment's currency")
    currency: str
    reason: str
    recorded_by_id: int
    created_at: dt.datetime
    allocations: list[RefundAllocationOut] = Field(
        description="what the refund took back from each plan line (those lines are owed again)"
    )

    @staticmethod
    def resolve_allocations(obj: Any) -> list[Any]:
        return list(obj.allocations.all())


class RefundIn(BaseModel):
    refunded_on: IsoDate = Field(description="not before the payment was received, not in the future")
    amount: decimal.Decimal = Field(
        ..., gt=0, le=MAX_AMOUNT, description="at most what is left of the payment after its earlier refunds"
    )
    reason: str = Field(..., min_length=1, max_length=500, pattern=NO_NUL)


class PaymentIn(BaseModel):
    received_on: IsoDate
    amount: decimal.Decimal = Field(..., gt=0, le=MAX_AMOUNT)
    method: str = Field(PaymentMethod.BANK_TRANSFER, pattern="^(" + "|".join(PaymentMethod.values) + ")$")
    reference: str = Field("", max_length=100, pattern=NO_NUL)
    note: str = Field("", max_length=500, pattern=NO_NUL)


class AgingIn(Schema):
    group_by: str = Field("customer", pattern="^(customer|owner|team)$")


class AgingRowOut(Schema):
    key: int | None
    label: str
    buckets: dict[str, decimal.Decimal]
    overdue: decimal.Decimal
    total: decimal.Decimal


class AgingOut(Schema):
    group_by: str
    base_currency: str
    today: dt.date
    rows: list[AgingRowOut]
    totals: dict[str, decimal.Decimal]
    overdue: decimal.Decimal
    total: decimal.Decimal
    missing_rates: list[str]


class RateOut(Schema):
    currency: str
    valid_from: dt.date
    rate: decimal.Decimal


class RatesOut(Schema):
    base_currency: str
    items: list[RateOut]


class RateIn(BaseModel):
    currency: str = Field(..., min_length=3, max_length=3, pattern=NO_NUL)
    valid_from: IsoDate
    rate: decimal.Decimal = Field(..., gt=0, lt=decimal.Decimal("1e10"))


# ---- helpers -------------------------------------------------------------------------------------


def _references(actor: User, data: dict[str, Any]) -> dict[str, Any]:
    """Ids → objects. A customer one may not see is a 404 (the service says so); an unseen deal or
    owner is refused like an unknown one (400)."""
    if "customer_id" in data:
        customer_id = data.pop("customer_id")
        customer = Customer.objects.visible_to(actor).filter(pk=customer_id).first()
        if customer is None:
            raise contract_services.not_found()
        data["customer"] = customer
    if "deal_id" in data:
        deal_id = data.pop("deal_id")
        deal = Deal.objects.visible_to(actor).filter(pk=deal_id).first() if deal_id is not None else None
        if deal_id is not None and deal is None:
            raise _bad("deal_id")
        data["deal"] = deal
    if "owner_id" in data:
        owner_id = data.pop("owner_id")
        if owner_id is not None:
            owner = User.objects.visible_to(actor).filter(pk=owner_id).first()
            if owner is None:
                raise _bad("owner_id")
            data["owner"] = owner
    return data


def _plan_out(actor: User, contract: Contract) -> dict[str, Any]:
    rows = selectors.plan_rows(actor=actor, contract=contract)
    return {
        "contract_id": contract.pk,
        "currency": contract.currency,
        "lock_version": contract.lock_version,
        "lines": [
            {
                "id": r.line.pk,
                "due_on": r.line.due_on,
                "amount": r.line.amount,
                "paid_amount": r.line.paid_amount,
                "paid_on": r.line.paid_on,
                "note": r.line.note,
                "status": r.status,
            }
            for r in rows
        ],
    }


# ---- contracts -----------------------------------------------------------------------------------


@router.get("/contracts", response={200: list[ContractOut], **ERRORS}, summary="Contracts you may see")
@paginate(Pagination)
def contracts_list(request: HttpRequest, filters: Query[ContractFiltersIn]) -> Any:
    f = filters
    return selectors.contract_list(
        actor=_actor(request),
        filters=selectors.ContractFilters(
            q=f.q,
            status=f.status,
            customer_id=f.customer,
            owner_id=f.owner,
            deal_id=f.deal,
            team_id=f.team,
            signed_from=f.signed_from,
            signed_to=f.signed_to,
            sort=f.sort,
        ),
    )


@router.post("/contracts", response={201: ContractOut, **WRITE_ERRORS}, summary="Create a draft contract")
def contract_create(request: HttpRequest, payload: ContractIn) -> Status[Contract]:
    actor = _actor(request)
    data = _references(actor, payload.model_dump(exclude_none=True))
    contract = contract_services.contract_create(actor=actor, **data)
    return Status(201, selectors.contract_get(actor=actor, contract_id=contract.pk))


@router.get("/contracts/{contract_id}", response={200: ContractOut, **ERRORS}, summary="One contract")
def contract_detail(request: HttpRequest, contract_id: int) -> Contract:
    return selectors.contract_get(actor=_actor(request), contract_id=contract_id)


@router.patch("/contracts/{contract_id}", response={200: ContractOut, **WRITE_ERRORS}, summary="Update a contract")
def contract_update(request: HttpRequest, contract_id: int, payload: ContractPatch) -> Contract:
    actor = _actor(request)
    contract = selectors.contract_get(actor=actor, contract_id=contract_id)
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("lock_version")
    for name in ("title", "customer_id", "amount", "currency", "owner_id"):
        if name in data and data[name] is None:
            data.pop(name)
    contract_services.contract_update(actor=actor, contract=contract, lock_version=version, **_references(actor, data))
    return selectors.contract_get(actor=actor, contract_id=contract_id)


@router.post(
    "/contracts/{contract_id}/status", response={200: ContractOut, **WRITE_ERRORS}, summary="Change a contract's status"
)
def contract_status(request: HttpRequest, contract_id: int, payload: ContractStatusIn) -> Contract:
    actor = _actor(request)
    contract = selectors.contract_get(actor=actor, contract_id=contract_id)
    contract_services.contract_set_status(
        actor=actor, contract=contract, status=payload.status, lock_version=payload.lock_version
    )
    return selectors.contract_get(actor=actor, contract_id=contract_id)


@router.get(
    "/contracts/{contract_id}/plan", response={200: PaymentPlanOut, **ERRORS}, summary="A contract's payment plan"
)
def plan_get(request: HttpRequest, contract_id: int) -> Any:
    actor = _actor(request)
    return _plan_out(actor, selectors.contract_get(actor=actor, contract_id=contract_id))


@router.put("/contracts/{contract_id}/plan", response={200: PaymentPlanOut, **WRITE_ERRORS}, summary="Replace the plan")
def plan_set(request: HttpRequest, contract_id: int, payload: PaymentPlanIn) -> Any:
    actor = _actor(request)
    contract = selectors.contract_get(actor=actor, contract_id=contract_id)
    payment_services.plan_lines_set(
        actor=actor,
        contract=contract,
        lines=[payment_services.PlanLineIn(**line.model_dump()) for line in payload.lines],
        lock_version=payload.lock_version,
    )
    return _plan_out(actor, selectors.contract_get(actor=actor, contract_id=contract_id))


@router.get(
    "/contracts/{contract_id}/payments", response={200: list[PaymentOut], **ERRORS}, summary="A contract's payments"
)
@paginate(Pagination)
def payments_list(request: HttpRequest, contract_id: int) -> Any:
    actor = _actor(request)
    contract = selectors.contract_get(actor=actor, contract_id=contract_id)
    return selectors.payment_list(
        actor=actor, filters=selectors.PaymentFilters(contract_id=contract.pk)
    ).prefetch_related("allocations")


@router.post(
    "/contracts/{contract_id}/payments", response={201: PaymentOut, **WRITE_ERRORS}, summary="Record a payment"
)
def payment_record(request: HttpRequest, contract_id: int, payload: PaymentIn) -> Status[Payment]:
    actor = _actor(request)
    contract = selectors.contract_get(actor=actor, contract_id=contract_id)
    payment = payment_services.payment_record(actor=actor, contract=contract, **payload.model_dump())
    return Status(201, selectors.payment_get(actor=actor, payment_id=payment.pk))


@router.delete("/payments/{payment_id}", response={204: None, **WRITE_ERRORS}, summary="Delete a payment")
def payment_delete(request: HttpRequest, payment_id: int) -> Status[None]:
    actor = _actor(request)
    payment_services.payment_delete(actor=actor, payment=selectors.payment_get(actor=actor, payment_id=payment_id))
    return Status(204, None)


@router.get(
    "/contracts/{contract_id}/refunds", response={200: list[RefundOut], **ERRORS}, summary="A contract's refunds"
)
@paginate(Pagination)
def refunds_list(request: HttpRequest, contract_id: int) -> Any:
    actor = _actor(request)
    contract = selectors.contract_get(actor=actor, contract_id=contract_id)
    return selectors.refund_list(actor=actor, contract=contract)


@router.post(
    "/payments/{payment_id}/refunds",
    response={201: RefundOut, **WRITE_ERRORS},
    summary="Refund (part of) a payment",
    description=(
        "Gives back part or all of a payment. The plan lines the payment paid are owed again, latest due "
        "first; collected figures are net of the refund from its date on. Errors (400): `over_refund`, "
        "`before_payment`, `future_date`, `reason_required`, `invalid`."
    ),
)
def refund_record(request: HttpRequest, payment_id: int, payload: RefundIn) -> Status[Refund]:
    actor = _actor(request)
    payment = selectors.payment_get(actor=actor, payment_id=payment_id)
    refund = refund_services.refund_record(actor=actor, payment=payment, **payload.model_dump())
    return Status(201, selectors.refund_get(actor=actor, refund_id=refund.pk))


@router.get("/refunds/{refund_id}", response={200: RefundOut, **ERRORS}, summary="A refund")
def refund_get(request: HttpRequest, refund_id: int) -> Refund:
    return selectors.refund_get(actor=_actor(request), refund_id=refund_id)


@router.delete(
    "/refunds/{refund_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete a refund",
    description=(
        "A correction, for the contract owner's manager or an admin (as deleting a payment). Refused "
        "(`refund_refilled`) when a line it reopened has been paid again since."
    ),
)
def refund_delete(request: HttpRequest, refund_id: int) -> Status[None]:
    actor = _actor(request)
    refund_services.refund_delete(actor=actor, refund=selectors.refund_get(actor=actor, refund_id=refund_id))
    return Status(204, None)


# ---- collections and rates -----------------------------------------------------------------------


@router.get("/collections/aging", response={200: AgingOut, **ERRORS}, summary="Receivables aging")
def aging(request: HttpRequest, params: Query[AgingIn]) -> Any:
    report = selectors.aging(actor=_actor(request), group_by=params.group_by)
    return {
        "group_by": report.group_by,
        "base_currency": report.base,
        "today": report.today,
        "rows": [
            {"key": r.key, "label": r.label, "buckets": r.buckets, "overdue": r.overdue, "total": r.total}
            for r in report.rows
        ],
        "totals": report.totals,
        "overdue": report.overdue,
        "total": report.total,
        "missing_rates": report.missing_rates,
    }


@router.get("/exchange-rates", response={200: RatesOut, **ERRORS}, summary="Exchange rates")
def exchange_rates_list(request: HttpRequest) -> Any:
    return {
        "base_currency": CompanyProfile.current().base_currency,
        "items": list(ExchangeRate.objects.order_by("currency", "-valid_from")[:1000]),
    }


@router.post("/exchange-rates", response={201: RateOut, **WRITE_ERRORS}, summary="Record a dated rate (admins)")
def exchange_rate_set(request: HttpRequest, payload: RateIn) -> Status[ExchangeRate]:
    actor = _actor(request)
    if not actor.can(core_services.MANAGE_COMPANY):
        raise PermissionDenied("forbidden", _("You do not have permission to do this."))
    return Status(201, core_services.exchange_rate_set(actor=actor, **payload.model_dump()))
