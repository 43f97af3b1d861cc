from __future__ import annotations

import decimal
from typing import Any

from django import template

register = template.Library()


@register.filter
def amount(value: Any, places: int = 0) -> str:
    """An amount with thousands separators in every language (Chinese locale formats have none)."""
    if value is None or value == "":
        return "—"
    try:
        number = decimal.Decimal(str(value))
    except decimal.InvalidOperation:
        return str(value)
    return f"{number:,.{int(places)}f}"
