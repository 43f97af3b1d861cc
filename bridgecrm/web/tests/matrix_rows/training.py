"""Authorization-matrix rows for training, coaching and the know-how library (see matrix_support.py).

The world: a course; a session by invitation (not open) that started yesterday, with the owner
enrolled and a PDF material; a coaching plan for the owner, coached by manager_a; a library article
by the owner linked to the world's customer.

- Sessions: training.manage (managers, admin) sees every session; reps see open ones and those
  they are enrolled in (the owner). Enrolments, attendance and scores: only for people one manages
  (manager_a, admin); manager_b sees the session but not team A's enrolments (his attempt to enrol
  a team-A rep is a 400 that changes nothing).
- Coaching plans: the rep himself, his coach and his managers (owner, manager_a, admin); only
  managers of the rep change them or add check-ins (the owner reads, 403 on writes).
- Library: every signed-in user reads and writes; the author and training managers edit. A linked
  customer shows only to those who see it (SEES_CUSTOMER).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from bridgecrm.training import services
from bridgecrm.web.tests.matrix_support import (
    ACTORS,
    CREATED,
    DELETED,
    FORBIDDEN,
    LOGIN,
    NOT_FOUND,
    OK,
    OK_SAVED,
    REDIRECT,
    SAVED,
    SEES_CUSTOMER,
    UNAUTHENTICATED,
    Case,
    Outcome,
    World,
    api_user,
    row,
    signed_in,
    url,
    visible_to,
)

BAD = Outcome("400", 400)  # refused as bad input: nothing changes
SEES_SESSION = frozenset({"owner", "manager_a", "manager_b", "admin"})
SEES_ENROLMENT = frozenset({"owner", "manager_a", "admin"})
SEES_PLAN = frozenset({"owner", "manager_a", "admin"})
SIGNED_IN = frozenset(a for a in ACTORS if a != "anonymous")


def manage_only(outcome: Outcome, *, anonymous: Outcome = LOGIN) -> dict[str, Outcome]:
    """training.manage: the managers and the admin."""
    return row(
        anonymous=anonymous,
        owner=FORBIDDEN,
        teammate=FORBIDDEN,
        other_rep=FORBIDDEN,
        manager_a=outcome,
        manager_b=outcome,
        admin=outcome,
    )


def session_manage(outcome: Outcome, *, anonymous: Outcome = LOGIN) -> dict[str, Outcome]:
    """Changing the world's session (by invitation): the enrolled owner sees it (403), other reps do not (404)."""
    return row(
        anonymous=anonymous,
        owner=FORBIDDEN,
        teammate=NOT_FOUND,
        other_rep=NOT_FOUND,
        manager_a=outcome,
        manager_b=outcome,
        admin=outcome,
    )


def team_a_manager(outcome: Outcome, *, manager_b: Outcome, anonymous: Outcome = LOGIN) -> dict[str, Outcome]:
    """Acting on the owner's training record: the owner sees it (403), team A's manager and the admin act."""
    return row(
        anonymous=anonymous,
        owner=FORBIDDEN,
        teammate=NOT_FOUND,
        other_rep=NOT_FOUND,
        manager_a=outcome,
        manager_b=manager_b,
        admin=outcome,
    )


def build(world: World) -> None:
    admin, owner = world.c.admin, world.c.owner
    course = services.course_create(actor=admin, title="Matrix course", pass_score="60")
    starts = timezone.now() - dt.timedelta(days=1)
    session = services.session_create(actor=admin, course=course, starts_at=starts, is_open=False)
    (enrollment,) = services.enrollment_add(actor=admin, session=session, users=[owner])
    material = services.material_add(
        actor=admin, session=session, upload=SimpleUploadedFile("m.pdf", b"%PDF-1.4 matrix", "application/pdf")
    )
    plan = services.coaching_plan_create(
        actor=world.c.manager_a, rep=owner, title="Matrix plan", next_check_in=timezone.localdate()
    )
    article = services.article_create(
        actor=owner, kind="story", title="Matrix story", body="Body", tags="matrix", customer=world.customer
    )
    world.extra.update(
        training_course=course,
        training_session=session,
        training_enrollment=enrollment,
        training_material=material,
        coaching_plan=plan,
        article=article,
    )


def _pk(key: str) -> Any:
    return lambda w: w.extra[key].pk


SESSION = _pk("training_session")
ENROLLMENT = _pk("training_enrollment")
PLAN = _pk("coaching_plan")
ARTICLE = _pk("article")
COURSE = _pk("training_course")


def _today(w: World) -> str:
    return timezone.localdate().isoformat()


def session_data(w: World) -> dict[str, Any]:
    starts = (timezone.localtime() + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    return {"course": w.extra["training_course"].pk, "starts_at": starts, "duration_minutes": "60", "is_open": "on"}


def attendance_data(w: World) -> dict[str, Any]:
    e = w.extra["training_enrollment"].pk
    return {f"e{e}-attended": "yes", f"e{e}-score": "80"}


def course_data(w: World) -> dict[str, Any]:
    return {"title": "Matrix course (edited)", "kind": "skill", "pass_score": "70", "is_active": "on"}


def plan_data(w: World) -> dict[str, Any]:
    return {"title": "Matrix plan (edited)", "goals": "More", "kpis": "visits", "status": "active"}


def article_data(w: World) -> dict[str, Any]:
    return {"kind": "playbook", "title": "Matrix story (edited)", "body": "New body", "tags": "matrix"}


def web_lists_session(w: World, response: Any) -> bool:
    return w.extra["training_session"].pk in {s.pk for s in response.context["sessions"]}


def web_lists_plan(w: World, response: Any) -> bool:
    return w.extra["coaching_plan"].pk in {p.pk for p in response.context["plans"]}


def web_lists_article(w: World, response: Any) -> bool:
    return w.extra["article"].pk in {a.pk for a in response.context["articles"]}


def web_shows_customer(w: World, response: Any) -> bool:
    return response.context["links"]["customer"] is not None


def api_lists(key: str) -> Any:
    return lambda w, r: w.extra[key].pk in {item["id"] for item in r.json()["items"]}


def api_enrolments_list_owner(w: World, response: Any) -> bool:
    return w.extra["training_enrollment"].pk in {e["id"] for e in response.json()}


def api_article_shows_customer(w: World, response: Any) -> bool:
    return response.json()["customer_id"] is not None


T = "training:"
A = "api-1.0.0:"
P = "/api/v1/training"

ROWS: list[Case] = [
    Case(T + "mine", "GET", url(T + "mine"), signed_in(OK)),
    Case(
        T + "sessions",
        "GET",
        url(T + "sessions"),
        signed_in(OK),
        probe=web_lists_session,
        probe_seen_by=SEES_SESSION,
    ),
    Case(T + "session_new", "GET", url(T + "session_new"), manage_only(OK)),
    Case(T + "session_new", "POST", url(T + "session_new"), manage_only(SAVED), data=session_data),
    Case(T + "session_edit", "GET", url(T + "session_edit", session_id=SESSION), session_manage(OK)),
    Case(
        T + "session_edit",
        "POST",
        url(T + "session_edit", session_id=SESSION),
        session_manage(SAVED),
        data=lambda w: session_data(w) | {"location": "Room 9"},
    ),
    Case(
        T + "material_delete",
        "POST",
        url(T + "material_delete", material_id=_pk("training_material")),
        session_manage(SAVED),
    ),
    Case(T + "session_detail", "GET", url(T + "session_detail", session_id=SESSION), visible_to(SEES_SESSION, OK)),
    Case(
        T + "session_enrol",
        "POST",
        url(T + "session_enrol", session_id=SESSION),
        team_a_manager(SAVED, manager_b=BAD),
        data=lambda w: {"users": [w.c.teammate.pk]},
    ),
    Case(
        T + "session_attendance",
        "POST",
        url(T + "session_attendance", session_id=SESSION),
        team_a_manager(SAVED, manager_b=REDIRECT),  # manager_b's sheet has no row of team A: nothing to save
        data=attendance_data,
    ),
    Case(
        T + "material_add",
        "POST",
        url(T + "material_add", session_id=SESSION),
        team_a_manager(SAVED, manager_b=SAVED),
        data=lambda w: {"title": "Recording", "link": "https://example.com/recording"},
    ),
    Case(
        T + "material_download",
        "GET",
        url(T + "material_download", material_id=_pk("training_material")),
        visible_to(SEES_SESSION, OK),
    ),
    Case(T + "courses", "GET", url(T + "courses"), signed_in(OK)),
    Case(T + "courses", "POST", url(T + "courses"), manage_only(SAVED), data=course_data),
    Case(T + "course_edit", "GET", url(T + "course_edit", course_id=COURSE), manage_only(OK)),
    Case(T + "course_edit", "POST", url(T + "course_edit", course_id=COURSE), manage_only(SAVED), data=course_data),
    Case(T + "coaching", "GET", url(T + "coaching"), signed_in(OK), probe=web_lists_plan, probe_seen_by=SEES_PLAN),
    Case(T + "coaching_new", "GET", url(T + "coaching_new"), manage_only(OK)),
    Case(
        T + "coaching_new",
        "POST",
        url(T + "coaching_new"),
        {**manage_only(SAVED), "manager_b": BAD},
        data=lambda w: {"rep": w.c.owner.pk, "title": "New plan", "kpis": "visits"},
    ),
    Case(T + "coaching_detail", "GET", url(T + "coaching_detail", plan_id=PLAN), visible_to(SEES_PLAN, OK)),
    Case(T + "coaching_edit", "GET", url(T + "coaching_edit", plan_id=PLAN), team_a_manager(OK, manager_b=NOT_FOUND)),
    Case(
        T + "coaching_edit",
        "POST",
        url(T + "coaching_edit", plan_id=PLAN),
        team_a_manager(SAVED, manager_b=NOT_FOUND),
        data=plan_data,
    ),
    Case(
        T + "coaching_check_in",
        "POST",
        url(T + "coaching_check_in", plan_id=PLAN),
        team_a_manager(SAVED, manager_b=NOT_FOUND),
        data=lambda w: {"held_on": _today(w), "note": "Matrix check-in"},
    ),
    Case(
        T + "library",
        "GET",
        url(T + "library"),
        signed_in(OK),
        data=lambda w: {"tag": "matrix"},
        probe=web_lists_article,
        probe_seen_by=SIGNED_IN,
    ),
    Case(T + "article_new", "GET", url(T + "article_new"), signed_in(OK)),
    Case(T + "article_new", "POST", url(T + "article_new"), signed_in(SAVED), data=article_data),
    Case(
        T + "article_detail",
        "GET",
        url(T + "article_detail", article_id=ARTICLE),
        signed_in(OK),
        probe=web_shows_customer,
        probe_seen_by=SEES_CUSTOMER,
    ),
    Case(
        T + "article_edit",
        "GET",
        url(T + "article_edit", article_id=ARTICLE),
        {**signed_in(OK), "teammate": FORBIDDEN, "other_rep": FORBIDDEN},
    ),
    Case(
        T + "article_edit",
        "POST",
        url(T + "article_edit", article_id=ARTICLE),
        {**signed_in(SAVED), "teammate": FORBIDDEN, "other_rep": FORBIDDEN},
        data=article_data,
    ),
    Case(
        T + "enrolment_remove",
        "POST",
        url(T + "enrolment_remove", enrollment_id=ENROLLMENT),
        team_a_manager(SAVED, manager_b=NOT_FOUND),
    ),
    Case(
        T + "article_delete",
        "POST",
        url(T + "article_delete", article_id=ARTICLE),
        {**signed_in(SAVED), "teammate": FORBIDDEN, "other_rep": FORBIDDEN},
    ),
    # ---- the API ----
    Case(A + "courses_list", "GET", url(A + "courses_list"), api_user(OK), operation=f"GET {P}/courses"),
    Case(
        A + "course_create",
        "POST",
        url(A + "course_create"),
        manage_only(CREATED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"title": "API course", "pass_score": "75"},
        operation=f"POST {P}/courses",
    ),
    Case(
        A + "sessions_list",
        "GET",
        url(A + "sessions_list"),
        api_user(OK),
        operation=f"GET {P}/sessions",
        probe=api_lists("training_session"),
        probe_seen_by=SEES_SESSION,
    ),
    Case(
        A + "session_create",
        "POST",
        url(A + "session_create"),
        manage_only(CREATED, anonymous=UNAUTHENTICATED),
        data=lambda w: {
            "course_id": w.extra["training_course"].pk,
            "starts_at": (timezone.now() + dt.timedelta(days=2)).isoformat(),
        },
        operation=f"POST {P}/sessions",
    ),
    Case(
        A + "session_detail",
        "GET",
        url(A + "session_detail", session_id=SESSION),
        visible_to(SEES_SESSION, OK, anonymous=UNAUTHENTICATED),
        operation=f"GET {P}/sessions/{{session_id}}",
    ),
    Case(
        A + "session_update",
        "PUT",
        url(A + "session_update", session_id=SESSION),
        session_manage(OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {
            "course_id": w.extra["training_course"].pk,
            "starts_at": w.extra["training_session"].starts_at.isoformat(),
            "location": "Room 9",
            "is_open": False,
        },
        operation=f"PUT {P}/sessions/{{session_id}}",
    ),
    Case(
        A + "material_delete",
        "DELETE",
        url(A + "material_delete", material_id=_pk("training_material")),
        session_manage(DELETED, anonymous=UNAUTHENTICATED),
        operation=f"DELETE {P}/materials/{{material_id}}",
    ),
    Case(
        A + "session_enrolments",
        "GET",
        url(A + "session_enrolments", session_id=SESSION),
        visible_to(SEES_SESSION, OK, anonymous=UNAUTHENTICATED),
        operation=f"GET {P}/sessions/{{session_id}}/enrolments",
        probe=api_enrolments_list_owner,
        probe_seen_by=SEES_ENROLMENT,
    ),
    Case(
        A + "session_enrol",
        "POST",
        url(A + "session_enrol", session_id=SESSION),
        team_a_manager(CREATED, manager_b=BAD, anonymous=UNAUTHENTICATED),
        data=lambda w: {"user_ids": [w.c.teammate.pk]},
        operation=f"POST {P}/sessions/{{session_id}}/enrolments",
    ),
    Case(
        A + "enrolments_list",
        "GET",
        url(A + "enrolments_list"),
        api_user(OK),
        operation=f"GET {P}/enrolments",
        probe=api_lists("training_enrollment"),
        probe_seen_by=SEES_ENROLMENT,
    ),
    Case(
        A + "enrolment_record",
        "PATCH",
        url(A + "enrolment_record", enrollment_id=ENROLLMENT),
        team_a_manager(OK_SAVED, manager_b=NOT_FOUND, anonymous=UNAUTHENTICATED),
        data=lambda w: {"attended": True, "score": "90"},
        operation=f"PATCH {P}/enrolments/{{enrollment_id}}",
    ),
    Case(
        A + "enrolment_remove",
        "DELETE",
        url(A + "enrolment_remove", enrollment_id=ENROLLMENT),
        team_a_manager(DELETED, manager_b=NOT_FOUND, anonymous=UNAUTHENTICATED),
        operation=f"DELETE {P}/enrolments/{{enrollment_id}}",
    ),
    Case(
        A + "coaching_list",
        "GET",
        url(A + "coaching_list"),
        api_user(OK),
        operation=f"GET {P}/coaching",
        probe=api_lists("coaching_plan"),
        probe_seen_by=SEES_PLAN,
    ),
    Case(
        A + "coaching_due",
        "GET",
        url(A + "coaching_due"),
        api_user(OK),
        operation=f"GET {P}/coaching/due",
        probe=lambda w, r: w.extra["coaching_plan"].pk in {d["plan_id"] for d in r.json()},
        probe_seen_by=SEES_PLAN,
    ),
    Case(
        A + "coaching_create",
        "POST",
        url(A + "coaching_create"),
        {**manage_only(CREATED, anonymous=UNAUTHENTICATED), "manager_b": BAD},
        data=lambda w: {"rep_id": w.c.owner.pk, "title": "API plan"},
        operation=f"POST {P}/coaching",
    ),
    Case(
        A + "coaching_detail",
        "GET",
        url(A + "coaching_detail", plan_id=PLAN),
        visible_to(SEES_PLAN, OK, anonymous=UNAUTHENTICATED),
        operation=f"GET {P}/coaching/{{plan_id}}",
    ),
    Case(
        A + "coaching_check_in",
        "POST",
        url(A + "coaching_check_in", plan_id=PLAN),
        team_a_manager(CREATED, manager_b=NOT_FOUND, anonymous=UNAUTHENTICATED),
        data=lambda w: {"held_on": _today(w), "note": "API check-in"},
        operation=f"POST {P}/coaching/{{plan_id}}/check-ins",
    ),
    Case(
        A + "library_list",
        "GET",
        url(A + "library_list"),
        api_user(OK),
        operation=f"GET {P}/library",
        probe=api_lists("article"),
        probe_seen_by=SIGNED_IN,
    ),
    Case(
        A + "article_create",
        "POST",
        url(A + "article_create"),
        api_user(CREATED),
        data=lambda w: {"kind": "objection", "title": "API article", "body": "Text", "tags": ["api"]},
        operation=f"POST {P}/library",
    ),
    Case(
        A + "article_detail",
        "GET",
        url(A + "article_detail", article_id=ARTICLE),
        api_user(OK),
        operation=f"GET {P}/library/{{article_id}}",
        probe=api_article_shows_customer,
        probe_seen_by=SEES_CUSTOMER,
    ),
    Case(
        A + "article_update",
        "PUT",
        url(A + "article_update", article_id=ARTICLE),
        {**api_user(OK_SAVED), "teammate": FORBIDDEN, "other_rep": FORBIDDEN},
        data=lambda w: {"kind": "story", "title": "API edit", "body": "Edited"},
        operation=f"PUT {P}/library/{{article_id}}",
    ),
    Case(
        A + "article_delete",
        "DELETE",
        url(A + "article_delete", article_id=ARTICLE),
        {**api_user(DELETED), "teammate": FORBIDDEN, "other_rep": FORBIDDEN},
        operation=f"DELETE {P}/library/{{article_id}}",
    ),
]
