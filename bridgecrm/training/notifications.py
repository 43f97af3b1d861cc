"""How training words its notifications, in the reader's language, from the stored parameters."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from bridgecrm.activities.models import NotificationKind
from bridgecrm.activities.selectors import register_notification_wording


def enrolled(p: dict[str, Any]) -> str:
    # ``when``: the session's start in the recipient's time zone, written when he was enrolled.
    return _("You are enrolled in the training %(course)s on %(when)s") % {
        "course": p.get("course", ""),
        "when": p.get("when", ""),
    }


def coaching_due(p: dict[str, Any]) -> str:
    return _("Coaching check-in with %(rep)s is due (%(date)s): %(title)s") % {
        "rep": p.get("rep", ""),
        "date": p.get("due_on", ""),
        "title": p.get("title", ""),
    }


def register() -> None:
    register_notification_wording(NotificationKind.TRAINING_ENROLLED, enrolled)
    register_notification_wording(NotificationKind.COACHING_DUE, coaching_due)
