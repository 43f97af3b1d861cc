from __future__ import annotations

from bridgecrm.core.context import Source
from bridgecrm.core.tasks import bridge_task
from bridgecrm.training import services


@bridge_task(source=Source.SYSTEM)
def send_coaching_reminders() -> int:
    """Tell coaches about check-ins due today or overdue (once per plan and due date)."""
    return services.coaching_reminders_send()
