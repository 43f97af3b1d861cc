from __future__ import annotations

from bridgecrm.core.context import Source
from bridgecrm.core.tasks import bridge_task
from bridgecrm.tiers import services


@bridge_task(source=Source.SYSTEM)
def recompute_tiers() -> int:
    """Recompute every customer's tier (idempotent: only changes are written)."""
    return services.tiers_recompute().changed


@bridge_task(source=Source.SYSTEM)
def recompute_customer_tier(customer_id: int) -> int:
    return services.tiers_recompute(customer_ids=[customer_id]).changed


@bridge_task(source=Source.SYSTEM)
def send_sop_reminders() -> int:
    """Tell owners about customers overdue by their tier's routine (once per customer and due date)."""
    return services.sop_reminders_send()
