"""The company's calendar: at 20:00 UTC it is already tomorrow in Shanghai, for every reader."""

from __future__ import annotations

import datetime as dt

import time_machine
from django.test import override_settings
from django.utils import timezone

from bridgecrm.core import dates
from bridgecrm.core.tasks import bridge_task

LATE_UTC = dt.datetime(2026, 3, 31, 20, 0, tzinfo=dt.UTC)  # 04:00 on 1 April in Shanghai


@bridge_task()
def _task_today() -> str:
    return timezone.localdate().isoformat()


@override_settings(BRIDGE_DEFAULT_TIME_ZONE="Asia/Shanghai")
def test_company_today_is_the_company_zone_date_not_utc() -> None:
    with time_machine.travel(LATE_UTC, tick=False):
        assert dates.company_today() == dt.date(2026, 4, 1)
        assert dates.local_date(timezone.now()) == dt.date(2026, 4, 1)
        assert timezone.localdate() == dt.date(2026, 3, 31)  # the settings' UTC, outside any task


@override_settings(BRIDGE_DEFAULT_TIME_ZONE="Asia/Shanghai")
def test_day_start_is_midnight_in_the_company_zone() -> None:
    start = dates.day_start(dt.date(2026, 4, 1))
    assert start == dt.datetime(2026, 3, 31, 16, 0, tzinfo=dt.UTC)


@override_settings(BRIDGE_DEFAULT_TIME_ZONE="Asia/Shanghai")
def test_tasks_run_in_the_company_zone() -> None:
    """A reminder task run at 04:00 Shanghai time must work on 1 April, not on UTC's 31 March."""
    with time_machine.travel(LATE_UTC, tick=False):
        assert _task_today.call() == "2026-04-01"
    assert timezone.get_current_timezone_name() == "UTC"  # and the zone is put back afterwards


@override_settings(BRIDGE_DEFAULT_TIME_ZONE="America/New_York")
def test_the_company_zone_follows_the_setting() -> None:
    with time_machine.travel(LATE_UTC, tick=False):
        assert dates.company_today() == dt.date(2026, 3, 31)
