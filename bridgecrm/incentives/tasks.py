from __future__ import annotations

from bridgecrm.core import dates
from bridgecrm.core.context import Source
from bridgecrm.core.periods import Period, PeriodKind
from bridgecrm.core.tasks import bridge_task
from bridgecrm.incentives import services


@bridge_task(source=Source.SYSTEM)
def prepare_last_month_statements() -> int:
    """Draft everyone's commission statement for the month that just ended (company calendar)."""
    period = Period.containing(PeriodKind.MONTH, dates.company_today()).previous()
    return services.statements_prepare(period=period)
