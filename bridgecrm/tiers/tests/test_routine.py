"""Follow-up routines: due dates, overdue lists, reminders and compliance, on fixed dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.test import override_settings

from bridgecrm.activities import services as activity_services
from bridgecrm.activities.models import Notification, NotificationKind
from bridgecrm.conftest import Company
from bridgecrm.customers.models import Customer
from bridgecrm.tiers import selectors, services
from bridgecrm.tiers.models import SopReminder, Tier
from bridgecrm.tiers.tests.helpers import customer, follow_up

pytestmark = pytest.mark.django_db
D = dt.date


def status(target: Customer, today: dt.date) -> selectors.SopStatus:
    return selectors.sop_statuses([Customer.objects.get(pk=target.pk)], today=today)[target.pk]


def test_due_date_and_overdue_days(company: Company) -> None:
    target = customer(company.owner, "Weekly", tier="A")  # every 7 days, 2 visits a month
    follow_up(target, D(2026, 3, 10))
    follow_up(target, D(2026, 3, 12), kind="visit")
    s = status(target, D(2026, 3, 20))
    assert (s.due_on, s.overdue_days, s.visits_required, s.visits_done) == (D(2026, 3, 19), 1, 2, 1)
    assert status(target, D(2026, 3, 19)).overdue_days == 0
    # Only visits count when the tier says so: the call of the 14th does not move the date.
    Tier.objects.filter(code="A").update(counted_kinds=["visit"])
    follow_up(target, D(2026, 3, 14))
    assert status(target, D(2026, 3, 20)).due_on == D(2026, 3, 19)
    # A new owner gets the full cadence from the day they got the customer.
    Customer.objects.filter(pk=target.pk).update(
        owner_since=dt.datetime(2026, 3, 18, 2, 0, tzinfo=dt.UTC), owner=company.teammate
    )
    assert status(target, D(2026, 3, 20)).due_on == D(2026, 3, 25)


def test_no_routine_without_a_cadence_or_an_owner(company: Company) -> None:
    Tier.objects.filter(code="D").update(follow_up_every_days=None)
    quiet = customer(company.owner, "Quiet", tier="D")
    assert status(quiet, D(2026, 3, 20)).due_on is None
    pooled = customer(company.owner, "Pooled", tier="A")
    Customer.objects.filter(pk=pooled.pk).update(owner=None)
    assert status(pooled, D(2026, 3, 20)).due_on is None


def test_overdue_list_matches_the_due_dates_and_visibility(company: Company) -> None:
    late = customer(company.owner, "Late", tier="A")
    follow_up(late, D(2026, 3, 10))  # due 17th
    ok = customer(company.owner, "On time", tier="A")
    follow_up(ok, D(2026, 3, 16))  # due 23rd
    never = customer(company.owner, "Never", tier="B")  # since 2025: long overdue
    other = customer(company.other_rep, "Someone else's", tier="A")
    names = lambda actor, today, **kw: {  # noqa: E731
        c.name for c in selectors.routine_customers(actor=actor, today=today, **kw)
    }
    assert names(company.owner, D(2026, 3, 17)) == {"Never"}  # due today is not overdue yet
    assert names(company.owner, D(2026, 3, 18)) == {"Late", "Never"}
    assert names(company.owner, D(2026, 3, 18), within_days=6) == {"Late", "Never", "On time"}
    assert names(company.owner, D(2026, 3, 18), tier="B") == {"Never"}
    assert names(company.manager_a, D(2026, 3, 18)) == {"Late", "Never"}
    assert names(company.admin, D(2026, 3, 18)) == {"Late", "Never", "Someone else's"}
    assert names(company.other_rep, D(2026, 3, 18)) == {"Someone else's"}
    for c in (late, never):
        assert status(c, D(2026, 3, 18)).overdue_days > 0
    assert status(ok, D(2026, 3, 18)).overdue_days == 0
    assert other.pk


def test_reminders_are_sent_once_per_customer_and_due_date(company: Company) -> None:
    late = customer(company.owner, "Late", tier="A")
    follow_up(late, D(2026, 3, 10))
    assert services.sop_reminders_send(today=D(2026, 3, 20)) == 1
    assert services.sop_reminders_send(today=D(2026, 3, 20)) == 0
    assert services.sop_reminders_send(today=D(2026, 3, 21)) == 0  # same due date, still overdue
    note = Notification.objects.get(kind=NotificationKind.SOP_OVERDUE)
    assert note.recipient == company.owner
    assert note.params == {
        "customer_id": late.pk,
        "name": "Late",
        "due_on": "2026-03-17",
        "days": 3,
        "tier": "A · Key account",
    }
    # A follow-up sets a new due date: one more reminder when that one passes.
    follow_up(late, D(2026, 3, 22))
    assert services.sop_reminders_send(today=D(2026, 3, 29)) == 0  # due the 29th: not overdue yet
    assert services.sop_reminders_send(today=D(2026, 3, 30)) == 1
    assert SopReminder.objects.filter(customer=late).count() == 2


@override_settings(BRIDGE_EMAIL_NOTIFICATIONS=True)
def test_reminders_go_by_email_in_the_recipients_language(
    company: Company, django_capture_on_commit_callbacks: Any
) -> None:
    company.owner.email, company.owner.language = "owner@example.com", "zh-hans"
    company.owner.save()
    late = customer(company.owner, "Late", tier="A")
    follow_up(late, D(2026, 3, 10))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sop_reminders_send(today=D(2026, 3, 20)) == 1
    assert [m.to for m in mail.outbox] == [["owner@example.com"]]
    assert "Late" in mail.outbox[0].subject and f"/customers/{late.pk}/" in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        activity_services.notification_create(
            recipient=company.owner, kind=NotificationKind.TASK_REMINDER, params={"title": "报价"}
        )
    assert mail.outbox[1].subject == "[Bridge] 提醒：报价"


def test_no_email_unless_configured_and_mail_errors_never_fail_the_caller(
    company: Company, django_capture_on_commit_callbacks: Any
) -> None:
    company.owner.email = "owner@example.com"
    company.owner.save()
    with django_capture_on_commit_callbacks(execute=True):
        activity_services.notification_create(recipient=company.owner, kind=NotificationKind.OTHER)
    assert mail.outbox == []
    with override_settings(
        BRIDGE_EMAIL_NOTIFICATIONS=True,
        MAILERS={
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 1},
            }
        },
    ):
        with django_capture_on_commit_callbacks(execute=True):
            note = activity_services.notification_create(recipient=company.owner, kind=NotificationKind.OTHER)
        assert activity_services.notification_email_send(note.pk) is False  # port 9: refused
    assert Notification.objects.filter(pk=note.pk).exists()


@pytest.fixture
def march(company: Company) -> dict[str, Customer]:
    """The hand-computed example: period March 2026, A = every 7 days and 2 visits a month,
    B = every 14 days and 1 visit a month."""
    c1 = customer(company.owner, "c1", tier="A")
    for day, kind in (
        (D(2026, 2, 25), "call"),
        (D(2026, 3, 4), "visit"),
        (D(2026, 3, 11), "call"),
        (D(2026, 3, 18), "visit"),
        (D(2026, 3, 25), "call"),
        (D(2026, 3, 31), "call"),
    ):
        follow_up(c1, day, kind)  # gaps 7, 7, 7, 7, 6 and 0 to the end: on time; 2 of 2 visits
    c2 = customer(company.owner, "c2", tier="A")
    for day, kind in ((D(2026, 2, 27), "call"), (D(2026, 3, 5), "visit"), (D(2026, 3, 20), "call")):
        follow_up(c2, day, kind)  # 5th → 20th is 15 days: late; 1 of 2 visits
    c3 = customer(company.owner, "c3", tier="B", since=dt.datetime(2026, 3, 10, 2, tzinfo=dt.UTC))
    # came on the 10th, nothing since: 21 days to the 31st: late; 0 of 1 visit
    c4 = customer(company.teammate, "c4", tier="B")
    for day, kind in (
        (D(2026, 2, 20), "call"),
        (D(2026, 3, 1), "visit"),
        (D(2026, 3, 14), "call"),
        (D(2026, 3, 28), "call"),
        (D(2026, 3, 29), "visit"),
    ):
        follow_up(c4, day, kind)  # gaps 9, 13, 14, 1 and 2: on time; 2 visits logged, 1 counts
    c5 = customer(company.other_rep, "c5", tier="A")  # nothing: late; 0 of 2
    return {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5}


def figures(row: selectors.ComplianceRow) -> tuple[Any, ...]:
    return (row.customers, row.on_time, row.on_time_share, row.visits_done, row.visits_required, row.visit_share)


def test_compliance_per_rep_and_team(company: Company, march: dict[str, Customer]) -> None:
    result = selectors.sop_compliance(
        actor=company.admin, period_start=D(2026, 3, 1), period_end=D(2026, 3, 31), today=D(2026, 4, 15)
    )
    reps = {r.key: r for r in result.reps}
    assert figures(reps[company.owner.pk]) == (3, 1, 0.3333, 3, 5, 0.6)
    assert figures(reps[company.teammate.pk]) == (1, 1, 1.0, 1, 1, 1.0)
    assert reps[company.teammate.pk].visits_logged == 2
    assert figures(reps[company.other_rep.pk]) == (1, 0, 0.0, 0, 2, 0.0)
    assert figures(reps[company.admin.pk]) == (0, 0, None, 0, 0, None)
    teams = {r.key: r for r in result.teams}
    assert figures(teams[company.team_a.pk]) == (4, 2, 0.5, 4, 6, 0.6667)
    assert figures(teams[company.team_b.pk]) == (1, 0, 0.0, 0, 2, 0.0)
    assert figures(result.total) == (5, 2, 0.4, 4, 8, 0.5)


def test_compliance_is_scoped_to_what_the_actor_manages(company: Company, march: dict[str, Customer]) -> None:
    def keys(actor: Any) -> set[int]:
        result = selectors.sop_compliance(
            actor=actor, period_start=D(2026, 3, 1), period_end=D(2026, 3, 31), today=D(2026, 4, 15)
        )
        return {r.key for r in result.reps}

    assert keys(company.owner) == {company.owner.pk}
    assert keys(company.manager_a) == {company.manager_a.pk, company.owner.pk, company.teammate.pk}
    assert keys(company.manager_b) == {company.manager_b.pk, company.other_rep.pk}
    result = selectors.sop_compliance(
        actor=company.owner, period_start=D(2026, 3, 1), period_end=D(2026, 3, 31), today=D(2026, 4, 15)
    )
    assert figures(result.total) == (3, 1, 0.3333, 3, 5, 0.6)


def test_a_period_still_running_is_judged_up_to_today(company: Company, march: dict[str, Customer]) -> None:
    result = selectors.sop_compliance(
        actor=company.owner, period_start=D(2026, 3, 1), period_end=D(2026, 3, 31), today=D(2026, 3, 15)
    )
    # Up to the 15th: c1 (gaps 7, 7, 4) and c2 (gap 10 to the 15th… 5th → 15th is 10 > 7: late)
    # and c3 (came the 10th: 5 days) → 2 of 3 on time; visits so far: c1 1, c2 1.
    assert (result.total.customers, result.total.on_time, result.total.visits_done) == (3, 2, 2)


def test_periods_and_quarters() -> None:
    assert selectors.periods_in(D(2026, 3, 1), D(2026, 3, 31), "month") == 1
    assert selectors.periods_in(D(2026, 1, 15), D(2026, 3, 1), "month") == 3
    assert selectors.periods_in(D(2026, 1, 1), D(2026, 12, 31), "quarter") == 4
    assert selectors.period_bounds(D(2026, 11, 5), "quarter") == (D(2026, 10, 1), D(2026, 12, 31))
    assert selectors.on_time(D(2026, 3, 1), [D(2026, 3, 8)], D(2026, 3, 15), 7)
    assert not selectors.on_time(D(2026, 3, 1), [D(2026, 3, 9)], D(2026, 3, 9), 7)
