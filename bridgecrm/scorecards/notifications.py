"""How scorecards word their notifications, in the reader's language, from the stored parameters."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from bridgecrm.activities.models import NotificationKind
from bridgecrm.activities.selectors import register_notification_wording


def published(p: dict[str, Any]) -> str:
    return _(
        "Your evaluation %(scorecard)s %(period)s is published: %(total)s points, rank %(rank)s. Please acknowledge it."
    ) % {k: p.get(k, "") for k in ("scorecard", "period", "total", "rank")}


def register() -> None:
    register_notification_wording(NotificationKind.EVALUATION_PUBLISHED, published)
