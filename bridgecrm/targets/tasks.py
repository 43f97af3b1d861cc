from __future__ import annotations

from bridgecrm.core.context import Source
from bridgecrm.core.tasks import bridge_task
from bridgecrm.targets import services


@bridge_task(source=Source.SYSTEM)
def send_milestone_reminders() -> int:
    """Tell owners about overdue sales-plan milestones (once per milestone and due date)."""
    return services.milestone_reminders_send()
