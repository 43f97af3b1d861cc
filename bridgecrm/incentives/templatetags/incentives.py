"""Template filters of the incentive pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from bridgecrm.incentives import selectors
from bridgecrm.incentives.compute import plain

register = template.Library()


@register.filter
def percent_plain(value: Any) -> str:
    """A rate as entered: 2 → "2", 1.5000 → "1.5"."""
    if value is None or value == "":
        return "—"
    return plain(Decimal(str(value)))


@register.filter
def unpaid_reason(band: str) -> str:
    return selectors.unpaid_reason(band)
