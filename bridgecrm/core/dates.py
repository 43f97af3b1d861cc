"""The company's calendar: its time zone, its today, a moment's date, a day's first moment.

Business dates (follow-up due days, pool recycling, SOP compliance, the periods of targets,
evaluations and statements) are the company's, in ``settings.BRIDGE_DEFAULT_TIME_ZONE``, whoever
looks at them: a rep travelling in another zone sees the same "overdue" as his manager. Django's
current time zone is the user's in a request (users.middleware) and only formats moments; tasks run
with the company's zone active (core.tasks), so ``timezone.localdate()`` there is the company's day.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.utils import timezone


def company_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.BRIDGE_DEFAULT_TIME_ZONE)


def company_today() -> dt.date:
    return timezone.now().astimezone(company_zone()).date()


def local_date(moment: dt.datetime) -> dt.date:
    """The company's date of ``moment``."""
    return moment.astimezone(company_zone()).date()


def day_start(day: dt.date) -> dt.datetime:
    """The first moment of ``day`` in the company's zone."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=company_zone())
