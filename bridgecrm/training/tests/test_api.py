"""The training API: the same scope and rules as the pages, errors with codes, query budgets."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bridgecrm.conftest import Company, signed_in
from bridgecrm.training import services
from bridgecrm.training.models import Enrollment
from bridgecrm.training.tests.helpers import course, session
from bridgecrm.users import services as user_services
from bridgecrm.users.models import User

pytestmark = pytest.mark.django_db
J = "application/json"


def api(user: User) -> Client:
    secret = user_services.token_create(actor=user, name="t").secret
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_session_flow_over_the_api(company: Company) -> None:
    c = course(company.admin, pass_score="80")
    manager = api(company.manager_a)
    starts = (timezone.now() - dt.timedelta(hours=3)).isoformat()
    created = manager.post("/api/v1/training/sessions", {"course_id": c.pk, "starts_at": starts}, content_type=J)
    assert created.status_code == 201, created.content
    sid = created.json()["id"]
    bad = manager.post(
        f"/api/v1/training/sessions/{sid}/enrolments", {"user_ids": [company.other_rep.pk]}, content_type=J
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    ok = manager.post(f"/api/v1/training/sessions/{sid}/enrolments", {"user_ids": [company.owner.pk]}, content_type=J)
    assert ok.status_code == 201 and [e["user"]["id"] for e in ok.json()] == [company.owner.pk]
    eid = ok.json()[0]["id"]
    too_high = manager.patch(f"/api/v1/training/enrolments/{eid}", {"attended": True, "score": "100.5"}, content_type=J)
    assert too_high.status_code == 422
    low = manager.patch(f"/api/v1/training/enrolments/{eid}", {"attended": True, "score": "79.99"}, content_type=J)
    assert low.status_code == 200 and low.json()["completed_at"] is None
    passed = manager.patch(f"/api/v1/training/enrolments/{eid}", {"attended": True, "score": "80"}, content_type=J)
    assert passed.json()["score"] == "80.00" and passed.json()["completed_at"] is not None
    # the rep reads his enrolment but may not record it; another manager does not see it
    assert (
        api(company.owner)
        .patch(f"/api/v1/training/enrolments/{eid}", {"attended": False}, content_type=J)
        .json()["code"]
        == "forbidden"
    )
    assert (
        api(company.manager_b)
        .patch(f"/api/v1/training/enrolments/{eid}", {"attended": False}, content_type=J)
        .status_code
        == 404
    )
    assert Enrollment.objects.get().attended is True
    mine = api(company.owner).get("/api/v1/training/enrolments").json()
    assert mine["count"] == 1 and mine["items"][0]["completed_at"] is not None
    assert api(company.other_rep).get("/api/v1/training/enrolments").json()["count"] == 0


def test_rep_cannot_create_sessions_or_courses(company: Company) -> None:
    c = course(company.admin)
    rep = api(company.owner)
    starts = timezone.now().isoformat()
    assert (
        rep.post("/api/v1/training/sessions", {"course_id": c.pk, "starts_at": starts}, content_type=J).status_code
        == 403
    )
    assert rep.post("/api/v1/training/courses", {"title": "Mine"}, content_type=J).status_code == 403
    assert rep.get("/api/v1/training/courses").json()["count"] == 1


def test_lists_have_flat_query_counts(company: Company, django_assert_max_num_queries: Any) -> None:
    c = course(company.admin)
    for i in range(8):
        s = session(company.admin, c, days_ago=i + 1)
        services.enrollment_add(actor=company.admin, session=s, users=[company.owner])
        services.article_create(actor=company.owner, kind="story", title=f"S{i}", body="b", tags="x")
        services.coaching_plan_create(actor=company.admin, rep=company.owner, title=f"P{i}")
    client = api(company.manager_a)
    for path in ("sessions", "enrolments", "coaching", "library"):
        with django_assert_max_num_queries(8):
            resp = client.get(f"/api/v1/training/{path}")
        assert resp.status_code == 200 and resp.json()["count"] == 8, path


def test_coaching_api_hides_private_notes_from_the_rep(company: Company) -> None:
    today = timezone.localdate()
    manager = api(company.manager_a)
    created = manager.post(
        "/api/v1/training/coaching",
        {"rep_id": company.owner.pk, "title": "Grow", "kpis": [{"code": "visits", "label": "Visits"}]},
        content_type=J,
    )
    assert created.status_code == 201
    pid = created.json()["id"]
    check = manager.post(
        f"/api/v1/training/coaching/{pid}/check-ins",
        {
            "held_on": today.isoformat(),
            "note": "Shared",
            "private_note": "Secret",
            "next_check_in": (today + dt.timedelta(1)).isoformat(),
        },
        content_type=J,
    )
    assert check.status_code == 201 and check.json()["check_ins"][0]["private_note"] == "Secret"
    as_rep = api(company.owner).get(f"/api/v1/training/coaching/{pid}").json()
    assert as_rep["check_ins"][0] == {**as_rep["check_ins"][0], "note": "Shared", "private_note": None}
    assert api(company.teammate).get(f"/api/v1/training/coaching/{pid}").status_code == 404
    due = manager.get("/api/v1/training/coaching/due").json()
    assert [d["plan_id"] for d in due] == [pid]


def test_library_api(company: Company) -> None:
    rep = api(company.owner)
    made = rep.post(
        "/api/v1/training/library",
        {"kind": "objection", "title": "太贵了", "body": "先讲价值", "tags": ["价格", "Pricing"]},
        content_type=J,
    )
    assert made.status_code == 201 and made.json()["tags"] == ["价格", "pricing"]
    aid = made.json()["id"]
    assert api(company.other_rep).get("/api/v1/training/library", {"q": "价值"}).json()["count"] == 1
    assert (
        api(company.other_rep)
        .put(f"/api/v1/training/library/{aid}", {"kind": "story", "title": "x", "body": "y"}, content_type=J)
        .status_code
        == 403
    )
    bad = rep.post(
        "/api/v1/training/library", {"kind": "story", "title": "x", "body": "y", "customer_id": 999999}, content_type=J
    )
    assert bad.status_code == 400 and bad.json()["details"] == {"customer_id": ["unknown"]}


def test_a_trainer_is_picked_among_the_people_one_sees(company: Company) -> None:
    """Team A's manager may name his own people as trainers, not someone of team B (whose name he
    may not even see): the page does not offer them and the API refuses them."""
    c = course(company.admin)
    starts = (timezone.now() + dt.timedelta(days=1)).isoformat()
    manager = api(company.manager_a)
    other = manager.post(
        "/api/v1/training/sessions",
        {"course_id": c.pk, "starts_at": starts, "trainer_id": company.other_rep.pk},
        content_type=J,
    )
    assert other.status_code == 400 and other.json()["code"] == "invalid"
    own = manager.post(
        "/api/v1/training/sessions",
        {"course_id": c.pk, "starts_at": starts, "trainer_id": company.teammate.pk},
        content_type=J,
    )
    assert own.status_code == 201, own.content
    page = signed_in(company.manager_a).get(reverse("training:session_new"))
    offered = {u.pk for u in page.context["form"].fields["trainer"].queryset}
    assert company.teammate.pk in offered and company.other_rep.pk not in offered
