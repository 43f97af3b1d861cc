"""Reads about contracts, payment plans, payments, aging (账龄) and collection rates. Every read
takes the actor and starts from ``visible_to(actor)`` (a contract is visible when its customer is).

Aging and collection figures are computed in the database: one grouped query sums the outstanding
amounts per (group, bucket, currency, exchange rate), the rate being the one in force on each
line's due date (a correlated subquery on the indexed rate table, only for foreign currencies).
Python then multiplies the few grouped sums by their exact ``Decimal`` rates and rounds each figure
*once*, half-up to the base currency's minor unit (docs/money.md): a cell, a row total and the grand
total are each rounded from their exact value. Rows whose currency has no rate on their date are
left out of the totals and reported in ``missing_rates``.

Buckets by days overdue (today − due date): due today or later is "not yet due"; 1–30, 31–60, 61–90
and more than 90 days. Draft (unsigned) and terminated contracts are not in the aging.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Case,
    CharField,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.contracts.models import (
    Contract,
    ContractAttachment,
    ContractStatus,
    Payment,
    PaymentPlanLine,
    Refund,
)
from bridgecrm.contracts.services.payments import LINE_STATUS_LABELS, line_status
from bridgecrm.core.errors import NotFound
from bridgecrm.core.models import CompanyProfile, ExchangeRate
from bridgecrm.core.money import quantize
from bridgecrm.core.ordering import total_order
from bridgecrm.pipeline.deal_selectors import deal_visible
from bridgecrm.users.models import User

AMOUNT = DecimalField(max_digits=18, decimal_places=2)
RATE = DecimalField(max_digits=20, decimal_places=10)
MONEY = DecimalField(max_digits=16, decimal_places=2)

SORTS: dict[str, tuple[str, bool]] = {
    "-created": ("created_at", True),
    "created": ("created_at", False),
    "-signed": ("signed_on", True),
    "signed": ("signed_on", False),
    "-amount": ("amount", True),
    "amount": ("amount", False),
    "number": ("number", False),
    "-number": ("number", True),
}
DEFAULT_SORT = "-created"
PAYMENT_SORTS: dict[str, tuple[str, bool]] = {
    "-received": ("received_on", True),
    "received": ("received_on", False),
    "-amount": ("amount", True),
    "amount": ("amount", False),
}


def _not_found() -> NotFound:
    return NotFound("not_found", _("Not found."))


def _valid_id(value: int) -> bool:
    return 0 < value < 2**63


# ---- contracts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContractFilters:
    q: str = ""
    status: str = ""
    customer_id: int | None = None
    owner_id: int | None = None
    team_id: int | None = None
    deal_id: int | None = None
    signed_from: dt.date | None = None
    signed_to: dt.date | None = None
    sort: str = DEFAULT_SORT


def contract_list(*, actor: User, filters: ContractFilters | None = None) -> QuerySet[Contract]:
    f = filters or ContractFilters()
    qs = Contract.objects.visible_to(actor)
    text = " ".join(f.q.split())[:100]
    if text:
        qs = qs.filter(Q(number__icontains=text) | Q(title__icontains=text) | Q(customer__name__icontains=text))
    if f.status:
        qs = qs.filter(status=f.status)
    for name, value in (("customer_id", f.customer_id), ("owner_id", f.owner_id), ("deal_id", f.deal_id)):
        if value is not None:
            qs = qs.filter(**{name: value})
    if f.team_id is not None:
        qs = qs.filter(owner__team_id=f.team_id)
    if f.signed_from is not None:
        qs = qs.filter(signed_on__gte=f.signed_from)
    if f.signed_to is not None:
        qs = qs.filter(signed_on__lte=f.signed_to)
    field_name, descending = SORTS.get(f.sort, SORTS[DEFAULT_SORT])
    qs = qs.select_related("customer", "owner", "owner__team", "deal").annotate(deal_visible=deal_visible(actor))
    return qs.order_by(*total_order(Contract, field_name, descending=descending))


def contract_get(*, actor: User, contract_id: int) -> Contract:
    if not _valid_id(contract_id):
        raise _not_found()
    contract = (
        Contract.objects.visible_to(actor)
        .select_related("customer", "owner", "owner__team", "deal", "quote")
        .annotate(deal_visible=deal_visible(actor))
        .filter(pk=contract_id)
        .first()
    )
    if contract is None:
        raise _not_found()
    return contract


def attachment_get(*, actor: User, contract_id: int, attachment_id: int) -> ContractAttachment:
    if not (_valid_id(contract_id) and _valid_id(attachment_id)):
        raise _not_found()
    found = (
        ContractAttachment.objects.visible_to(actor)
        .select_related("contract")
        .filter(pk=attachment_id, contract_id=contract_id)
        .first()
    )
    if found is None:
        raise _not_found()
    return found


def attachment_list(*, actor: User, contract: Contract) -> list[ContractAttachment]:
    return list(ContractAttachment.objects.visible_to(actor).filter(contract=contract).select_related("uploaded_by"))


@dataclass
class PlanRow:
    line: PaymentPlanLine
    status: str
    status_label: Any
    outstanding: decimal.Decimal


def plan_rows(*, actor: User, contract: Contract, today: dt.date | None = None) -> list[PlanRow]:
    today = today or timezone.localdate()
    lines = PaymentPlanLine.objects.visible_to(actor).filter(contract=contract).order_by("due_on", "id")
    rows = []
    for line in lines:
        status = line_status(amount=line.amount, paid=line.paid_amount, due_on=line.due_on, today=today)
        rows.append(PlanRow(line, status, LINE_STATUS_LABELS[status], line.amount - line.paid_amount))
    return rows


@dataclass(frozen=True)
class ContractFigures:
    planned: decimal.Decimal
    received: decimal.Decimal
    outstanding: decimal.Decimal  # planned − received
    due_to_date: decimal.Decimal  # plan lines due up to today
    overdue: decimal.Decimal  # unpaid part of lines past due
    rate_of_due: decimal.Decimal | None  # received ÷ due to date (None when nothing is due yet)
    rate_of_amount: decimal.Decimal | None  # received ÷ contract amount


def _ratio(part: decimal.Decimal, whole: decimal.Decimal) -> decimal.Decimal | None:
    if whole <= 0:
        return None
    return (part / whole * 100).quantize(decimal.Decimal("0.1"), rounding=decimal.ROUND_HALF_UP)


def contract_figures(*, contract: Contract, rows: list[PlanRow], today: dt.date | None = None) -> ContractFigures:
    today = today or timezone.localdate()
    planned = sum((r.line.amount for r in rows), decimal.Decimal(0))
    due = sum((r.line.amount for r in rows if r.line.due_on <= today), decimal.Decimal(0))
    overdue = sum((r.outstanding for r in rows if r.line.due_on < today), decimal.Decimal(0))
    received = contract.received_amount
    return ContractFigures(
        planned=planned,
        received=received,
        outstanding=planned - received,
        due_to_date=due,
        overdue=overdue,
        rate_of_due=_ratio(min(received, due) if due else received, due),
        rate_of_amount=_ratio(received, contract.amount),
    )


# ---- payments ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentFilters:
    q: str = ""
    contract_id: int | None = None
    customer_id: int | None = None
    owner_id: int | None = None
    team_id: int | None = None
    method: str = ""
    received_from: dt.date | None = None
    received_to: dt.date | None = None
    sort: str = "-received"


def payment_list(*, actor: User, filters: PaymentFilters | None = None) -> QuerySet[Payment]:
    f = filters or PaymentFilters()
    qs = Payment.objects.visible_to(actor)
    text = " ".join(f.q.split())[:100]
    if text:
        qs = qs.filter(
            Q(reference__icontains=text)
            | Q(contract__number__icontains=text)
            | Q(contract__customer__name__icontains=text)
        )
    if f.contract_id is not None:
        qs = qs.filter(contract_id=f.contract_id)
    if f.customer_id is not None:
        qs = qs.filter(contract__customer_id=f.customer_id)
    if f.owner_id is not None:
        qs = qs.filter(contract__owner_id=f.owner_id)
    if f.team_id is not None:
        qs = qs.filter(contract__owner__team_id=f.team_id)
    if f.method:
        qs = qs.filter(method=f.method)
    if f.received_from is not None:
        qs = qs.filter(received_on__gte=f.received_from)
    if f.received_to is not None:
        qs = qs.filter(received_on__lte=f.received_to)
    field_name, descending = PAYMENT_SORTS.get(f.sort, PAYMENT_SORTS["-received"])
    return (
        qs.select_related("contract", "contract__customer", "contract__owner", "recorded_by")
        .annotate(refunded=refunded_expression())
        .annotate(net=ExpressionWrapper(F("amount") - F("refunded"), output_field=MONEY))
        .order_by(*total_order(Payment, field_name, descending=descending))
    )


def refunded_expression() -> Coalesce:
    """What has been refunded of each payment (0 when nothing): a correlated sum on the refund's
    payment index, evaluated only for the rows of the page."""
    total = (
        Refund.objects.filter(payment_id=OuterRef("pk"))
        .order_by()
        .values("payment_id")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    return Coalesce(Subquery(total, output_field=MONEY), Value(decimal.Decimal(0), output_field=MONEY))


def payment_get(*, actor: User, payment_id: int, contract_id: int | None = None) -> Payment:
    if not _valid_id(payment_id) or (contract_id is not None and not _valid_id(contract_id)):
        raise _not_found()
    qs = Payment.objects.visible_to(actor)
    if contract_id is not None:
        qs = qs.filter(contract_id=contract_id)
    payment = qs.select_related("contract").filter(pk=payment_id).first()
    if payment is None:
        raise _not_found()
    return payment


def contract_payments(*, actor: User, contract: Contract) -> list[Payment]:
    """The contract's payments, newest first, each with its allocations and its refunds (newest
    first) prefetched and ``refunded`` / ``left`` (what may still be refunded) set."""
    payments = list(
        Payment.objects.visible_to(actor)
        .filter(contract=contract)
        .select_related("recorded_by")
        .prefetch_related(
            "allocations__plan_line",
            Prefetch("refunds", queryset=Refund.objects.select_related("recorded_by").order_by("-refunded_on", "-id")),
        )
        .order_by("-received_on", "-id")
    )
    for p in payments:
        refunded = sum((r.amount for r in p.refunds.all()), decimal.Decimal(0))
        p.refunded = refunded  # type: ignore[attr-defined]
        p.left = p.amount - refunded  # type: ignore[attr-defined]
    return payments


def refund_get(*, actor: User, refund_id: int, contract_id: int | None = None) -> Refund:
    if not _valid_id(refund_id) or (contract_id is not None and not _valid_id(contract_id)):
        raise _not_found()
    qs = Refund.objects.visible_to(actor)
    if contract_id is not None:
        qs = qs.filter(contract_id=contract_id)
    refund = qs.select_related("contract", "payment").filter(pk=refund_id).first()
    if refund is None:
        raise _not_found()
    return refund


def refund_list(*, actor: User, contract: Contract | None = None, payment: Payment | None = None) -> QuerySet[Refund]:
    qs = Refund.objects.visible_to(actor)
    if contract is not None:
        qs = qs.filter(contract=contract)
    if payment is not None:
        qs = qs.filter(payment=payment)
    return qs.prefetch_related("allocations").order_by("-refunded_on", "-id")


# ---- converting grouped sums to the base currency ------------------------------------------------


def base_currency() -> str:
    return CompanyProfile.current().base_currency


def _rate_expression(currency_path: str, date_path: str, base: str) -> Case:
    latest = (
        ExchangeRate.objects.filter(currency=OuterRef(currency_path), valid_from__lte=OuterRef(date_path))
        .order_by("-valid_from")
        .values("rate")[:1]
    )
    return Case(
        When(**{currency_path: base}, then=Value(decimal.Decimal(1), output_field=RATE)),
        default=Subquery(latest, output_field=RATE),
        output_field=RATE,
    )


Key = tuple[Any, ...]


def _grouped_in_base(
    qs: QuerySet[Any],
    *,
    keys: Iterable[str],
    sums: dict[str, Any],
    currency_path: str,
    date_path: str,
    base: str,
) -> tuple[dict[Key, dict[str, decimal.Decimal]], set[str]]:
    """Exact (unrounded) base-currency sums per key: one grouped query; Python multiplies the
    grouped sums by their rate. Returns (sums per key, currencies with a missing rate)."""
    keys = list(keys)
    rows = (
        qs.annotate(_rate=_rate_expression(currency_path, date_path, base), _currency=F(currency_path))
        .values(*keys, "_currency", "_rate")
        .annotate(**{name: Sum(expr) for name, expr in sums.items()})
        .order_by()
    )
    result: dict[Key, dict[str, decimal.Decimal]] = defaultdict(lambda: dict.fromkeys(sums, decimal.Decimal(0)))
    missing: set[str] = set()
    for row in rows:
        rate = row["_rate"]
        if rate is None:
            missing.add(row["_currency"])
            continue
        cell = result[tuple(row[k] for k in keys)]
        for name in sums:
            cell[name] += decimal.Decimal(row[name] or 0) * decimal.Decimal(rate)
    return result, missing


# ---- aging ---------------------------------------------------------------------------------------

BUCKETS: tuple[tuple[str, Any], ...] = (
    ("not_due", _("Not yet due")),
    ("d1_30", _("1–30 days")),
    ("d31_60", _("31–60 days")),
    ("d61_90", _("61–90 days")),
    ("d90_plus", _("Over 90 days")),
)
BUCKET_KEYS = tuple(k for k, _label in BUCKETS)
OVERDUE_BUCKETS = BUCKET_KEYS[1:]

GROUPS: dict[str, tuple[str, str, str]] = {
    # group_by → (id path, label path, fallback label path) on PaymentPlanLine
    "customer": ("contract__customer_id", "contract__customer__name", "contract__customer__name"),
    "owner": ("contract__owner_id", "contract__owner__full_name", "contract__owner__username"),
    "team": ("contract__owner__team_id", "contract__owner__team__name", "contract__owner__team__name"),
}
GROUP_LABELS = {"customer": _("Customer"), "owner": _("Sales rep"), "team": _("Team")}


def bucket_expression(today: dt.date) -> Case:
    return Case(
        When(due_on__gte=today, then=Value("not_due")),
        When(due_on__gte=today - dt.timedelta(days=30), then=Value("d1_30")),
        When(due_on__gte=today - dt.timedelta(days=60), then=Value("d31_60")),
        When(due_on__gte=today - dt.timedelta(days=90), then=Value("d61_90")),
        default=Value("d90_plus"),
        output_field=CharField(),
    )


def bucket_of(days_overdue: int) -> str:
    """The bucket of a line ``days_overdue`` days past its due date (≤ 0: not yet due)."""
    if days_overdue <= 0:
        return "not_due"
    if days_overdue <= 30:
        return "d1_30"
    if days_overdue <= 60:
        return "d31_60"
    if days_overdue <= 90:
        return "d61_90"
    return "d90_plus"


@dataclass
class AgingRow:
    key: Any
    label: str
    buckets: dict[str, decimal.Decimal]
    overdue: decimal.Decimal
    total: decimal.Decimal


@dataclass
class AgingReport:
    group_by: str
    base: str
    today: dt.date
    rows: list[AgingRow]
    totals: dict[str, decimal.Decimal]
    overdue: decimal.Decimal
    total: decimal.Decimal
    missing_rates: list[str] = field(default_factory=list)


def aging_lines(*, actor: User, today: dt.date) -> QuerySet[PaymentPlanLine]:
    """Visible plan lines still owed on signed, not terminated contracts."""
    return PaymentPlanLine.objects.visible_to(actor).filter(
        paid_amount__lt=F("amount"), contract__status__in=[ContractStatus.ACTIVE, ContractStatus.COMPLETED]
    )


def aging(
    *,
    actor: User,
    group_by: str = "customer",
    today: dt.date | None = None,
    customer_id: int | None = None,
    owner_id: int | None = None,
    team_id: int | None = None,
) -> AgingReport:
    today = today or timezone.localdate()
    if group_by not in GROUPS:
        group_by = "customer"
    base = base_currency()
    id_path, label_path, fallback_path = GROUPS[group_by]
    qs = aging_lines(actor=actor, today=today)
    if customer_id is not None:
        qs = qs.filter(contract__customer_id=customer_id)
    if owner_id is not None:
        qs = qs.filter(contract__owner_id=owner_id)
    if team_id is not None:
        qs = qs.filter(contract__owner__team_id=team_id)
    qs = qs.annotate(bucket=bucket_expression(today))
    outstanding = ExpressionWrapper(F("amount") - F("paid_amount"), output_field=AMOUNT)
    keys = [id_path, label_path, fallback_path, "bucket"]
    sums, missing = _grouped_in_base(
        qs, keys=keys, sums={"owed": outstanding}, currency_path="contract__currency", date_path="due_on", base=base
    )
    exact: dict[Any, dict[str, decimal.Decimal]] = {}
    labels: dict[Any, str] = {}
    for (group_id, label, fallback, bucket), cell in sums.items():
        exact.setdefault(group_id, dict.fromkeys(BUCKET_KEYS, decimal.Decimal(0)))[bucket] += cell["owed"]
        labels[group_id] = label or fallback or str(_("(no team)"))
    rows = []
    for group_id, buckets in exact.items():
        overdue_exact = sum((buckets[b] for b in OVERDUE_BUCKETS), decimal.Decimal(0))
        rows.append(
            AgingRow(
                key=group_id,
                label=labels[group_id],
                buckets={b: quantize(v, base) for b, v in buckets.items()},
                overdue=quantize(overdue_exact, base),
                total=quantize(sum(buckets.values(), decimal.Decimal(0)), base),
            )
        )
    rows.sort(key=lambda r: (-r.overdue, -r.total, r.label))
    column_exact = {b: sum((e[b] for e in exact.values()), decimal.Decimal(0)) for b in BUCKET_KEYS}
    return AgingReport(
        group_by=group_by,
        base=base,
        today=today,
        rows=rows,
        totals={b: quantize(v, base) for b, v in column_exact.items()},
        overdue=quantize(sum((column_exact[b] for b in OVERDUE_BUCKETS), decimal.Decimal(0)), base),
        total=quantize(sum(column_exact.values(), decimal.Decimal(0)), base),
        missing_rates=sorted(missing),
    )


# ---- collection rates ----------------------------------------------------------------------------


@dataclass
class CollectionRow:
    key: Any
    label: str
    due: decimal.Decimal  # plan lines that fell due in the period (up to today)
    collected: decimal.Decimal  # what has been paid on those lines
    rate_of_due: decimal.Decimal | None
    contract_amount: decimal.Decimal  # contracts signed in the period
    received_on_contracts: decimal.Decimal  # received so far on those contracts
    rate_of_amount: decimal.Decimal | None
    received_in_period: decimal.Decimal  # every payment received in the period, less the period's refunds
    refunded_in_period: decimal.Decimal = decimal.Decimal(0)  # refunds dated in the period


@dataclass
class CollectionReport:
    group_by: str
    base: str
    date_from: dt.date
    date_to: dt.date
    rows: list[CollectionRow]
    total: CollectionRow
    missing_rates: list[str] = field(default_factory=list)


COLLECTION_GROUPS: dict[str, tuple[str, str, str]] = {
    "owner": ("owner_id", "owner__full_name", "owner__username"),
    "team": ("owner__team_id", "owner__team__name", "owner__team__name"),
    "customer": ("customer_id", "customer__name", "customer__name"),
}


def _prefixed(prefix: str, paths: tuple[str, str, str]) -> list[str]:
    return [prefix + p for p in paths]


def collections(
    *, actor: User, date_from: dt.date, date_to: dt.date, group_by: str = "owner", today: dt.date | None = None
) -> CollectionReport:
    """Collection rates of the period per rep, team or customer, in the base currency:
    received ÷ due (plan lines that fell due in the period, up to today) and received ÷ contract
    amount (contracts signed in the period), plus all payments received in the period."""
    today = today or timezone.localdate()
    if group_by not in COLLECTION_GROUPS:
        group_by = "owner"
    base = base_currency()
    paths = COLLECTION_GROUPS[group_by]
    due_until = min(date_to, today)
    lines = PaymentPlanLine.objects.visible_to(actor).filter(
        due_on__gte=date_from,
        due_on__lte=due_until,
        contract__status__in=[ContractStatus.ACTIVE, ContractStatus.COMPLETED],
    )
    due_sums, missing_a = _grouped_in_base(
        lines,
        keys=_prefixed("contract__", paths),
        sums={"due": F("amount"), "collected": F("paid_amount")},
        currency_path="contract__currency",
        date_path="due_on",
        base=base,
    )
    contracts = Contract.objects.visible_to(actor).filter(
        signed_on__gte=date_from, signed_on__lte=date_to, status__in=[ContractStatus.ACTIVE, ContractStatus.COMPLETED]
    )
    amount_sums, missing_b = _grouped_in_base(
        contracts,
        keys=list(paths),
        sums={"amount": F("amount"), "received": F("received_amount")},
        currency_path="currency",
        date_path="signed_on",
        base=base,
    )
    payments = Payment.objects.visible_to(actor).filter(received_on__gte=date_from, received_on__lte=date_to)
    paid_sums, missing_c = _grouped_in_base(
        payments,
        keys=_prefixed("contract__", paths),
        sums={"paid": F("amount")},
        currency_path="currency",
        date_path="received_on",
        base=base,
    )
    # A refund counts on its own date (a March refund of a January payment lowers March), at that
    # date's rate.
    refunds = Refund.objects.visible_to(actor).filter(refunded_on__gte=date_from, refunded_on__lte=date_to)
    refund_sums, missing_d = _grouped_in_base(
        refunds,
        keys=_prefixed("contract__", paths),
        sums={"refunded": F("amount")},
        currency_path="currency",
        date_path="refunded_on",
        base=base,
    )
    labels: dict[Any, str] = {}
    merged: dict[Any, dict[str, decimal.Decimal]] = {}
    for source in (due_sums, amount_sums, paid_sums, refund_sums):
        for (key, label, fallback), cell in source.items():
            labels[key] = label or fallback or str(_("(no team)"))
            target = merged.setdefault(key, defaultdict(lambda: decimal.Decimal(0)))
            for name, value in cell.items():
                target[name] += value

    def make(key: Any, label: str, cell: dict[str, decimal.Decimal]) -> CollectionRow:
        due = quantize(cell["due"], base)
        collected = quantize(cell["collected"], base)
        amount = quantize(cell["amount"], base)
        received = quantize(cell["received"], base)
        return CollectionRow(
            key=key,
            label=label,
            due=due,
            collected=collected,
            rate_of_due=_ratio(collected, due),
            contract_amount=amount,
            received_on_contracts=received,
            rate_of_amount=_ratio(received, amount),
            received_in_period=quantize(cell["paid"] - cell["refunded"], base),
            refunded_in_period=quantize(cell["refunded"], base),
        )

    rows = [make(key, labels[key], cell) for key, cell in merged.items()]
    rows.sort(key=lambda r: (-(r.rate_of_due or 0), -r.due, r.label))
    grand: dict[str, decimal.Decimal] = defaultdict(lambda: decimal.Decimal(0))
    for cell in merged.values():
        for name, value in cell.items():
            grand[name] += value
    return CollectionReport(
        group_by=group_by,
        base=base,
        date_from=date_from,
        date_to=date_to,
        rows=rows,
        total=make(None, str(_("Total")), grand),
        missing_rates=sorted(missing_a | missing_b | missing_c | missing_d),
    )
