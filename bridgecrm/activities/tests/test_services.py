"""Services: the customer's follow-up dates, visibility, check-ins, task assignment, reminders."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from django.utils import timezone

from bridgecrm.activities import services
from bridgecrm.activities.models import FollowUp, Notification, NotificationKind, Task
from bridgecrm.activities.tests.factories import default_pipeline, log, make_deal, make_task
from bridgecrm.core import dates
from bridgecrm.core.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from bridgecrm.core.models import AuditEntry
from bridgecrm.customers.models import Customer
from bridgecrm.customers.tests.factories import make_contact, make_customer

pytestmark = pytest.mark.django_db

SHANGHAI = dates.company_zone()


def _at(day: dt.date, hour: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


def _dates(customer: Customer) -> tuple[dt.datetime | None, dt.date | None]:
    customer.refresh_from_db()
    return customer.last_follow_up_at, customer.next_follow_up_on


# ---- the customer's dates ------------------------------------------------------------------------


def test_logging_sets_last_and_next_dates(company) -> None:
    customer = make_customer(company.owner)
    today = timezone.localdate(timezone=SHANGHAI)
    when = _at(today - dt.timedelta(days=3))
    log(customer, occurred_at=when, next_follow_up_on=today + dt.timedelta(days=4))
    assert _dates(customer) == (when, today + dt.timedelta(days=4))
    assert customer.version == 1  # derived dates do not make a colleague's edit form stale


def test_an_interim_follow_up_keeps_a_future_next_date(company) -> None:
    customer = make_customer(company.owner)
    today = timezone.localdate(timezone=SHANGHAI)
    log(customer, occurred_at=_at(today - dt.timedelta(days=5)), next_follow_up_on=today + dt.timedelta(days=3))
    later = _at(today - dt.timedelta(days=1))
    log(customer, occurred_at=later)
    assert _dates(customer) == (later, today + dt.timedelta(days=3))


def test_a_follow_up_on_or_after_an_overdue_date_clears_it(company) -> None:
    customer = make_customer(company.owner)
    today = timezone.localdate(timezone=SHANGHAI)
    log(customer, occurred_at=_at(today - dt.timedelta(days=10)), next_follow_up_on=today - dt.timedelta(days=2))
    assert _dates(customer)[1] == today - dt.timedelta(days=2)
    done = log(customer, occurred_at=timezone.now() - dt.timedelta(minutes=1))
    assert _dates(customer) == (done.occurred_at, None)


def test_the_latest_logged_next_date_wins_and_a_delete_restores_the_previous(company) -> None:
    customer = make_customer(company.owner)
    today = timezone.localdate(timezone=SHANGHAI)
    first = log(customer, occurred_at=_at(today - dt.timedelta(days=4)), next_follow_up_on=today + dt.timedelta(days=9))
    second = log(
        customer, occurred_at=_at(today - dt.timedelta(days=2)), next_follow_up_on=today + dt.timedelta(days=2)
    )
    assert _dates(customer) == (second.occurred_at, today + dt.timedelta(days=2))
    services.follow_up_delete(actor=company.owner, follow_up=second)
    assert _dates(customer) == (first.occurred_at, today + dt.timedelta(days=9))
    services.follow_up_update(actor=company.owner, follow_up=first, next_follow_up_on=None, version=1)
    assert _dates(customer) == (first.occurred_at, None)
    services.follow_up_delete(actor=company.owner, follow_up=FollowUp.objects.get(pk=first.pk))
    assert _dates(customer) == (None, None)
    assert FollowUp.objects.filter(customer=customer).count() == 2  # soft: history stays
    actions = list(
        AuditEntry.objects.filter(object_id=str(second.pk), content_type__model="followup").values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == ["create", "delete"]


def test_bad_values_are_refused_and_nothing_is_written(company) -> None:
    customer = make_customer(company.owner)
    today = timezone.localdate(timezone=SHANGHAI)
    cases = [
        ({"kind": "fax"}, "kind"),
        ({"summary": "   "}, "summary"),
        ({"occurred_at": timezone.now() + dt.timedelta(days=1)}, "occurred_at"),
        ({"occurred_at": _at(today), "next_follow_up_on": today - dt.timedelta(days=1)}, "next_follow_up_on"),
        ({"kind": "visit", "checkin_latitude": "90.5", "checkin_longitude": "120"}, "checkin_latitude"),
        ({"kind": "visit", "checkin_latitude": "31.2", "checkin_longitude": "-180.01"}, "checkin_longitude"),
        ({"kind": "visit", "checkin_latitude": "31.2"}, "checkin_longitude"),
        ({"kind": "visit", "checkin_latitude": "NaN", "checkin_longitude": "1"}, "checkin_latitude"),
        ({"kind": "call", "checkin_latitude": "31.2", "checkin_longitude": "121.4"}, "checkin_latitude"),
        ({"outcome": "great"}, "outcome"),
    ]
    for values, field in cases:
        kwargs = {"kind": "call", "summary": "Talked", **values}
        with pytest.raises(ApplicationError) as exc:
            services.follow_up_log(actor=company.owner, customer=customer, **kwargs)
        assert field in exc.value.details, (values, exc.value.details)
    assert not FollowUp.objects.exists()
    assert _dates(customer) == (None, None)


def test_a_visit_check_in_is_kept_with_its_time(company) -> None:
    customer = make_customer(company.owner)
    visit = log(
        customer,
        kind="visit",
        checkin_latitude="31.230416",
        checkin_longitude="121.473701",
        checkin_address=" 上海  人民广场 ",
    )
    visit.refresh_from_db()
    assert (visit.checkin_latitude, visit.checkin_longitude) == (
        decimal.Decimal("31.230416"),
        decimal.Decimal("121.473701"),
    )
    assert visit.checkin_address == "上海 人民广场"
    assert visit.checkin_at == visit.occurred_at
    # Turning the visit into a call drops the check-in.
    changed = services.follow_up_update(actor=company.owner, follow_up=visit, kind="call", version=1)
    assert (changed.checkin_latitude, changed.checkin_address, changed.checkin_at) == (None, "", None)


def test_a_customer_one_does_not_see_is_not_found_and_nothing_is_written(company) -> None:
    customer = make_customer(company.owner)
    for actor in (company.other_rep, company.teammate, company.manager_b):
        with pytest.raises(NotFound):
            services.follow_up_log(actor=actor, customer=customer, kind="call", summary="x")
    assert not FollowUp.objects.exists()


def test_contact_and_deal_must_belong_to_the_customer_and_be_visible(company) -> None:
    default_pipeline(company.admin)
    customer = make_customer(company.owner)
    other = make_customer(company.owner, "Other")
    foreign_contact = make_contact(other)
    foreign_deal = make_deal(other, company.owner)
    hidden_deal = make_deal(customer, company.other_rep)  # on my customer, owned by someone I do not see
    for kwargs, field in (
        ({"contact": foreign_contact}, "contact"),
        ({"deal": foreign_deal}, "deal"),
        ({"deal": hidden_deal}, "deal"),
    ):
        with pytest.raises(ApplicationError) as exc:
            services.follow_up_log(actor=company.owner, customer=customer, kind="call", summary="x", **kwargs)
        assert field in exc.value.details
    assert not FollowUp.objects.exists()
    ok = log(customer, contact=make_contact(customer, "李娜"), deal=make_deal(customer, company.owner))
    assert ok.deal is not None


def test_only_the_author_their_managers_and_admins_change_a_follow_up(company) -> None:
    customer = make_customer(company.owner, collaborators=[company.teammate])
    follow_up = log(customer)
    with pytest.raises(PermissionDenied):
        services.follow_up_update(actor=company.teammate, follow_up=follow_up, summary="mine now")
    with pytest.raises(PermissionDenied):
        services.follow_up_delete(actor=company.teammate, follow_up=follow_up)
    with pytest.raises(NotFound):
        services.follow_up_update(actor=company.other_rep, follow_up=follow_up, summary="x")
    services.follow_up_update(actor=company.manager_a, follow_up=follow_up, summary="Checked by manager", version=1)
    with pytest.raises(Conflict):
        services.follow_up_update(actor=company.admin, follow_up=follow_up, summary="stale", version=1)
    follow_up.refresh_from_db()
    assert (follow_up.summary, follow_up.version) == ("Checked by manager", 2)
    # The collaborator may log their own follow-up on the shared customer.
    assert log(customer, company.teammate).owner == company.teammate


# ---- tasks ---------------------------------------------------------------------------------------


def test_assignment_rules(company) -> None:
    make_task(company.owner)
    for actor, assignee in (
        (company.owner, company.teammate),
        (company.manager_a, company.other_rep),
        (company.manager_b, company.owner),
    ):
        with pytest.raises(ApplicationError) as exc:
            make_task(actor, assignee=assignee)
        assert "assignee" in exc.value.details
    make_task(company.manager_a, assignee=company.owner)
    make_task(company.admin, assignee=company.other_rep)
    assert Task.objects.count() == 3
    # Someone else's assignment notifies the assignee, in their language at display time.
    notes = Notification.objects.filter(kind=NotificationKind.TASK_ASSIGNED)
    assert sorted(notes.values_list("recipient__username", flat=True)) == ["other_rep", "owner"]


def test_attaching_an_invisible_customer_or_deal_writes_nothing(company) -> None:
    default_pipeline(company.admin)
    theirs = make_customer(company.other_rep, "Theirs")
    their_deal = make_deal(theirs, company.other_rep)
    mine = make_customer(company.owner)
    before = AuditEntry.objects.count()
    for kwargs, field in (
        ({"customer": theirs}, "customer"),
        ({"deal": their_deal}, "deal"),
        ({"customer": mine, "deal": make_deal(make_customer(company.owner, "X"), company.owner)}, "deal"),
    ):
        with pytest.raises(ApplicationError) as exc:
            make_task(company.owner, **kwargs)
        assert field in exc.value.details
    assert not Task.objects.exists()
    assert AuditEntry.objects.count() == before + 1  # only the customer "X" made above
    task = make_task(company.owner, deal=make_deal(mine, company.owner))
    assert task.customer == mine  # a deal brings its customer


def test_task_update_complete_reopen_delete(company) -> None:
    task = make_task(company.owner, remind_at=timezone.now() - dt.timedelta(minutes=1))
    assert services.task_reminders_send() == 1
    updated = services.task_update(
        actor=company.owner,
        task=task,
        title="Call back 王总",
        remind_at=timezone.now() + dt.timedelta(minutes=5),
        version=1,
    )
    assert (updated.version, updated.reminded_at) == (2, None)  # a new reminder time reminds again
    with pytest.raises(Conflict):
        services.task_update(actor=company.manager_a, task=task, title="Old", version=1)
    with pytest.raises(NotFound):
        services.task_complete(actor=company.teammate, task=task)
    done = services.task_complete(actor=company.manager_a, task=task)
    assert done.done_at is not None
    assert services.task_reopen(actor=company.owner, task=task).done_at is None
    with pytest.raises(ApplicationError):
        services.task_update(actor=company.owner, task=task, remind_at=task.due_at + dt.timedelta(hours=1))
    services.task_delete(actor=company.owner, task=task)
    assert not Task.objects.exists()
    assert AuditEntry.objects.filter(content_type__model="task", action="delete").count() == 1


# ---- reminders and notifications -----------------------------------------------------------------


def test_reminders_are_sent_once_even_when_the_job_runs_twice(company) -> None:
    now = timezone.now()
    due = make_task(company.owner, title="Due", remind_at=now - dt.timedelta(minutes=2))
    make_task(company.owner, title="Later", remind_at=now + dt.timedelta(minutes=30))
    finished = make_task(company.owner, title="Finished", remind_at=now - dt.timedelta(minutes=2))
    services.task_complete(actor=company.owner, task=finished)
    assert services.task_reminders_send(now=now) == 1
    assert services.task_reminders_send(now=now) == 0
    reminders = Notification.objects.filter(kind=NotificationKind.TASK_REMINDER)
    assert [(n.recipient_id, n.params["task_id"]) for n in reminders] == [(company.owner.pk, due.pk)]
    assert Task.objects.filter(reminded_at__isnull=True).count() == 1  # "Later" still waits
    assert services.task_reminders_send(now=now + dt.timedelta(hours=1)) == 1


def test_the_scheduled_tasks_run_the_services(company) -> None:
    from bridgecrm.activities import schedule, tasks

    make_task(company.owner, remind_at=timezone.now() - dt.timedelta(minutes=1))
    tasks.send_task_reminders.enqueue()
    tasks.send_task_reminders.enqueue()
    assert Notification.objects.filter(kind=NotificationKind.TASK_REMINDER).count() == 1
    assert {e.name for e in schedule.SCHEDULE} == {"activities.task_reminders", "activities.follow_ups_due"}


def test_follow_ups_due_today_are_notified_once(company) -> None:
    today = timezone.localdate(timezone=SHANGHAI)
    due = make_customer(company.owner, "Due today")
    log(due, occurred_at=_at(today - dt.timedelta(days=3)), next_follow_up_on=today)
    not_due = make_customer(company.owner, "Tomorrow")
    log(not_due, occurred_at=_at(today - dt.timedelta(days=3)), next_follow_up_on=today + dt.timedelta(days=1))
    assert services.follow_ups_due_notify(today=today) == 1
    assert services.follow_ups_due_notify(today=today) == 0
    note = Notification.objects.get(kind=NotificationKind.FOLLOW_UP_DUE)
    assert (note.recipient_id, note.params["customer_id"]) == (company.owner.pk, due.pk)


def test_notifications_are_read_by_their_recipient_only(company) -> None:
    note = services.notification_create(recipient=company.owner, kind=NotificationKind.OTHER, params={"text": "hi"})
    with pytest.raises(NotFound):
        services.notification_mark_read(actor=company.admin, notification=note)
    services.notification_create(recipient=company.owner, kind=NotificationKind.OTHER)
    services.notification_mark_read(actor=company.owner, notification=note)
    assert services.notification_mark_all_read(actor=company.owner) == 1
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_calendar_feed_keeps_only_a_hash_and_one_live_feed(company) -> None:
    first = services.calendar_feed_create(actor=company.owner)
    second = services.calendar_feed_create(actor=company.owner)
    first.feed.refresh_from_db()
    assert first.feed.revoked_at is not None and second.feed.revoked_at is None
    assert second.feed.key_hash == services.feed_key_hash(second.key) != second.key
    assert second.key not in str(list(AuditEntry.objects.values_list("new_value", flat=True)))
    assert services.calendar_feed_revoke(actor=company.owner) == 1
