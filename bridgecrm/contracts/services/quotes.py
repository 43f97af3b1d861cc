"""The one write path for quotes (报价单) and the document settings.

Totals are exact ``Decimal`` arithmetic (see :func:`compute_totals`): each line is rounded once to
the currency's minor unit, the subtotal is the sum of the rounded lines, the tax is the subtotal
times the rate rounded once, and the total is subtotal + tax, so the printed figures always add up.

Who may do what: whoever sees the quote's customer sees the quote and may create quotes for that
customer; changing a quote (edit, send, accept, reject, expire, revise) is for its owner, the
managers over the owner's team and admins. Every write is audited.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bridgecrm.contracts.models import Contract, DocumentSettings, Quote, QuoteLine, QuoteStatus
from bridgecrm.contracts.numbering import next_number
from bridgecrm.core import audit
from bridgecrm.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from bridgecrm.core.money import check_currency, quantize
from bridgecrm.customers.models import Contact, Customer
from bridgecrm.customers.policies import manages_owner
from bridgecrm.pipeline.models import Deal, DealLine, Product
from bridgecrm.users.models import User

MANAGE_COMPANY = "company.manage"
QUOTE_FIELDS = (
    "number", "version", "customer", "deal", "contact", "title", "currency", "tax_rate", "subtotal",
    "discount_total", "tax_amount", "total", "valid_until", "status", "terms", "owner",
)  # fmt: skip
SETTINGS_FIELDS = ("quote_prefix", "contract_prefix", "default_tax_rate", "quote_validity_days")
CONTRACT_FIELDS = ("number", "title", "customer", "deal", "quote", "amount", "currency", "status", "owner")
PREFIX_RE = re.compile(r"^[A-Za-z0-9-]{1,12}$")
MAX_LINES = 200
MAX_QUANTITY = decimal.Decimal("999999999.999")
MAX_PRICE = decimal.Decimal("999999999999.99")
MAX_AMOUNT = decimal.Decimal("99999999999999.99")  # what a 16-digit, 2-place column holds
HUNDRED = decimal.Decimal(100)
# Wide enough that qty × price × (100 − discount) is exact before the one rounding.
EXACT = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_UP)

# action → (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "send": ((QuoteStatus.DRAFT,), QuoteStatus.SENT),
    "accept": ((QuoteStatus.SENT,), QuoteStatus.ACCEPTED),
    "reject": ((QuoteStatus.SENT,), QuoteStatus.REJECTED),
    "expire": ((QuoteStatus.DRAFT, QuoteStatus.SENT), QuoteStatus.EXPIRED),
}
REVISABLE = (QuoteStatus.SENT, QuoteStatus.REJECTED, QuoteStatus.EXPIRED)


# ---- errors ----------------------------------------------------------------------------------------


def _invalid(field: str, message: Any, code: str = "invalid") -> ApplicationError:
    return ApplicationError(code, message, details={field: [str(message)]})


def _not_found() -> NotFound:
    return NotFound("not_found", _("Not found."))


def _forbidden() -> PermissionDenied:
    return PermissionDenied("forbidden", _("You do not have permission to do this."))


# ---- totals (pure) -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineAmounts:
    gross: decimal.Decimal  # quantity × unit price, rounded once
    net: decimal.Decimal  # quantity × unit price × (1 − discount %), rounded once: the line total


@dataclass(frozen=True)
class Totals:
    lines: tuple[LineAmounts, ...]
    subtotal: decimal.Decimal
    discount_total: decimal.Decimal
    tax_amount: decimal.Decimal
    total: decimal.Decimal


def line_amounts(
    quantity: decimal.Decimal, unit_price: decimal.Decimal, discount_percent: decimal.Decimal, currency: str
) -> LineAmounts:
    gross = EXACT.multiply(quantity, unit_price)
    net = EXACT.divide(EXACT.multiply(gross, EXACT.subtract(HUNDRED, discount_percent)), HUNDRED)
    return LineAmounts(gross=quantize(gross, currency), net=quantize(net, currency))


def compute_totals(
    lines: Iterable[tuple[decimal.Decimal, decimal.Decimal, decimal.Decimal]],
    tax_rate: decimal.Decimal,
    currency: str,
) -> Totals:
    """``lines`` are (quantity, unit price, discount %). Sums of rounded figures, one rounding each."""
    amounts = tuple(line_amounts(q, p, d, currency) for q, p, d in lines)
    subtotal = sum((a.net for a in amounts), decimal.Decimal(0))
    gross = sum((a.gross for a in amounts), decimal.Decimal(0))
    tax = quantize(EXACT.divide(EXACT.multiply(subtotal, tax_rate), HUNDRED), currency)
    return Totals(
        lines=amounts,
        subtotal=quantize(subtotal, currency),
        discount_total=quantize(gross - subtotal, currency),
        tax_amount=tax,
        total=quantize(subtotal + tax, currency),
    )


# ---- values ----------------------------------------------------------------------------------------


def _decimal(field: str, value: Any, *, places: int, low: decimal.Decimal, high: decimal.Decimal) -> decimal.Decimal:
    try:
        number = decimal.Decimal(str(value).strip().replace(",", ""))
    except (decimal.InvalidOperation, ValueError) as exc:
        raise _invalid(field, _("Enter a number.")) from exc
    if not number.is_finite():
        raise _invalid(field, _("Enter a number."))
    if number != number.quantize(decimal.Decimal(1).scaleb(-places), rounding=decimal.ROUND_HALF_UP):
        raise _invalid(field, _("Enter a number with at most %(places)d decimal places.") % {"places": places})
    if number < low or number > high:
        raise _invalid(field, _("Enter a number between %(low)s and %(high)s.") % {"low": low, "high": high})
    return number.quantize(decimal.Decimal(1).scaleb(-places))


def _tax_rate(value: Any) -> decimal.Decimal:
    return _decimal("tax_rate", value, places=2, low=decimal.Decimal(0), high=HUNDRED)


@dataclass(frozen=True)
class CleanLine:
    product: Product | None
    name: str
    description: str
    unit: str
    quantity: decimal.Decimal
    unit_price: decimal.Decimal
    discount_percent: decimal.Decimal


def _product(value: Any) -> Product | None:
    if value in (None, ""):
        return None
    if isinstance(value, Product):
        product_id = value.pk
    else:
        try:
            product_id = int(value)
        except (TypeError, ValueError) as exc:
            raise _invalid("lines", _("Choose an active product.")) from exc
    product = Product.objects.filter(pk=product_id, is_active=True).first() if 0 < product_id < 2**63 else None
    if product is None:
        raise _invalid("lines", _("Choose an active product."))
    return product


def clean_lines(raw_lines: Sequence[Mapping[str, Any]], currency: str) -> list[CleanLine]:
    """Validate line items. A line that names a product and leaves name, unit or price out takes
    them from the product (its list price only when the product is priced in the quote's currency)."""
    if not raw_lines:
        raise _invalid("lines", _("A quote needs at least one line item."))
    if len(raw_lines) > MAX_LINES:
        raise _invalid("lines", _("A quote has at most 200 line items."))
    result: list[CleanLine] = []
    for raw in raw_lines:
        product = _product(raw.get("product", raw.get("product_id")))
        name = " ".join(str(raw.get("name") or "").split()) or (product.name if product else "")
        if not name:
            raise _invalid("lines", _("Every line item needs a name."))
        if len(name) > 200:
            raise _invalid("lines", _("A line item's name has at most 200 characters."))
        description = " ".join(str(raw.get("description") or "").split())[:500]
        unit = " ".join(str(raw.get("unit") or "").split())
        if not unit and product is not None:
            unit = str(product.get_unit_display())
        price_raw = raw.get("unit_price")
        if price_raw in (None, ""):
            if product is None:
                raise _invalid("lines", _("Every line item needs a unit price."))
            if product.currency != currency:
                raise _invalid(
                    "lines",
                    _("%(product)s is priced in %(currency)s: enter its price in the quote's currency.")
                    % {"product": product.name, "currency": product.currency},
                )
            price_raw = product.list_price
        quantity = _decimal("lines", raw.get("quantity", 1), places=3, low=decimal.Decimal("0.001"), high=MAX_QUANTITY)
        unit_price = _decimal("lines", price_raw, places=2, low=decimal.Decimal(0), high=MAX_PRICE)
        discount = _decimal("lines", raw.get("discount_percent") or 0, places=2, low=decimal.Decimal(0), high=HUNDRED)
        result.append(CleanLine(product, name, description, unit[:16], quantity, unit_price, discount))
    return result


def _deal_lines(deal: Deal) -> list[dict[str, Any]]:
    rows = DealLine.objects.filter(deal=deal).select_related("product").order_by("order", "id")
    return [
        {
            "product": None,  # the deal's product may since have been retired: keep the line as agreed
            "name": line.name,
            "unit": str(line.product.get_unit_display()) if line.product else "",
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "discount_percent": line.discount_percent,
            "_product": line.product,
        }
        for line in rows
    ]


def _write_lines(quote: Quote, lines: Sequence[CleanLine], totals: Totals) -> None:
    QuoteLine.objects.bulk_create(
        [
            QuoteLine(
                quote=quote,
                product=line.product,
                name=line.name,
                description=line.description,
                unit=line.unit,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                line_total=amounts.net,
                order=index,
            )
            for index, (line, amounts) in enumerate(zip(lines, totals.lines, strict=True))
        ]
    )


def _apply_totals(quote: Quote, totals: Totals) -> None:
    if totals.total > MAX_AMOUNT or max((a.gross for a in totals.lines), default=0) > MAX_AMOUNT:
        raise _invalid("lines", _("The amounts are too large."))
    quote.subtotal = totals.subtotal
    quote.discount_total = totals.discount_total
    quote.tax_amount = totals.tax_amount
    quote.total = totals.total


def line_snapshot(quote: Quote) -> list[list[str]]:
    return [
        [line.name, str(line.quantity), str(line.unit_price), str(line.discount_percent), str(line.line_total)]
        for line in quote.lines.all().order_by("order", "id")
    ]


def quote_snapshot(quote: Quote) -> audit.Snapshot:
    values = audit.snapshot(quote, QUOTE_FIELDS)
    values["lines"] = line_snapshot(quote)
    return values


# ---- settings ----------------------------------------------------------------------------------------


def document_settings() -> DocumentSettings:
    """The one row of document settings; the defaults (unsaved) until an admin saves them."""
    return DocumentSettings.objects.filter(pk=1).first() or DocumentSettings(pk=1)


def document_settings_update(
    *,
    actor: User,
    quote_prefix: str,
    contract_prefix: str,
    default_tax_rate: decimal.Decimal | str,
    quote_validity_days: int,
) -> DocumentSettings:
    if not (getattr(actor, "is_active", False) and actor.can(MANAGE_COMPANY)):
        raise _forbidden()
    values: dict[str, Any] = {}
    for field, prefix in (("quote_prefix", quote_prefix), ("contract_prefix", contract_prefix)):
        prefix = str(prefix or "").strip()
        if not PREFIX_RE.match(prefix):
            raise _invalid(field, _("A prefix has 1 to 12 letters, digits or dashes."))
        values[field] = prefix
    values["default_tax_rate"] = _decimal(
        "default_tax_rate", default_tax_rate, places=2, low=decimal.Decimal(0), high=HUNDRED
    )
    try:
        days = int(quote_validity_days)
    except (TypeError, ValueError) as exc:
        raise _invalid("quote_validity_days", _("Enter a number of days between 1 and 365.")) from exc
    if not 1 <= days <= 365:
        raise _invalid("quote_validity_days", _("Enter a number of days between 1 and 365."))
    values["quote_validity_days"] = days
    with transaction.atomic():
        DocumentSettings.objects.get_or_create(pk=1)
        row = DocumentSettings.objects.select_for_update().get(pk=1)
        before = audit.snapshot(row, SETTINGS_FIELDS)
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_at = timezone.now()
        row.save()
        audit.record_changes(actor=actor, obj=row, before=before, after=audit.snapshot(row, SETTINGS_FIELDS))
    return row


# ---- policies ----------------------------------------------------------------------------------------


def may_change(actor: User | None, quote: Quote) -> bool:
    """Owner, managers over the owner's team, admins (for a quote fetched through visible_to)."""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return False
    return quote.owner_id == actor.pk or manages_owner(actor, quote.owner)


def _require_change(actor: User, quote: Quote) -> None:
    if not Quote.objects.visible_to(actor).filter(pk=quote.pk).exists():
        raise _not_found()
    if not may_change(actor, quote):
        raise _forbidden()


def _locked(quote: Quote, lock_version: int | None) -> Quote:
    """The quote's row, locked for this transaction; a stale ``lock_version`` is a conflict."""
    current = Quote.objects.select_for_update(of=("self",)).select_related("owner", "customer").get(pk=quote.pk)
    if lock_version is not None and int(lock_version) != current.lock_version:
        raise Conflict(
            "conflict",
            _("Someone else changed this quote meanwhile. Reload it to see their changes, then try again."),
            details={"lock_version": [str(current.lock_version)]},
        )
    return current


def _check_contact(contact: Contact | None, customer: Customer) -> Contact | None:
    if contact is not None and contact.customer_id != customer.pk:
        raise _invalid("contact", _("Choose a contact of this customer."))
    return contact


def _valid_until(value: dt.date | str | None, settings_row: DocumentSettings, today: dt.date) -> dt.date:
    if value in (None, ""):
        return today + dt.timedelta(days=settings_row.quote_validity_days)
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError as exc:
            raise _invalid("valid_until", _("Enter a valid date.")) from exc
    assert isinstance(value, dt.date)
    if value < today:
        raise _invalid("valid_until", _("The validity date cannot be in the past."))
    return value


def _terms(value: str) -> str:
    text = str(value or "").replace("\x00", "").strip()
    if len(text) > 4000:
        raise _invalid("terms", _("The terms have at most 4000 characters."))
    return text


def _title(value: str) -> str:
    text = " ".join(str(value or "").split())
    if len(text) > 200:
        raise _invalid("title", _("A title has at most 200 characters."))
    return text


# ---- quotes ------------------------------------------------------------------------------------------


def quote_create(
    *,
    actor: User,
    customer: Customer,
    deal: Deal | None = None,
    contact: Contact | None = None,
    lines: Sequence[Mapping[str, Any]] | None = None,
    from_deal: bool = False,
    currency: str | None = None,
    tax_rate: decimal.Decimal | str | None = None,
    valid_until: dt.date | str | None = None,
    terms: str = "",
    title: str = "",
) -> Quote:
    """A draft quote, numbered ``<prefix><year>-<n>``; its lines given, or copied from ``deal``."""
    if not Customer.objects.visible_to(actor).filter(pk=customer.pk).exists():
        raise _not_found()
    if deal is not None:
        if not Deal.objects.visible_to(actor).filter(pk=deal.pk).exists():
            raise _invalid("deal", _("Choose one of your deals."))
        if deal.customer_id != customer.pk:
            raise _invalid("deal", _("Choose a deal of this customer."))
    _check_contact(contact, customer)
    settings_row = document_settings()
    currency = check_currency(currency or (deal.currency if deal is not None else customer.currency) or "CNY")
    rate = _tax_rate(settings_row.default_tax_rate if tax_rate in (None, "") else tax_rate)
    today = timezone.localdate()
    until = _valid_until(valid_until, settings_row, today)
    if lines is None:
        if not (from_deal and deal is not None):
            raise _invalid("lines", _("A quote needs at least one line item."))
        copied = _deal_lines(deal)
        clean = clean_lines(copied, currency)
        clean = [
            CleanLine(raw["_product"], c.name, c.description, c.unit, c.quantity, c.unit_price, c.discount_percent)
            for raw, c in zip(copied, clean, strict=True)
        ]
    else:
        clean = clean_lines(lines, currency)
    totals = compute_totals([(c.quantity, c.unit_price, c.discount_percent) for c in clean], rate, currency)
    quote = Quote(
        customer=customer,
        deal=deal,
        contact=contact,
        title=_title(title) or (deal.name[:200] if deal is not None else ""),
        currency=currency,
        tax_rate=rate,
        valid_until=until,
        terms=_terms(terms),
        owner=actor,
    )
    _apply_totals(quote, totals)
    with transaction.atomic():
        quote.number = next_number(kind="quote", prefix=settings_row.quote_prefix, on=today)
        quote.save()
        _write_lines(quote, clean, totals)
        audit.record_created(actor=actor, obj=quote, values=quote_snapshot(quote))
    return quote


UPDATABLE = ("contact", "title", "currency", "tax_rate", "valid_until", "terms", "lines")


def quote_update(*, actor: User, quote: Quote, lock_version: int, **changes: Any) -> Quote:
    """Change a draft: its contact, title, currency, tax rate, validity, terms and lines."""
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise TypeError(f"quote_update() got unexpected fields: {sorted(unknown)}")
    _require_change(actor, quote)
    with transaction.atomic():
        current = _locked(quote, lock_version)
        if current.status != QuoteStatus.DRAFT:
            raise ApplicationError("not_draft", _("Only a draft quote can be edited; revise it instead."))
        before = quote_snapshot(current)
        if "contact" in changes:
            current.contact = _check_contact(changes["contact"], current.customer)
        if "title" in changes:
            current.title = _title(changes["title"])
        if changes.get("currency"):
            current.currency = check_currency(changes["currency"])
        if changes.get("tax_rate") not in (None, ""):
            current.tax_rate = _tax_rate(changes["tax_rate"])
        if changes.get("valid_until") not in (None, ""):
            current.valid_until = _valid_until(changes["valid_until"], document_settings(), timezone.localdate())
        if "terms" in changes:
            current.terms = _terms(changes["terms"])
        if changes.get("lines") is not None:
            clean = clean_lines(changes["lines"], current.currency)
        else:
            clean = [
                CleanLine(
                    line.product,
                    line.name,
                    line.description,
                    line.unit,
                    line.quantity,
                    line.unit_price,
                    line.discount_percent,
                )
                for line in current.lines.select_related("product").order_by("order", "id")
            ]
        totals = compute_totals(
            [(c.quantity, c.unit_price, c.discount_percent) for c in clean], current.tax_rate, current.currency
        )
        _apply_totals(current, totals)
        current.lock_version += 1
        current.updated_at = timezone.now()
        current.save()
        current.lines.all().delete()
        _write_lines(current, clean, totals)
        audit.record_changes(actor=actor, obj=current, before=before, after=quote_snapshot(current))
    return current


def _draft_contract_from_quote(*, actor: User, quote: Quote) -> Contract:
    """The draft contract an accepted quote turns into (the contracts services take it from there)."""
    settings_row = document_settings()
    title = quote.title or f"{quote.customer.name} · {quote.number}"
    contract = Contract.objects.create(
        number=next_number(kind="contract", prefix=settings_row.contract_prefix, on=timezone.localdate()),
        title=title[:200],
        customer=quote.customer,
        deal=quote.deal,
        quote=quote,
        amount=quote.total,
        currency=quote.currency,
        owner=quote.owner,
    )
    audit.record_created(actor=actor, obj=contract, values=audit.snapshot(contract, CONTRACT_FIELDS))
    return contract


def quote_set_status(*, actor: User, quote: Quote, action: str, lock_version: int | None = None) -> Quote:
    """send (draft → sent), accept / reject (sent → …), expire (draft or sent → expired).

    Accepting creates the draft contract in the same transaction."""
    if action not in TRANSITIONS:
        raise _invalid("action", _("Unknown action."))
    _require_change(actor, quote)
    allowed_from, to_status = TRANSITIONS[action]
    with transaction.atomic():
        current = _locked(quote, lock_version)
        if current.status not in allowed_from:
            raise ApplicationError(
                "invalid_transition",
                _("A quote that is %(status)s cannot be %(action)s.")
                % {"status": current.get_status_display().lower(), "action": ACTION_PAST[action]},
                details={"status": [current.status]},
            )
        now = timezone.now()
        if action == "send" and not current.lines.exists():
            raise ApplicationError("no_lines", _("A quote needs at least one line item."))
        if action == "accept" and current.valid_until < timezone.localdate():
            raise ApplicationError(
                "quote_expired",
                _("This quote was valid until %(date)s: revise it before it can be accepted.")
                % {"date": current.valid_until.isoformat()},
            )
        before = audit.snapshot(current, ("status", "sent_at", "decided_at"))
        current.status = to_status
        if action == "send":
            current.sent_at = now
        if action in ("accept", "reject"):
            current.decided_at = now
        current.lock_version += 1
        current.updated_at = now
        current.save(update_fields=["status", "sent_at", "decided_at", "lock_version", "updated_at"])
        audit.record_changes(
            actor=actor, obj=current, before=before, after=audit.snapshot(current, ("status", "sent_at", "decided_at"))
        )
        if action == "accept":
            _draft_contract_from_quote(actor=actor, quote=current)
    return current


ACTION_PAST = {"send": _("sent"), "accept": _("accepted"), "reject": _("rejected"), "expire": _("expired")}


def quote_revise(*, actor: User, quote: Quote, lock_version: int | None = None) -> Quote:
    """A new draft version (same number, version + 1, the same lines); the old one is superseded."""
    _require_change(actor, quote)
    with transaction.atomic():
        current = _locked(quote, lock_version)
        if current.status not in REVISABLE:
            raise ApplicationError(
                "not_revisable",
                _("Only a sent, rejected or expired quote can be revised; a draft is edited directly."),
                details={"status": [current.status]},
            )
        latest = Quote.objects.filter(number=current.number).order_by("-version").values_list("version", flat=True)
        now = timezone.now()
        today = timezone.localdate()
        new = Quote(
            number=current.number,
            version=(latest.first() or current.version) + 1,
            customer=current.customer,
            deal=current.deal,
            contact=current.contact,
            title=current.title,
            currency=current.currency,
            tax_rate=current.tax_rate,
            subtotal=current.subtotal,
            discount_total=current.discount_total,
            tax_amount=current.tax_amount,
            total=current.total,
            valid_until=max(current.valid_until, today + dt.timedelta(days=document_settings().quote_validity_days)),
            terms=current.terms,
            owner=current.owner,
        )
        new.save()
        QuoteLine.objects.bulk_create(
            [
                QuoteLine(
                    quote=new,
                    product=line.product,
                    name=line.name,
                    description=line.description,
                    unit=line.unit,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    discount_percent=line.discount_percent,
                    line_total=line.line_total,
                    order=line.order,
                )
                for line in current.lines.order_by("order", "id")
            ]
        )
        before = audit.snapshot(current, ("status",))
        current.status = QuoteStatus.SUPERSEDED
        current.lock_version += 1
        current.updated_at = now
        current.save(update_fields=["status", "lock_version", "updated_at"])
        audit.record_changes(actor=actor, obj=current, before=before, after=audit.snapshot(current, ("status",)))
        audit.record_created(actor=actor, obj=new, values=quote_snapshot(new) | {"revises": current.pk})
    return new


def quotes_expire_due(*, today: dt.date | None = None) -> int:
    """The daily job: sent quotes whose validity has passed become expired (idempotent)."""
    today = today or timezone.localdate()
    expired = 0
    due = Quote.objects.filter(status=QuoteStatus.SENT, valid_until__lt=today).values_list("pk", flat=True)
    for pk in list(due[:10_000]):
        with transaction.atomic():
            current = Quote.objects.select_for_update().filter(pk=pk, status=QuoteStatus.SENT).first()
            if current is None:
                continue
            current.status = QuoteStatus.EXPIRED
            current.lock_version += 1
            current.updated_at = timezone.now()
            current.save(update_fields=["status", "lock_version", "updated_at"])
            audit.record_changes(
                actor=None, obj=current, before={"status": QuoteStatus.SENT}, after={"status": QuoteStatus.EXPIRED}
            )
            expired += 1
    return expired
