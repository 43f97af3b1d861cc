"""Reads about quotes. Every one takes the actor and starts from ``Quote.objects.visible_to``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from bridgecrm.contracts.models import Quote, QuoteQuerySet
from bridgecrm.core.errors import NotFound
from bridgecrm.core.exports import Cell
from bridgecrm.core.ordering import total_order
from bridgecrm.core.timeline import TimelineItem
from bridgecrm.customers.models import Customer
from bridgecrm.pipeline.deal_selectors import deal_visible
from bridgecrm.pipeline.models import Deal, Product
from bridgecrm.users.models import User

SORTS: dict[str, tuple[str, bool]] = {
    "-created": ("created_at", True),
    "created": ("created_at", False),
    "-total": ("total", True),
    "total": ("total", False),
    "valid_until": ("valid_until", False),
    "-valid_until": ("valid_until", True),
    "number": ("number", False),
    "-number": ("number", True),
}
DEFAULT_SORT = "-created"
SORT_LABELS = {
    "-created": gettext_lazy("Newest first"),
    "created": gettext_lazy("Oldest first"),
    "-total": gettext_lazy("Largest total"),
    "total": gettext_lazy("Smallest total"),
    "valid_until": gettext_lazy("Expiring soonest"),
    "-valid_until": gettext_lazy("Expiring latest"),
    "number": gettext_lazy("Number"),
    "-number": gettext_lazy("Number, descending"),
}


@dataclass(frozen=True)
class QuoteFilters:
    q: str = ""
    status: str = ""
    customer_id: int | None = None
    deal_id: int | None = None
    owner_id: int | None = None
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    sort: str = DEFAULT_SORT
    latest_only: bool = False


def _not_found() -> NotFound:
    return NotFound("not_found", gettext_lazy("Not found."))


def _valid_id(value: int | None) -> bool:
    return value is not None and 0 < value < 2**63


def quote_list(*, actor: User, filters: QuoteFilters | None = None) -> QuoteQuerySet:
    """Visible quotes, filtered and sorted (a total order); slice it for a page."""
    f = filters or QuoteFilters()
    qs: QuoteQuerySet = Quote.objects.visible_to(actor)
    text = " ".join(f.q.split())[:100]
    if text:
        qs = qs.filter(Q(number__icontains=text) | Q(title__icontains=text) | Q(customer__name__icontains=text))
    if f.status:
        qs = qs.filter(status=f.status)
    for field, value in (("customer_id", f.customer_id), ("deal_id", f.deal_id), ("owner_id", f.owner_id)):
        if value is not None:
            qs = qs.filter(**{field: value}) if _valid_id(value) else qs.none()
    if f.created_from is not None:
        qs = qs.filter(created_at__date__gte=f.created_from)
    if f.created_to is not None:
        qs = qs.filter(created_at__date__lte=f.created_to)
    if f.latest_only:
        qs = qs.exclude(status="superseded")
    field, descending = SORTS.get(f.sort, SORTS[DEFAULT_SORT])
    order = total_order(Quote, field, descending=descending)
    return qs.select_related("customer", "owner", "deal").annotate(deal_visible=deal_visible(actor)).order_by(*order)


def quote_get(*, actor: User, quote_id: int) -> Quote:
    if not _valid_id(quote_id):
        raise _not_found()
    quote = (
        Quote.objects.visible_to(actor)
        .select_related("customer", "owner", "deal", "contact")
        .annotate(deal_visible=deal_visible(actor))
        .prefetch_related("lines")
        .filter(pk=quote_id)
        .first()
    )
    if quote is None:
        raise _not_found()
    return quote


def quote_versions(*, actor: User, quote: Quote) -> list[Quote]:
    return list(Quote.objects.visible_to(actor).filter(number=quote.number).order_by("-version")[:50])


def deals_for(*, actor: User, customer: Customer) -> list[Deal]:
    return list(Deal.objects.visible_to(actor).filter(customer_id=customer.pk).order_by("-updated_at", "-id")[:100])


def deal_get(*, actor: User, deal_id: int) -> Deal:
    deal = Deal.objects.visible_to(actor).filter(pk=deal_id).first() if _valid_id(deal_id) else None
    if deal is None:
        raise _not_found()
    return deal


def active_products() -> list[Product]:
    return list(Product.objects.filter(is_active=True).order_by("name", "id")[:1000])


# ---- exports -----------------------------------------------------------------------------------------


def export_header() -> list[str]:
    return [
        _("Number"), _("Version"), _("Status"), pgettext("account", "Customer"), _("Deal"), _("Subject"),
        _("Owner"), _("Currency"), _("Subtotal"), _("Discounts"), _("Tax rate %"), _("Tax"), _("Total"),
        _("Valid until"), _("Created"),
    ]  # fmt: skip


def export_rows(qs: QuoteQuerySet, tz: Any) -> Iterator[Sequence[Cell]]:
    for q in qs.iterator(chunk_size=500):
        yield [
            q.number,
            q.version,
            str(q.get_status_display()),
            q.customer.name,
            q.deal.name if q.deal and getattr(q, "deal_visible", False) else "",
            q.title,
            q.owner.display_name,
            q.currency,
            q.subtotal,
            q.discount_total,
            q.tax_rate,
            q.tax_amount,
            q.total,
            q.valid_until,
            q.created_at.astimezone(tz).replace(tzinfo=None),
        ]


# ---- the customer's timeline -------------------------------------------------------------------------


def customer_timeline_quotes(
    *, actor: User, customer: Customer, before: dt.datetime | None, limit: int
) -> list[TimelineItem]:
    """The customer's newest quotes (each version once), for the customer's timeline: one query."""
    qs = Quote.objects.visible_to(actor).filter(customer_id=customer.pk).select_related("owner")
    if before is not None:
        qs = qs.filter(created_at__lt=before)
    return [
        TimelineItem(
            at=q.created_at,
            kind="quote",
            title=_("Quote %(number)s v%(version)s: %(currency)s %(total)s")
            % {"number": q.number, "version": q.version, "currency": q.currency, "total": f"{q.total:,}"},
            url=reverse("contracts:quote_detail", kwargs={"quote_id": q.pk}),
            detail=str(q.get_status_display()),
            by=q.owner.display_name,
            icon="quote",
        )
        for q in qs.order_by("-created_at", "-id")[:limit]
    ]
