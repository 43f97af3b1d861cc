from __future__ import annotations

from bridgecrm.activities import services
from bridgecrm.core.context import Source
from bridgecrm.core.tasks import bridge_task


@bridge_task(source=Source.SYSTEM)
def send_task_reminders() -> int:
    """Notify assignees of tasks whose reminder time has come (idempotent: each task once)."""
    return services.task_reminders_send()


@bridge_task(source=Source.SYSTEM)
def notify_follow_ups_due() -> int:
    """Tell owners about customers whose next follow-up is today (idempotent per day)."""
    return services.follow_ups_due_notify()
