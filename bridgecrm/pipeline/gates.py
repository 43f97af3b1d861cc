"""The deal fields a stage gate may require. Deals (a later item) will have every one of them."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

GATE_FIELDS: dict[str, Promise] = {
    "amount": _("Amount"),
    "expected_close_date": _("Expected close date"),
    "contact": _("Contact"),
    "probability": _("Probability"),
    "competitors": _("Competitors"),
    "line_items": _("Products (line items)"),
    "lost_reason": _("Lost reason"),
    "next_step": _("Next step"),
}
GATE_CHOICES: list[tuple[str, Promise]] = list(GATE_FIELDS.items())


def unknown_codes(codes: list[str]) -> list[str]:
    return [c for c in codes if c not in GATE_FIELDS]
