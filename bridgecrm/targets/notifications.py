"""How targets word their notifications, in the reader's language, from the stored parameters."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from bridgecrm.activities.models import NotificationKind
from bridgecrm.activities.selectors import register_notification_wording
from bridgecrm.targets import measures


def target_set(p: dict[str, Any]) -> str:
    code = str(p.get("measure", ""))
    measure = measures.label_of(code)  # any registered measure (scorecard metrics too)
    return _("Your target for %(period)s: %(measure)s %(amount)s") % {
        "period": p.get("period", ""),
        "measure": measure,
        "amount": p.get("amount", ""),
    }


def milestone_overdue(p: dict[str, Any]) -> str:
    return _("Milestone overdue: %(title)s (due %(due)s) in the plan %(plan)s") % {
        "title": p.get("title", ""),
        "due": p.get("due_on", ""),
        "plan": p.get("plan", ""),
    }


def register() -> None:
    register_notification_wording(NotificationKind.TARGET_SET, target_set)
    register_notification_wording(NotificationKind.MILESTONE_OVERDUE, milestone_overdue)
