"""The iCalendar (RFC 5545) feed of one user, built with the ``icalendar`` library.

Tasks become events at their due time (with a DUE-like 30-minute slot and a reminder alarm when
one is set), follow-ups events at the time they happened, customers' next follow-up dates all-day
events. Times are written in the user's time zone with its VTIMEZONE, so calendar apps show them
right whatever their own setting. UIDs are stable, so a client updates rather than duplicates.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.utils import timezone
from icalendar import Alarm, Calendar, Event

from bridgecrm.activities.selectors import FeedData

SLOT = dt.timedelta(minutes=30)


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or settings.BRIDGE_DEFAULT_TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.BRIDGE_DEFAULT_TIME_ZONE)


def _uid(kind: str, pk: int, host: str) -> str:
    return f"{kind}-{pk}@{host}"


def build_feed(data: FeedData, *, time_zone: str, host: str, title: str, base_url: str) -> bytes:
    zone = _zone(time_zone)
    stamp = timezone.now().astimezone(dt.UTC)
    cal = Calendar()
    cal.add("prodid", "-//Bridge//Bridge CRM//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", title)
    cal.add("x-wr-timezone", str(zone))
    for task in data.tasks:
        event = Event()
        event.add("uid", _uid("task", task.pk, host))
        event.add("dtstamp", stamp)
        start = task.due_at.astimezone(zone)
        event.add("dtstart", start)
        event.add("dtend", start + SLOT)
        event.add("summary", task.title)
        if task.notes:
            event.add("description", task.notes)
        event.add("categories", ["TASK"])
        event.add("status", "CONFIRMED")
        event.add("priority", {"high": 1, "normal": 5, "low": 9}.get(task.priority, 5))
        event.add("url", f"{base_url}/tasks/{task.pk}/edit/")
        event.add("last-modified", task.updated_at.astimezone(dt.UTC))
        if task.done_at is not None:
            event.add("x-bridge-done", task.done_at.astimezone(dt.UTC).isoformat())
        if task.remind_at is not None and task.done_at is None:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", task.title)
            alarm.add("trigger", task.remind_at.astimezone(dt.UTC))
            event.add_component(alarm)
        cal.add_component(event)
    for fu in data.follow_ups:
        event = Event()
        event.add("uid", _uid("follow-up", fu.pk, host))
        event.add("dtstamp", stamp)
        start = fu.occurred_at.astimezone(zone)
        event.add("dtstart", start)
        event.add("dtend", start + SLOT)
        event.add("summary", f"{fu.get_kind_display()} · {fu.customer.name}")
        event.add("description", fu.summary)
        event.add("categories", ["FOLLOW-UP"])
        if fu.checkin_address:
            event.add("location", fu.checkin_address)
        if fu.checkin_latitude is not None and fu.checkin_longitude is not None:
            event.add("geo", (float(fu.checkin_latitude), float(fu.checkin_longitude)))
        event.add("url", f"{base_url}/follow-ups/{fu.pk}/edit/")
        event.add("last-modified", fu.updated_at.astimezone(dt.UTC))
        cal.add_component(event)
    for customer in data.due_customers:
        assert customer.next_follow_up_on is not None
        event = Event()
        event.add("uid", _uid(f"next-follow-up-{customer.next_follow_up_on:%Y%m%d}", customer.pk, host))
        event.add("dtstamp", stamp)
        event.add("dtstart", customer.next_follow_up_on)
        event.add("dtend", customer.next_follow_up_on + dt.timedelta(days=1))
        event.add("summary", f"↻ {customer.name}")
        event.add("categories", ["NEXT-FOLLOW-UP"])
        event.add("transp", "TRANSPARENT")
        event.add("url", f"{base_url}/customers/{customer.pk}/")
        cal.add_component(event)
    cal.add_missing_timezones()
    body: bytes = cal.to_ical()
    return body
