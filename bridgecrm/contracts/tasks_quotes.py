from __future__ import annotations

from bridgecrm.contracts.services import quotes as quote_services
from bridgecrm.core.context import Source
from bridgecrm.core.tasks import bridge_task


@bridge_task(source=Source.SYSTEM)
def expire_due_quotes() -> int:
    """Sent quotes past their validity date become expired (idempotent)."""
    return quote_services.quotes_expire_due()
