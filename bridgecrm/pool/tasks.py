from __future__ import annotations

from bridgecrm.core.context import Source
from bridgecrm.core.tasks import bridge_task
from bridgecrm.pool import services


@bridge_task(source=Source.SYSTEM)
def recycle_pool() -> int:
    """Return neglected customers to the public pool and warn owners ahead of it (idempotent)."""
    run = services.pool_recycle()
    return run.recycled + run.warned
