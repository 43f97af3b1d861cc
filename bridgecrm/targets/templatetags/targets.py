"""Labels for target statuses and figures shown on the target pages and the manager dashboard."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

STATUS_LABELS = {
    "on_track": _("On track"),
    "at_risk": _("At risk"),
    "behind": _("Behind"),
    "not_started": _("Not started"),
    "no_data": _("No data"),
}


@register.filter
def target_status(code: str) -> Any:
    return STATUS_LABELS.get(code, "—")


@register.filter
def figure(value: Decimal | None) -> str:
    """A target figure with thousands separators: money with cents, counts without."""
    if value is None:
        return "—"
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < 0:
        return f"{value:,.2f}"
    return f"{int(value):,}"


@register.filter
def in_unit(value: Decimal | None, unit: str) -> str:
    """A figure in its measure's unit: rates (kept in percent) with a % sign."""
    text = figure(value)
    return f"{text} %" if unit == "ratio" and value is not None else text


@register.filter
def signed(value: Decimal | None) -> str:
    if value is None:
        return "—"
    text = figure(abs(value))
    return f"+{text}" if value > 0 else f"−{text}" if value < 0 else text


@register.filter
def sum_amounts(targets: Any) -> Decimal:
    return sum((t.shown_amount for t in targets), Decimal(0))


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None
