"""Training services: completion rules, enrolment scope, materials, coaching and the library."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from bridgecrm.activities.models import Notification, NotificationKind
from bridgecrm.activities.selectors import notification_text
from bridgecrm.conftest import Company
from bridgecrm.core.errors import ApplicationError, NotFound, PermissionDenied
from bridgecrm.core.periods import Period
from bridgecrm.customers import services as customer_services
from bridgecrm.training import selectors, services
from bridgecrm.training.models import CoachingReminder, Enrollment, TrainingMaterial
from bridgecrm.training.tests.helpers import course, session

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }


def test_is_completion_rule() -> None:
    assert services.is_completion(attended=True, score=None, pass_score=None)
    assert not services.is_completion(attended=None, score=None, pass_score=None)
    assert not services.is_completion(attended=False, score=None, pass_score=None)
    assert not services.is_completion(attended=True, score=None, pass_score=Decimal("60"))
    assert not services.is_completion(attended=True, score=Decimal("59.99"), pass_score=Decimal("60"))
    assert services.is_completion(attended=True, score=Decimal("60.00"), pass_score=Decimal("60"))


def test_enrol_record_and_completion_rates(company: Company) -> None:
    c = course(company.admin, pass_score="70")
    s = session(company.manager_a, c)
    created = services.enrollment_add(actor=company.manager_a, session=s, users=[company.owner, company.teammate])
    assert len(created) == 2
    # enrolling again skips those already enrolled
    assert services.enrollment_add(actor=company.manager_a, session=s, users=[company.owner]) == []
    notes = Notification.objects.filter(kind=NotificationKind.TRAINING_ENROLLED)
    assert sorted(n.recipient_id for n in notes) == sorted([company.owner.pk, company.teammate.pk])
    mine, theirs = (Enrollment.objects.get(user=u) for u in (company.owner, company.teammate))
    mine = services.enrollment_record(actor=company.manager_a, enrollment=mine, attended=True, score="85.5")
    assert mine.score == Decimal("85.50") and mine.completed_at is not None
    theirs = services.enrollment_record(actor=company.manager_a, enrollment=theirs, attended=True, score="69.99")
    assert theirs.completed_at is None
    today = timezone.localdate()
    period = Period.containing("year", s.starts_at.astimezone(timezone.get_current_timezone()).date())
    assert selectors.completion_rates(period=period, user_ids=[company.owner.pk, company.teammate.pk]) == {
        company.owner.pk: Decimal("1.0000"),
        company.teammate.pk: Decimal("0.0000"),
    }
    assert selectors.completed_course_ids(user_ids=[company.owner.pk]) == {company.owner.pk: {c.pk}}
    # a correction undoes the completion
    mine = services.enrollment_record(actor=company.manager_a, enrollment=mine, attended=False, score=None)
    assert mine.completed_at is None
    assert today  # the period above is the session's local year


def test_completion_without_pass_score_needs_attendance_only(company: Company) -> None:
    s = session(company.admin, course(company.admin, pass_score=None))
    (e,) = services.enrollment_add(actor=company.admin, session=s, users=[company.other_rep])
    e = services.enrollment_record(actor=company.admin, enrollment=e, attended=True, score=None)
    assert e.completed_at is not None


def test_bad_scores_and_future_attendance_change_nothing(company: Company) -> None:
    c = course(company.admin)
    s = session(company.admin, c)
    (e,) = services.enrollment_add(actor=company.admin, session=s, users=[company.owner])
    for bad in ("101", "-1", "abc", "NaN"):
        with pytest.raises(ApplicationError) as exc:
            services.enrollment_record(actor=company.admin, enrollment=e, attended=True, score=bad)
        assert "score" in exc.value.details
    with pytest.raises(ApplicationError):
        services.enrollment_record(actor=company.admin, enrollment=e, attended=False, score="80")
    future = session(company.admin, c, days_ago=-5)
    (f,) = services.enrollment_add(actor=company.admin, session=future, users=[company.owner])
    with pytest.raises(ApplicationError) as exc:
        services.enrollment_record(actor=company.admin, enrollment=f, attended=True, score=None)
    assert exc.value.code == "not_started"
    e.refresh_from_db()
    assert (e.attended, e.score, e.completed_at) == (None, None, None)


def test_managers_enrol_and_record_only_their_subtree(company: Company) -> None:
    s = session(company.admin, course(company.admin))
    with pytest.raises(ApplicationError) as exc:
        services.enrollment_add(actor=company.manager_b, session=s, users=[company.owner])
    assert exc.value.code == "not_managed"
    with pytest.raises(PermissionDenied):
        services.enrollment_add(actor=company.owner, session=s, users=[company.owner])
    (e,) = services.enrollment_add(actor=company.manager_a, session=s, users=[company.owner])
    with pytest.raises(PermissionDenied):
        services.enrollment_record(actor=company.manager_b, enrollment=e, attended=True, score="90")
    with pytest.raises(PermissionDenied):
        services.enrollment_record(actor=company.owner, enrollment=e, attended=True, score="90")
    assert Enrollment.objects.get().attended is None


def test_session_visibility(company: Company) -> None:
    c = course(company.admin)
    closed = session(company.admin, c, is_open=False)
    open_ = session(company.admin, c, days_ago=1)
    services.enrollment_add(actor=company.admin, session=closed, users=[company.owner])
    ids = lambda actor: set(selectors.sessions(actor=actor).values_list("pk", flat=True))  # noqa: E731
    assert ids(company.owner) == {closed.pk, open_.pk}
    assert ids(company.teammate) == {open_.pk}
    assert ids(company.manager_b) == {closed.pk, open_.pk}  # training.manage sees the calendar
    with pytest.raises(NotFound):
        selectors.session_get(actor=company.other_rep, session_id=closed.pk)
    # enrolments: a manager of another team sees none of team A's
    assert selectors.session_enrollments(actor=company.manager_b, session=closed) == []
    assert [e.user_id for e in selectors.session_enrollments(actor=company.manager_a, session=closed)] == [
        company.owner.pk
    ]


PDF = b"%PDF-1.4\n" + b"x" * 100


def test_materials_files_and_links(company: Company, settings: Any) -> None:
    s = session(company.admin, course(company.admin), is_open=False)
    m = services.material_add(
        actor=company.admin, session=s, upload=SimpleUploadedFile("深度/slides.pdf", PDF, "application/pdf")
    )
    assert (m.original_name, m.content_type, m.size) == ("slides.pdf", "application/pdf", len(PDF))
    assert m.file.name.startswith("training/") and m.file.read() == PDF
    link = services.material_add(actor=company.admin, session=s, title="Recording", link="https://example.com/v")
    assert link.title == "Recording"
    for kwargs, code in (
        ({"upload": SimpleUploadedFile("x.exe", b"MZ\x90\x00" * 10)}, "file_type"),
        ({"upload": SimpleUploadedFile("e.pdf", b"")}, "invalid"),
        ({"link": "javascript:alert(1)"}, "invalid"),
        ({}, "required"),
    ):
        with pytest.raises(ApplicationError) as exc:
            services.material_add(actor=company.admin, session=s, **kwargs)
        assert exc.value.code == code
    settings.BRIDGE_TRAINING_MATERIAL_MAX_BYTES = 50
    with pytest.raises(ApplicationError) as exc:
        services.material_add(actor=company.admin, session=s, upload=SimpleUploadedFile("big.pdf", PDF))
    assert exc.value.code == "too_large"
    with pytest.raises(PermissionDenied):
        services.material_add(actor=company.owner, session=s, upload=io.BytesIO(PDF))
    assert TrainingMaterial.objects.count() == 2
    # only those who see the session reach its material
    with pytest.raises(NotFound):
        selectors.material_get(actor=company.owner, material_id=m.pk)
    services.enrollment_add(actor=company.admin, session=s, users=[company.owner])
    assert selectors.material_get(actor=company.owner, material_id=m.pk) == m


def test_coaching_plan_scope_private_notes_and_due(company: Company) -> None:
    today = timezone.localdate()
    plan = services.coaching_plan_create(
        actor=company.manager_a,
        rep=company.owner,
        title="Close bigger deals",
        goals="Two deals over 500k",
        kpis="avg_deal_size: Average deal size\nvisits",
        next_check_in=today - dt.timedelta(days=2),
    )
    assert plan.kpis == [{"code": "avg_deal_size", "label": "Average deal size"}, {"code": "visits", "label": "visits"}]
    with pytest.raises(PermissionDenied):
        services.coaching_plan_create(actor=company.manager_b, rep=company.owner, title="No")
    with pytest.raises(PermissionDenied):
        services.coaching_plan_create(actor=company.owner, rep=company.teammate, title="No")
    services.coaching_check_in_add(
        actor=company.manager_a,
        plan=plan,
        held_on=today - dt.timedelta(days=2),
        note="Good progress",
        private_note="Watch his discounting",
        next_check_in=today + dt.timedelta(days=3),
    )
    (seen_by_rep,) = selectors.check_ins(actor=company.owner, plan=plan)
    assert (seen_by_rep.note, seen_by_rep.private_note) == ("Good progress", "")
    (seen_by_coach,) = selectors.check_ins(actor=company.manager_a, plan=plan)
    assert seen_by_coach.private_note == "Watch his discounting"
    assert selectors.coaching_plans(actor=company.teammate).count() == 0
    assert selectors.coaching_plans(actor=company.manager_b).count() == 0
    assert [d.plan_id for d in selectors.coaching_due(actor=company.manager_a, today=today)] == [plan.pk]
    due = selectors.coaching_due(actor=company.admin, today=today, within_days=2)
    assert due == []  # three days ahead is outside a two-day window
    (d,) = selectors.coaching_due(actor=company.owner, today=today + dt.timedelta(days=5))
    assert d.days_overdue == 2 and d.rep_id == company.owner.pk and d.coach_id == company.manager_a.pk
    with pytest.raises(ApplicationError):
        services.coaching_check_in_add(actor=company.manager_a, plan=plan, held_on=today, note="", next_check_in=None)
    with pytest.raises(ApplicationError):
        services.coaching_check_in_add(actor=company.manager_a, plan=plan, held_on=today, note="x", next_check_in=today)
    with pytest.raises(PermissionDenied):
        services.coaching_check_in_add(actor=company.owner, plan=plan, held_on=today, note="self")
    assert plan.check_ins.count() == 1


def test_coaching_reminders_are_idempotent(company: Company) -> None:
    today = timezone.localdate()
    plan = services.coaching_plan_create(actor=company.manager_a, rep=company.owner, title="Plan", next_check_in=today)
    services.coaching_plan_create(
        actor=company.manager_a, rep=company.teammate, title="Later", next_check_in=today + dt.timedelta(days=1)
    )
    assert services.coaching_reminders_send(today=today) == 1
    assert services.coaching_reminders_send(today=today) == 0
    (n,) = Notification.objects.filter(kind=NotificationKind.COACHING_DUE)
    assert n.recipient_id == company.manager_a.pk and n.params["plan_id"] == plan.pk
    assert CoachingReminder.objects.count() == 1


def test_library_search_tags_and_links(company: Company) -> None:
    customer = customer_services.customer_create(actor=company.owner, name="Acme 医疗")
    a = services.article_create(
        actor=company.owner,
        kind="story",
        title="How we won Acme",
        body="Start with the CFO.\n\nThen the pilot.",
        tags="Pricing, 医疗，pricing",
        customer=customer,
    )
    assert a.tags == ",pricing,医疗," and a.tag_list == ["pricing", "医疗"]
    services.article_create(actor=company.other_rep, kind="objection", title="Too expensive", body="Reframe value")
    titles = lambda **kw: [x.title for x in selectors.articles(actor=company.teammate, **kw)]  # noqa: E731
    assert titles(tag="医疗") == ["How we won Acme"]
    assert titles(q="cfo") == ["How we won Acme"]
    assert titles(q="value", kind="objection") == ["Too expensive"]
    assert titles(tag="pric") == []  # a tag matches whole
    # the linked customer shows only to those who see it
    assert selectors.article_links(actor=company.other_rep, article=a)["customer"] is None
    assert selectors.article_links(actor=company.manager_a, article=a)["customer"] == customer
    with pytest.raises(ApplicationError):
        services.article_create(actor=company.other_rep, kind="story", title="x", body="y", customer=customer)
    with pytest.raises(PermissionDenied):
        services.article_update(actor=company.other_rep, article=a, kind="story", title="Mine now", body="z")
    # a training manager edits; a link he cannot see is kept
    services.article_update(actor=company.manager_b, article=a, kind="story", title="Acme, edited", body="b")
    a.refresh_from_db()
    assert (a.title, a.customer_id) == ("Acme, edited", customer.pk)


def test_remove_enrolment_and_delete_article(company: Company) -> None:
    s = session(company.admin, course(company.admin))
    (e,) = services.enrollment_add(actor=company.manager_a, session=s, users=[company.owner])
    with pytest.raises(PermissionDenied):
        services.enrollment_remove(actor=company.manager_b, enrollment=e)
    services.enrollment_remove(actor=company.manager_a, enrollment=e)
    assert not Enrollment.objects.exists()
    a = services.article_create(actor=company.owner, kind="playbook", title="T", body="B")
    with pytest.raises(PermissionDenied):
        services.article_delete(actor=company.teammate, article=a)
    services.article_delete(actor=company.owner, article=a)
    assert selectors.articles(actor=company.owner).count() == 0


def test_session_update_keeps_completions_on_their_course(company: Company) -> None:
    c, other = course(company.admin), course(company.admin, title="Other", pass_score=None)
    s = session(company.admin, c)
    moved = services.session_update(
        actor=company.manager_a, session=s, course=other, starts_at=s.starts_at, location="Room 9", is_open=False
    )
    assert (moved.course_id, moved.location, moved.is_open) == (other.pk, "Room 9", False)
    (e,) = services.enrollment_add(actor=company.admin, session=s, users=[company.owner])
    services.enrollment_record(actor=company.admin, enrollment=e, attended=True, score=None)
    with pytest.raises(ApplicationError) as exc:
        services.session_update(actor=company.admin, session=s, course=c, starts_at=s.starts_at)
    assert "course" in exc.value.details
    with pytest.raises(PermissionDenied):
        services.session_update(actor=company.owner, session=s, course=other, starts_at=s.starts_at)
    s.refresh_from_db()
    assert s.course_id == other.pk and s.location == "Room 9"


def test_no_reminders_for_paused_plans_or_inactive_coaches(company: Company) -> None:
    today = timezone.localdate()
    paused = services.coaching_plan_create(actor=company.admin, rep=company.owner, title="P", next_check_in=today)
    services.coaching_plan_update(actor=company.admin, plan=paused, title="P", next_check_in=today, status="paused")
    services.coaching_plan_create(
        actor=company.admin, rep=company.teammate, title="Q", next_check_in=today, coach=company.manager_a
    )
    type(company.manager_a).objects.filter(pk=company.manager_a.pk).update(is_active=False)
    assert services.coaching_reminders_send(today=today) == 0
    assert not Notification.objects.filter(kind=NotificationKind.COACHING_DUE).exists()


def test_enrolment_notice_uses_the_recipients_time_zone(company: Company) -> None:
    type(company.owner).objects.filter(pk=company.owner.pk).update(time_zone="Europe/London", language="en")
    company.owner.refresh_from_db()
    c = course(company.admin)
    starts = dt.datetime(2026, 7, 1, 9, 30, tzinfo=dt.UTC)
    s = services.session_create(actor=company.admin, course=c, starts_at=starts)
    services.enrollment_add(actor=company.admin, session=s, users=[company.owner])
    (n,) = Notification.objects.filter(kind=NotificationKind.TRAINING_ENROLLED)
    with translation.override("en"):
        assert notification_text(n) == "You are enrolled in the training Objection handling on 2026-07-01 10:30"
    with translation.override("zh-hans"):
        assert "Objection handling" in notification_text(n) and "You are" not in notification_text(n)
