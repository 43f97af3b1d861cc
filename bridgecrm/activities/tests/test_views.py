"""The pages: my day, follow-ups and tasks (lists, forms, exports), notifications and the badge,
the calendar in two time zones, the iCalendar feed, and the customer page's activity."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from bridgecrm.activities import services
from bridgecrm.activities.models import CalendarFeed, FollowUp, Notification, NotificationKind, Task
from bridgecrm.activities.tests.factories import default_pipeline, log, make_deal, make_task
from bridgecrm.conftest import signed_in
from bridgecrm.customers.models import Customer
from bridgecrm.customers.tests.factories import make_customer
from bridgecrm.pipeline.models import Stage
from bridgecrm.users.models import User

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def _today() -> dt.date:
    return timezone.localdate(timezone=SHANGHAI)


def _count(client: Client, url: str, data: dict | None = None) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, data or {})
    assert response.status_code == 200, response.status_code
    return len(ctx.captured_queries), response


# ---- my day --------------------------------------------------------------------------------------


def _fill_my_day(company, n: int) -> None:
    today = _today()
    start = dt.datetime.combine(today, dt.time(0), tzinfo=SHANGHAI)
    stage = Stage.objects.filter(pipeline__is_default=True, kind="open").order_by("order").first()
    Stage.objects.filter(pk=stage.pk).update(stale_after_days=7)
    for i in range(n):
        make_task(company.owner, title=f"Today {i}", due_at=start + dt.timedelta(hours=23, minutes=i))
        make_task(company.owner, title=f"Late {i}", due_at=start - dt.timedelta(days=1, minutes=i))
        overdue = make_customer(company.owner, f"Overdue {i}")
        log(overdue, occurred_at=start - dt.timedelta(days=9), next_follow_up_on=today - dt.timedelta(days=2))
        due = make_customer(company.owner, f"Due {i}")
        log(due, occurred_at=start - dt.timedelta(days=9), next_follow_up_on=today)
        make_deal(
            due,
            company.owner,
            stage=Stage.objects.get(pk=stage.pk),
            name=f"Stale {i}",
            stage_entered_at=timezone.now() - dt.timedelta(days=8),
        )
        make_deal(due, company.owner, stage=Stage.objects.get(pk=stage.pk), name=f"Fresh {i}")


def test_my_day_lists_and_its_query_count_does_not_grow(company) -> None:
    default_pipeline(company.admin)
    _fill_my_day(company, 2)
    make_task(company.other_rep, title="Not mine", due_at=timezone.now())
    client = signed_in(company.owner)
    small, response = _count(client, reverse("activities:my_day"))
    day = response.context["day"]
    assert [t.title for t in day.tasks_today] == ["Today 0", "Today 1"]
    assert [t.title for t in day.tasks_overdue] == ["Late 1", "Late 0"]
    assert sorted(c.name for c in day.follow_ups_overdue) == ["Overdue 0", "Overdue 1"]
    assert sorted(c.name for c in day.follow_ups_today) == ["Due 0", "Due 1"]
    assert sorted(d.name for d in day.deals_stale) == ["Stale 0", "Stale 1"]
    _fill_my_day(company, 6)
    large, response = _count(client, reverse("activities:my_day"))
    assert len(response.context["day"].tasks_today) == 8
    assert small == large
    assert large <= 16
    # Another rep's day shows none of it.
    other = signed_in(company.other_rep).get(reverse("activities:my_day")).context["day"]
    assert [t.title for t in other.tasks_today + other.tasks_overdue] == ["Not mine"] or other.tasks_overdue
    assert not other.follow_ups_today and not other.deals_stale


def test_home_shows_my_day(company) -> None:
    make_task(company.owner, title="Ring 王总", due_at=timezone.now() + dt.timedelta(minutes=1))
    response = signed_in(company.owner).get(reverse("web:home"))
    assert response.status_code == 200
    assert "Ring 王总" in response.content.decode() or response.context["day"].tasks_overdue


# ---- follow-ups pages ----------------------------------------------------------------------------


def test_log_edit_and_delete_a_follow_up_through_the_pages(company) -> None:
    customer = make_customer(company.owner)
    client = signed_in(company.owner)
    url = reverse("activities:follow_up_create") + f"?customer={customer.pk}"
    assert client.get(url).status_code == 200
    now = timezone.localtime(timezone.now(), SHANGHAI)
    response = client.post(
        url,
        {
            "kind": "visit",
            "occurred_at": now.strftime("%Y-%m-%dT%H:%M"),
            "summary": "Visited the plant",
            "outcome": "positive",
            "next_follow_up_on": (now.date() + dt.timedelta(days=7)).isoformat(),
            "checkin_latitude": "31.2304",
            "checkin_longitude": "121.4737",
            "checkin_address": "上海",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    follow_up = FollowUp.objects.get()
    customer.refresh_from_db()
    assert customer.next_follow_up_on == now.date() + dt.timedelta(days=7)
    bad = client.post(
        url,
        {
            "kind": "visit",
            "occurred_at": now.strftime("%Y-%m-%dT%H:%M"),
            "summary": "x",
            "checkin_latitude": "95",
            "checkin_longitude": "1",
        },
    )
    assert bad.status_code == 200 and bad.context["form"].errors
    assert FollowUp.objects.count() == 1
    edit = reverse("activities:follow_up_edit", args=[follow_up.pk])
    response = client.post(
        edit,
        {"kind": "call", "occurred_at": now.strftime("%Y-%m-%dT%H:%M"), "summary": "Called instead", "version": "1"},
    )
    assert response.status_code == 302
    follow_up.refresh_from_db()
    assert (follow_up.kind, follow_up.checkin_latitude, follow_up.version) == ("call", None, 2)
    stale = client.post(
        edit, {"kind": "call", "occurred_at": now.strftime("%Y-%m-%dT%H:%M"), "summary": "Old", "version": "1"}
    )
    assert stale.status_code == 200 and "Someone else changed" in stale.content.decode()
    assert client.post(reverse("activities:follow_up_delete", args=[follow_up.pk])).status_code == 302
    assert FollowUp.objects.get().deleted_at is not None
    # Another rep: the create form for a customer they do not see is a 404, and nothing is written.
    other = signed_in(company.other_rep)
    assert other.get(url).status_code == 404
    assert (
        other.post(url, {"kind": "call", "summary": "x", "occurred_at": now.strftime("%Y-%m-%dT%H:%M")}).status_code
        == 404
    )
    assert FollowUp.objects.count() == 1


def test_follow_up_picker_finds_only_visible_customers(company) -> None:
    make_customer(company.owner, "Acme 上海")
    make_customer(company.other_rep, "Acme 北京")
    response = signed_in(company.owner).get(reverse("activities:follow_up_create"), {"q": "Acme"})
    assert [c.name for c in response.context["customers"]] == ["Acme 上海"]


def test_follow_up_list_filters_and_query_count(company) -> None:
    customer = make_customer(company.owner)
    for i in range(12):
        log(customer, kind="call" if i % 2 else "visit", summary=f"S{i}", outcome="positive" if i < 3 else "")
    log(make_customer(company.other_rep, "Hidden"), company.other_rep, summary="hidden")
    client = signed_in(company.owner)
    url = reverse("activities:follow_ups")
    small, r1 = _count(client, url, {"per_page": "10"})
    large, r2 = _count(client, url, {"per_page": "50"})
    assert (len(r1.context["follow_ups"]), len(r2.context["follow_ups"])) == (10, 12)
    assert small == large
    _q, r3 = _count(client, url, {"kind": "visit", "outcome": "positive"})
    assert sorted(f.summary for f in r3.context["follow_ups"]) == ["S0", "S2"]
    _q, r4 = _count(
        client, url, {"customer": customer.pk, "date_from": _today().isoformat(), "date_to": _today().isoformat()}
    )
    assert len(r4.context["follow_ups"]) == 12
    admin = signed_in(company.admin).get(url, {"owner": company.other_rep.pk})
    assert [f.summary for f in admin.context["follow_ups"]] == ["hidden"]


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_follow_up_export_csv_and_xlsx(company) -> None:
    customer = make_customer(company.owner, "=cmd|' /C calc'!A0")
    log(customer, summary='=HYPERLINK("http://x")', kind="visit")
    log(customer, summary="plain call", kind="call")
    log(make_customer(company.other_rep, "Hidden"), company.other_rep, summary="hidden")
    client = signed_in(company.owner)
    rows = _csv(client.get(reverse("activities:follow_ups_export"), {"kind": "visit"}))
    assert rows[0][0] == "id" and len(rows) == 2
    assert rows[1][3] == "'=cmd|' /C calc'!A0"
    assert rows[1][6] == '\'=HYPERLINK("http://x")'
    everything = _csv(client.get(reverse("activities:follow_ups_export")))
    assert sorted(r[6] for r in everything[1:]) == ['\'=HYPERLINK("http://x")', "plain call"]
    xlsx = client.get(reverse("activities:follow_ups_export"), {"format": "xlsx"})
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content)), read_only=True).active
    values = [row for row in sheet.iter_rows(values_only=True)]
    assert len(values) == 3 and values[0][0] == "id"


# ---- tasks pages ---------------------------------------------------------------------------------


def test_task_pages_and_export(company) -> None:
    customer = make_customer(company.owner)
    client = signed_in(company.owner)
    assert client.get(reverse("activities:task_create"), {"customer": customer.pk}).status_code == 200
    due = timezone.localtime(timezone.now(), SHANGHAI) + dt.timedelta(days=1)
    response = client.post(
        reverse("activities:task_create"),
        {
            "title": "@SUM(1+1)",
            "due_at": due.strftime("%Y-%m-%dT%H:%M"),
            "priority": "high",
            "assignee": company.owner.pk,
            "customer": customer.pk,
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    task = Task.objects.get()
    assert (task.customer, task.priority) == (customer, "high")
    # Assigning to a teammate is not offered to a rep, and refused if forced.
    forced = client.post(
        reverse("activities:task_create"),
        {"title": "x", "due_at": due.strftime("%Y-%m-%dT%H:%M"), "priority": "low", "assignee": company.teammate.pk},
    )
    assert forced.status_code == 200 and Task.objects.count() == 1
    # An invisible customer: 404, nothing written.
    theirs = make_customer(company.other_rep, "Theirs")
    hidden = client.post(
        reverse("activities:task_create"),
        {
            "title": "x",
            "due_at": due.strftime("%Y-%m-%dT%H:%M"),
            "priority": "low",
            "assignee": company.owner.pk,
            "customer": theirs.pk,
        },
    )
    assert hidden.status_code == 404 and Task.objects.count() == 1
    rows = _csv(client.get(reverse("activities:tasks_export")))
    assert rows[1][1] == "'@SUM(1+1)"
    assert _csv(signed_in(company.other_rep).get(reverse("activities:tasks_export")))[1:] == []
    assert client.post(reverse("activities:task_complete", args=[task.pk])).status_code == 302
    assert _count(client, reverse("activities:tasks"))[1].context["tasks"] == []
    assert len(_count(client, reverse("activities:tasks"), {"done": "done"})[1].context["tasks"]) == 1
    assert client.post(reverse("activities:task_reopen", args=[task.pk])).status_code == 302
    edit = client.post(
        reverse("activities:task_edit", args=[task.pk]),
        {
            "title": "Renamed",
            "due_at": due.strftime("%Y-%m-%dT%H:%M"),
            "priority": "low",
            "assignee": company.owner.pk,
            "customer": customer.pk,
            "version": "3",
        },
    )
    assert edit.status_code == 302
    assert Task.objects.get().title == "Renamed"
    assert signed_in(company.other_rep).post(reverse("activities:task_delete", args=[task.pk])).status_code == 404
    assert client.post(reverse("activities:task_delete", args=[task.pk])).status_code == 302
    assert not Task.objects.exists()


def test_task_list_query_count_does_not_grow(company) -> None:
    customer = make_customer(company.owner)
    for i in range(15):
        make_task(company.manager_a, title=f"T{i}", assignee=company.owner, customer=customer)
    client = signed_in(company.manager_a)
    small, r1 = _count(client, reverse("activities:tasks"), {"per_page": "10"})
    large, r2 = _count(client, reverse("activities:tasks"), {"per_page": "50"})
    assert (len(r1.context["tasks"]), len(r2.context["tasks"])) == (10, 15)
    assert small == large


# ---- notifications and the badge ------------------------------------------------------------------


def test_badge_counts_unread_in_one_query_and_marking_read(company) -> None:
    for i in range(3):
        services.notification_create(
            recipient=company.owner, kind=NotificationKind.TASK_REMINDER, params={"title": f"T{i}"}
        )
    services.notification_create(recipient=company.teammate, kind=NotificationKind.OTHER)
    client = signed_in(company.owner)
    with CaptureQueriesContext(connection) as ctx:
        page = client.get(reverse("customers:list"))
    badge = [q["sql"] for q in ctx.captured_queries if "activities_notification" in q["sql"]]
    assert len(badge) == 1 and "COUNT" in badge[0].upper()
    assert 'data-testid="unread-count">3<' in page.content.decode()
    listing = client.get(reverse("activities:notifications"))
    assert "Reminder: T2" in listing.content.decode()
    first = Notification.objects.filter(recipient=company.owner).first()
    assert signed_in(company.teammate).post(reverse("activities:notification_read", args=[first.pk])).status_code == 404
    client.post(reverse("activities:notification_read", args=[first.pk]))
    assert 'data-testid="unread-count">2<' in client.get(reverse("customers:list")).content.decode()
    client.post(reverse("activities:notifications_read_all"))
    assert 'data-testid="unread-count"' not in client.get(reverse("customers:list")).content.decode()
    assert Notification.objects.filter(read_at__isnull=True).count() == 1  # the teammate's


def test_notifications_render_in_the_readers_language(company) -> None:
    services.notification_create(recipient=company.owner, kind=NotificationKind.FOLLOW_UP_DUE, params={"name": "Acme"})
    User.objects.filter(pk=company.owner.pk).update(language="zh-hans")
    page = signed_in(company.owner).get(reverse("activities:notifications"))
    assert page.status_code == 200
    assert "Acme" in page.content.decode()


# ---- calendar ------------------------------------------------------------------------------------


def _calendar_days(client: Client, **params: str) -> dict[str, list[str]]:
    response = client.get(reverse("activities:calendar"), params)
    assert response.status_code == 200
    return {
        d.isoformat(): [e.title for e in items] for week in response.context["weeks"] for d, items, _m in week if items
    }


def test_calendar_weeks_and_months_follow_the_users_time_zone(company) -> None:
    utc = dt.UTC
    # Sunday 2026-03-01 17:30 UTC is Monday 2026-03-02 01:30 in Shanghai.
    make_task(company.owner, title="Boundary", due_at=dt.datetime(2026, 3, 1, 17, 30, tzinfo=utc))
    # Tuesday 2026-03-31 16:30 UTC is Wednesday 2026-04-01 00:30 in Shanghai.
    make_task(company.owner, title="Month end", due_at=dt.datetime(2026, 3, 31, 16, 30, tzinfo=utc))
    # Sunday 2026-02-22 17:00 UTC is Monday 2026-02-23 01:00 in Shanghai: the first cell of March's grid.
    make_task(company.owner, title="Grid start", due_at=dt.datetime(2026, 2, 22, 17, 0, tzinfo=utc))
    shanghai = signed_in(company.owner)
    assert _calendar_days(shanghai, view="week", date="2026-03-02") == {"2026-03-02": ["Boundary"]}
    assert _calendar_days(shanghai, view="week", date="2026-03-01") == {"2026-02-23": ["Grid start"]}
    month = _calendar_days(shanghai, view="month", date="2026-03-15")
    assert month == {"2026-02-23": ["Grid start"], "2026-03-02": ["Boundary"], "2026-04-01": ["Month end"]}
    User.objects.filter(pk=company.owner.pk).update(time_zone="UTC")
    in_utc = signed_in(company.owner)
    assert _calendar_days(in_utc, view="week", date="2026-03-02") == {}
    assert _calendar_days(in_utc, view="week", date="2026-03-01") == {"2026-03-01": ["Boundary"]}
    month = _calendar_days(in_utc, view="month", date="2026-03-15")
    assert month == {"2026-03-01": ["Boundary"], "2026-03-31": ["Month end"]}
    response = in_utc.get(reverse("activities:calendar"), {"view": "month", "date": "2026-03-15"})
    assert (response.context["first"], response.context["last"]) == (dt.date(2026, 2, 23), dt.date(2026, 4, 5))
    assert in_utc.get(reverse("activities:calendar"), {"date": "not-a-date"}).status_code == 200


def test_calendar_shows_follow_ups_and_next_dates(company) -> None:
    customer = make_customer(company.owner, "Acme")
    today = _today()
    log(customer, occurred_at=timezone.now() - dt.timedelta(minutes=5), next_follow_up_on=today + dt.timedelta(days=1))
    response = signed_in(company.owner).get(
        reverse("activities:calendar"), {"view": "month", "date": today.isoformat()}
    )
    kinds = sorted(e.kind for e in response.context["entries"])
    assert kinds == ["follow_up", "next_follow_up"] or (today + dt.timedelta(days=1)).month != today.month


# ---- the iCalendar feed --------------------------------------------------------------------------


def test_calendar_feed_parses_back_and_a_revoked_key_is_not_found(company) -> None:
    customer = make_customer(company.owner, "Acme 上海")
    task = make_task(
        company.owner,
        title="Send quote",
        due_at=dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC),
        remind_at=dt.datetime(2026, 12, 3, 1, 30, tzinfo=dt.UTC),
        customer=customer,
    )
    fu = log(
        customer,
        kind="visit",
        summary="Met 王总",
        occurred_at=timezone.now() - dt.timedelta(hours=1),
        next_follow_up_on=_today() + dt.timedelta(days=3),
        checkin_latitude="31.23",
        checkin_longitude="121.47",
    )
    make_task(company.other_rep, title="Someone else's")
    client = signed_in(company.owner)
    created = client.post(reverse("activities:calendar_feed_settings"), {"action": "create"})
    assert created.status_code == 200
    url = created.context["new_url"]
    key = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert CalendarFeed.objects.get().key_hash == services.feed_key_hash(key)
    assert key not in client.get(reverse("activities:calendar_feed_settings")).content.decode()  # shown once
    response = Client().get(reverse("activities:calendar_feed", kwargs={"key": key}))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.content)
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {
        f"task-{task.pk}@testserver",
        f"follow-up-{fu.pk}@testserver",
        f"next-follow-up-{(_today() + dt.timedelta(days=3)):%Y%m%d}-{customer.pk}@testserver",
    }
    task_event = events[f"task-{task.pk}@testserver"]
    start = task_event.decoded("DTSTART")
    assert start == dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.UTC)
    assert str(start.tzinfo) == "Asia/Shanghai" or getattr(start.tzinfo, "key", "") == "Asia/Shanghai"
    assert task_event["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert "DTSTAMP" in task_event
    assert str(task_event["SUMMARY"]) == "Send quote"
    assert [a for a in task_event.walk("VALARM")]
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    visit = events[f"follow-up-{fu.pk}@testserver"]
    assert "Acme 上海" in str(visit["SUMMARY"]) and str(visit["DESCRIPTION"]) == "Met 王总"
    next_date = events[f"next-follow-up-{(_today() + dt.timedelta(days=3)):%Y%m%d}-{customer.pk}@testserver"]
    assert next_date.decoded("DTSTART") == _today() + dt.timedelta(days=3)
    # Revoked, unknown: 404 like any missing page.
    client.post(reverse("activities:calendar_feed_settings"), {"action": "revoke"})
    assert Client().get(reverse("activities:calendar_feed", kwargs={"key": key})).status_code == 404
    assert Client().get(reverse("activities:calendar_feed", kwargs={"key": "nope"})).status_code == 404


def test_an_inactive_users_feed_is_not_found(company) -> None:
    key = services.calendar_feed_create(actor=company.owner).key
    User.objects.filter(pk=company.owner.pk).update(is_active=False)
    assert Client().get(reverse("activities:calendar_feed", kwargs={"key": key})).status_code == 404


# ---- the customer page ---------------------------------------------------------------------------


def test_customer_page_shows_the_activity_timeline_in_fixed_queries(company) -> None:
    customer = make_customer(company.owner)
    for i in range(3):
        log(customer, summary=f"S{i}", occurred_at=timezone.now() - dt.timedelta(hours=10 - i))
    make_task(company.owner, title="Open one", customer=customer)
    client = signed_in(company.owner)
    url = reverse("customers:detail", args=[customer.pk])
    small, response = _count(client, url)
    kinds = [item.kind for item in response.context["activity"]]
    assert kinds.count("follow_up") == 3 and kinds.count("task") == 1
    page = response.content.decode()
    assert "Open one" in page and 'data-testid="log-follow-up"' in page
    for i in range(30):
        log(customer, summary=f"More {i}", occurred_at=timezone.now() - dt.timedelta(days=2, minutes=i))
    large, response = _count(client, url)
    assert small == large
    activity = response.context["activity"]
    assert len(activity) == 20 and response.context["activity_older"]
    older = client.get(url, {"before": response.context["activity_older"]}).context["activity"]
    assert len(older) == 14
    assert {i.detail for i in older}.isdisjoint({i.detail for i in activity})


def test_customer_timeline_hides_tasks_the_viewer_may_not_see(company) -> None:
    customer = make_customer(company.owner, collaborators=[company.teammate])
    make_task(company.owner, title="Private task", customer=customer)
    response = signed_in(company.teammate).get(reverse("customers:detail", args=[customer.pk]))
    assert "Private task" not in response.content.decode()
    assert Customer.objects.get(pk=customer.pk).pk == customer.pk
