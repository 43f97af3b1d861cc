from __future__ import annotations

from bridgecrm.core.context import Source
from bridgecrm.core.tasks import bridge_task
from bridgecrm.users import services


@bridge_task(source=Source.SYSTEM)
def deactivate_due_users() -> list[int]:
    """Deactivate users whose scheduled leaving date has passed (idempotent)."""
    return services.users_deactivate_due()


@bridge_task(source=Source.SYSTEM)
def prune_sign_in_throttles() -> int:
    return services.throttles_prune()
