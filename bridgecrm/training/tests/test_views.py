"""Training pages: the session flow, attendance sheet, materials, coaching and the library; query
budgets that do not grow with the rows shown."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from bridgecrm.conftest import Company, signed_in
from bridgecrm.training import services
from bridgecrm.training.models import Article, CoachingPlan, Enrollment, TrainingSession
from bridgecrm.training.tests.helpers import course, session

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }


def test_create_session_enrol_and_record(company: Company) -> None:
    c = course(company.admin, pass_score="60")
    client = signed_in(company.manager_a)
    starts = (timezone.localtime() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    created = client.post(
        reverse("training:session_new"),
        {"course": c.pk, "starts_at": starts, "duration_minutes": "90", "location": "HQ", "is_open": "on"},
    )
    assert created.status_code == 302
    s = TrainingSession.objects.get()
    url = reverse("training:session_detail", kwargs={"session_id": s.pk})
    assert created["Location"] == url
    enrol = client.post(reverse("training:session_enrol", kwargs={"session_id": s.pk}), {"users": [company.owner.pk]})
    assert enrol.status_code == 302
    e = Enrollment.objects.get()
    sheet = reverse("training:session_attendance", kwargs={"session_id": s.pk})
    bad = client.post(sheet, {f"e{e.pk}-attended": "yes", f"e{e.pk}-score": "120"})
    assert bad.status_code == 400
    e.refresh_from_db()
    assert e.attended is None
    ok = client.post(sheet, {f"e{e.pk}-attended": "yes", f"e{e.pk}-score": "75"})
    assert ok.status_code == 302
    e.refresh_from_db()
    assert e.attended is True and str(e.score) == "75.00" and e.completed_at is not None
    mine = signed_in(company.owner).get(reverse("training:mine"))
    assert mine.status_code == 200
    assert mine.context["summary"].completed == 1 and mine.context["summary"].enrolled == 1


def test_reps_cannot_create_or_record(company: Company) -> None:
    c = course(company.admin)
    s = session(company.admin, c)
    (e,) = services.enrollment_add(actor=company.admin, session=s, users=[company.owner])
    client = signed_in(company.owner)
    assert client.get(reverse("training:session_new")).status_code == 403
    sheet = reverse("training:session_attendance", kwargs={"session_id": s.pk})
    assert client.post(sheet, {f"e{e.pk}-attended": "yes"}).status_code == 403
    e.refresh_from_db()
    assert e.attended is None


def test_material_upload_and_download(company: Company) -> None:
    s = session(company.admin, course(company.admin), is_open=False)
    client = signed_in(company.admin)
    pdf = SimpleUploadedFile("课件.pdf", b"%PDF-1.4 slides", content_type="application/pdf")
    resp = client.post(reverse("training:material_add", kwargs={"session_id": s.pk}), {"file": pdf})
    assert resp.status_code == 302
    material = s.materials.get()
    url = reverse("training:material_download", kwargs={"material_id": material.pk})
    got = client.get(url)
    assert got.status_code == 200 and b"".join(got.streaming_content) == b"%PDF-1.4 slides"
    assert got["Content-Type"] == "application/pdf" and got["X-Content-Type-Options"] == "nosniff"
    assert signed_in(company.owner).get(url).status_code == 404  # not enrolled in a closed session
    bad = client.post(
        reverse("training:material_add", kwargs={"session_id": s.pk}), {"file": SimpleUploadedFile("a.html", b"<html>")}
    )
    assert bad.status_code == 400 and s.materials.count() == 1


def test_session_list_query_budget(company: Company, django_assert_max_num_queries: Any) -> None:
    c = course(company.admin)
    for i in range(12):
        s = session(company.admin, c, days_ago=i + 1)
        services.enrollment_add(actor=company.admin, session=s, users=[company.owner, company.other_rep])
    client = signed_in(company.owner)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("training:sessions"))
    assert page.status_code == 200 and len(page.context["sessions"]) == 12
    with django_assert_max_num_queries(12):
        assert client.get(reverse("training:mine")).status_code == 200


def test_coaching_pages(company: Company) -> None:
    client = signed_in(company.manager_a)
    today = timezone.localdate()
    resp = client.post(
        reverse("training:coaching_new"),
        {"rep": company.owner.pk, "title": "Grow", "kpis": "visits: Visits", "next_check_in": str(today)},
    )
    assert resp.status_code == 302
    plan = CoachingPlan.objects.get()
    check_in = reverse("training:coaching_check_in", kwargs={"plan_id": plan.pk})
    assert client.post(check_in, {"held_on": str(today), "note": "", "next_check_in": ""}).status_code == 400
    ok = client.post(
        check_in,
        {
            "held_on": str(today),
            "note": "Shared",
            "private_note": "Secret",
            "next_check_in": str(today + dt.timedelta(7)),
        },
    )
    assert ok.status_code == 302
    detail = reverse("training:coaching_detail", kwargs={"plan_id": plan.pk})
    as_rep = signed_in(company.owner).get(detail)
    assert as_rep.status_code == 200 and "Shared" in as_rep.content.decode() and "Secret" not in as_rep.content.decode()
    assert "Secret" in client.get(detail).content.decode()
    assert signed_in(company.teammate).get(detail).status_code == 404
    assert signed_in(company.owner).post(check_in, {"held_on": str(today), "note": "x"}).status_code == 403


def test_library_pages(company: Company, django_assert_max_num_queries: Any) -> None:
    client = signed_in(company.owner)
    resp = client.post(
        reverse("training:article_new"),
        {
            "kind": "playbook",
            "title": "Cold call",
            "body": "<script>x</script>\n\nSee https://example.com",
            "tags": "calls",
        },
    )
    assert resp.status_code == 302
    a = Article.objects.get()
    page = signed_in(company.other_rep).get(reverse("training:article_detail", kwargs={"article_id": a.pk}))
    html = page.content.decode()
    assert "&lt;script&gt;" in html and "<script>x" not in html and 'href="https://example.com"' in html
    for i in range(10):
        services.article_create(actor=company.teammate, kind="story", title=f"Story {i}", body="b", tags=f"t{i}, calls")
    with django_assert_max_num_queries(10):
        listed = client.get(reverse("training:library"), {"tag": "calls"})
    assert listed.status_code == 200 and len(listed.context["articles"]) == 11
    edit = reverse("training:article_edit", kwargs={"article_id": a.pk})
    assert signed_in(company.other_rep).get(edit).status_code == 403
    assert client.post(edit, {"kind": "playbook", "title": "", "body": "b"}).status_code == 400


def test_coaching_and_course_lists_query_budget(company: Company, django_assert_max_num_queries: Any) -> None:
    for i in range(10):
        services.coaching_plan_create(actor=company.admin, rep=company.owner, title=f"Plan {i}")
        course(company.admin, title=f"Course {i}")
    client = signed_in(company.manager_a)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("training:coaching"))
    assert page.status_code == 200 and len(page.context["plans"]) == 10
    with django_assert_max_num_queries(10):
        page = client.get(reverse("training:courses"))
    assert page.status_code == 200 and len(page.context["courses"]) == 10
    with django_assert_max_num_queries(12):
        assert client.get(reverse("training:mine")).status_code == 200


def test_library_live_search_returns_the_page(company: Company) -> None:
    services.article_create(actor=company.owner, kind="playbook", title="Cold call", body="Open strong")
    html = signed_in(company.teammate).get(reverse("training:library"), {"q": "strong"}, headers={"HX-Request": "true"})
    assert (
        html.status_code == 200
        and 'id="library-results"' in html.content.decode()
        and "Cold call" in html.content.decode()
    )
