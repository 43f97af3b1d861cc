"""How incentives word their notifications, in the reader's language, from the stored parameters."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from bridgecrm.activities.models import NotificationKind
from bridgecrm.activities.selectors import register_notification_wording


def statement_ready(p: dict[str, Any]) -> str:
    try:
        total = f"{Decimal(str(p.get('total', ''))):,}"
    except InvalidOperation:
        total = str(p.get("total", ""))
    return _("Your commission statement for %(period)s is approved: %(total)s %(currency)s") % {
        "period": p.get("period", ""),
        "total": total,
        "currency": p.get("currency", ""),
    }


def register() -> None:
    register_notification_wording(NotificationKind.STATEMENT_READY, statement_ready)
