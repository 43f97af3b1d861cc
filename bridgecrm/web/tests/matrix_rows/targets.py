"""Authorization-matrix rows for targets, sales plans and the manager dashboard.

Targets: the company's are seen by everyone signed in; a team's by the team's people and managers
(SEES_TEAM_A); a rep's by the rep and the managers over them (``targets.view_others``), never by
other reps (SEES_REP_TARGET). Managers (``targets.manage``) set and decompose targets of their
subtree; company targets only admins. Plans follow the same lines; a milestone's owner may also
change its status. A reference to a team or person one cannot see is refused as invalid (400).
"""

from __future__ import annotations

from typing import Any

from bridgecrm.targets import services
from bridgecrm.web.tests.matrix_support import (
    CREATED,
    DELETED,
    FORBIDDEN,
    LOGIN,
    NOT_FOUND,
    OK,
    OK_SAVED,
    SAVED,
    SEES_TEAM_A,
    UNAUTHENTICATED,
    Case,
    Outcome,
    World,
    api_user,
    row,
    signed_in,
    url,
)

BAD = Outcome("400", 400)  # a form or a reference the actor cannot use: nothing saved
SEES_REP_TARGET = frozenset({"owner", "manager_a", "admin"})


def build(world: World) -> None:
    c = world.c
    team_target = services.target_create(
        actor=c.admin, measure="signed_amount", period="2026", scope="team", team=c.team_a, amount="1000.00"
    )
    rep_target = services.target_create(
        actor=c.admin, measure="visits", period="2026", scope="rep", user=c.owner, amount="100"
    )
    plan = services.plan_create(actor=c.manager_a, name="Matrix plan", period="2026", scope="team", team=c.team_a)
    phase = services.phase_add(
        actor=c.manager_a, plan=plan, name="Phase 1", starts_on="2026-01-01", ends_on="2026-03-31"
    )
    milestone = services.milestone_add(
        actor=c.manager_a, plan=plan, title="Matrix milestone", due_on="2026-01-15", owner=c.owner, phase=phase
    )
    world.extra.update(team_target=team_target, rep_target=rep_target, sales_plan=plan, milestone=milestone)


def team_target_pk(w: World) -> int:
    return int(w.extra["team_target"].pk)


def rep_target_pk(w: World) -> int:
    return int(w.extra["rep_target"].pk)


def plan_pk(w: World) -> int:
    return int(w.extra["sales_plan"].pk)


def milestone_pk(w: World) -> int:
    return int(w.extra["milestone"].pk)


def web_progress_shows_owner(w: World, response: Any) -> bool:
    return any(r.kind == "rep" and r.key == w.c.owner.pk for r in response.context["result"].rows)


def api_progress_shows_owner(w: World, response: Any) -> bool:
    return any(r["kind"] == "rep" and r["id"] == w.c.owner.pk for r in response.json()["rows"])


def api_lists_rep_target(w: World, response: Any) -> bool:
    return rep_target_pk(w) in {i["id"] for i in response.json()["items"]}


def web_lists_plan(w: World, response: Any) -> bool:
    return plan_pk(w) in {s.plan.pk for s in response.context["plans"]}


def api_lists_plan(w: World, response: Any) -> bool:
    return plan_pk(w) in {i["id"] for i in response.json()["items"]}


T = "targets:"
A = "api-1.0.0:"
# Managers and admins may set targets at all; reps may not.
SETTERS = row(
    anonymous=LOGIN, owner=FORBIDDEN, teammate=FORBIDDEN, other_rep=FORBIDDEN, manager_a=OK, manager_b=OK, admin=OK
)


def edit_team_a(outcome: Outcome, *, anonymous: Outcome = LOGIN) -> dict[str, Outcome]:
    """Team A's target or plan: its manager and admins change it; its reps see it (403); others 404."""
    return row(
        anonymous=anonymous,
        owner=FORBIDDEN,
        teammate=FORBIDDEN,
        other_rep=NOT_FOUND,
        manager_a=outcome,
        manager_b=NOT_FOUND,
        admin=outcome,
    )


def edit_rep_target(outcome: Outcome, *, anonymous: Outcome = LOGIN) -> dict[str, Outcome]:
    """The owner's target: his manager and admins change it; he sees it (403); nobody else does."""
    return row(
        anonymous=anonymous,
        owner=FORBIDDEN,
        teammate=NOT_FOUND,
        other_rep=NOT_FOUND,
        manager_a=outcome,
        manager_b=NOT_FOUND,
        admin=outcome,
    )


def milestone_status(outcome: Outcome, *, anonymous: Outcome = LOGIN) -> dict[str, Outcome]:
    """The owner's milestone in team A's plan: he, his manager and admins; the teammate sees it (403)."""
    return row(
        anonymous=anonymous,
        owner=outcome,
        teammate=FORBIDDEN,
        other_rep=NOT_FOUND,
        manager_a=outcome,
        manager_b=NOT_FOUND,
        admin=outcome,
    )


def seen(seers: frozenset[str], outcome: Outcome, anonymous: Outcome = LOGIN) -> dict[str, Outcome]:
    from bridgecrm.web.tests.matrix_support import visible_to

    return visible_to(seers, outcome, anonymous=anonymous)


NEW_TARGET = {"measure": "visits", "period": "2027", "scope": "team", "amount": "5"}

ROWS: list[Case] = [
    Case(
        T + "progress",
        "GET",
        url(T + "progress"),
        signed_in(OK),
        data=lambda w: {"measure": "visits", "period": "2026"},
        probe=web_progress_shows_owner,
        probe_seen_by=SEES_REP_TARGET,
    ),
    Case(T + "new", "GET", url(T + "new"), SETTERS),
    Case(
        T + "new",
        "POST",
        url(T + "new"),
        # Team B's manager cannot pick team A (not in his list): the form says so.
        {**SETTERS, "manager_a": SAVED, "manager_b": BAD, "admin": SAVED},
        data=lambda w: NEW_TARGET | {"team": w.c.team_a.pk},
    ),
    Case(T + "detail", "GET", url(T + "detail", target_id=team_target_pk), seen(SEES_TEAM_A, OK)),
    Case(
        T + "detail",
        "GET",
        url(T + "detail", target_id=rep_target_pk),
        seen(SEES_REP_TARGET, OK),
        variant="rep target",
    ),
    Case(
        T + "detail",
        "POST",
        url(T + "detail", target_id=team_target_pk),
        edit_team_a(SAVED),
        data=lambda w: {"dimension": "scope", "method": "equal", "action": "save"},
    ),
    Case(
        T + "detail",
        "POST",
        url(T + "detail", target_id=team_target_pk),
        edit_team_a(OK),
        data=lambda w: {"dimension": "months", "method": "equal", "action": "preview"},
        variant="preview",
    ),
    Case(
        T + "adjust",
        "POST",
        url(T + "adjust", target_id=rep_target_pk),
        edit_rep_target(SAVED),
        data=lambda w: {"amount": "120"},
    ),
    Case(T + "delete", "POST", url(T + "delete", target_id=rep_target_pk), edit_rep_target(SAVED)),
    Case(
        T + "plans",
        "GET",
        url(T + "plans"),
        signed_in(OK),
        probe=web_lists_plan,
        probe_seen_by=SEES_TEAM_A,
    ),
    Case(
        T + "plans",
        "POST",
        url(T + "plans"),
        {**SETTERS, "manager_a": SAVED, "manager_b": BAD, "admin": SAVED},
        data=lambda w: {"name": "Owner's plan", "period": "2026-Q2", "scope": "rep", "user": w.c.owner.pk},
    ),
    Case(T + "plan_detail", "GET", url(T + "plan_detail", plan_id=plan_pk), seen(SEES_TEAM_A, OK)),
    Case(
        T + "phase_add",
        "POST",
        url(T + "phase_add", plan_id=plan_pk),
        edit_team_a(SAVED),
        data=lambda w: {"name": "Phase 2", "starts_on": "2026-04-01", "ends_on": "2026-06-30"},
    ),
    Case(
        T + "milestone_add",
        "POST",
        url(T + "milestone_add", plan_id=plan_pk),
        edit_team_a(SAVED),
        data=lambda w: {"title": "Another", "due_on": "2026-05-01", "owner": w.c.owner.pk},
    ),
    Case(T + "plan_delete", "POST", url(T + "plan_delete", plan_id=plan_pk), edit_team_a(SAVED)),
    Case(
        T + "milestone_status",
        "POST",
        url(T + "milestone_status", milestone_id=milestone_pk),
        milestone_status(SAVED),
        data=lambda w: {"status": "done"},
    ),
    Case(
        "web:manager_dashboard",
        "GET",
        url("web:manager_dashboard"),
        {**SETTERS},
    ),
    # -- API ---------------------------------------------------------------------------------------
    Case(
        A + "target_list",
        "GET",
        url(A + "target_list"),
        api_user(OK),
        operation="GET /api/v1/targets",
        probe=api_lists_rep_target,
        probe_seen_by=SEES_REP_TARGET,
    ),
    Case(
        # The measure registry is no secret: everyone signed in reads it (codes, units, reasons).
        A + "measure_list",
        "GET",
        url(A + "measure_list"),
        api_user(OK),
        operation="GET /api/v1/targets/measures",
    ),
    Case(
        A + "target_progress",
        "GET",
        url(A + "target_progress"),
        api_user(OK),
        data=lambda w: {"measure": "visits", "period": "2026"},
        operation="GET /api/v1/targets/progress",
        probe=api_progress_shows_owner,
        probe_seen_by=SEES_REP_TARGET,
    ),
    Case(
        A + "target_get",
        "GET",
        url(A + "target_get", target_id=rep_target_pk),
        seen(SEES_REP_TARGET, OK, anonymous=UNAUTHENTICATED),
        operation="GET /api/v1/targets/{target_id}",
    ),
    Case(
        A + "target_create",
        "POST",
        url(A + "target_create"),
        # Team A is no reference for those who cannot see it (400); its reps may not set targets (403).
        row(
            anonymous=UNAUTHENTICATED,
            owner=FORBIDDEN,
            teammate=FORBIDDEN,
            other_rep=BAD,
            manager_a=CREATED,
            manager_b=BAD,
            admin=CREATED,
        ),
        data=lambda w: NEW_TARGET | {"team_id": w.c.team_a.pk},
        operation="POST /api/v1/targets",
    ),
    Case(
        A + "target_adjust",
        "PATCH",
        url(A + "target_adjust", target_id=rep_target_pk),
        edit_rep_target(OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"amount": "150"},
        operation="PATCH /api/v1/targets/{target_id}",
    ),
    Case(
        A + "target_delete",
        "DELETE",
        url(A + "target_delete", target_id=rep_target_pk),
        edit_rep_target(DELETED, anonymous=UNAUTHENTICATED),
        operation="DELETE /api/v1/targets/{target_id}",
    ),
    Case(
        A + "target_decompose",
        "POST",
        url(A + "target_decompose", target_id=team_target_pk),
        edit_team_a(OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"dimension": "scope", "method": "equal"},
        operation="POST /api/v1/targets/{target_id}/decompose",
    ),
    Case(
        A + "plan_list",
        "GET",
        url(A + "plan_list"),
        api_user(OK),
        operation="GET /api/v1/plans",
        probe=api_lists_plan,
        probe_seen_by=SEES_TEAM_A,
    ),
    Case(
        A + "plan_create",
        "POST",
        url(A + "plan_create"),
        row(
            anonymous=UNAUTHENTICATED,
            owner=FORBIDDEN,
            teammate=FORBIDDEN,
            other_rep=BAD,
            manager_a=CREATED,
            manager_b=BAD,
            admin=CREATED,
        ),
        data=lambda w: {"name": "API plan", "period": "2026-Q3", "scope": "rep", "user_id": w.c.owner.pk},
        operation="POST /api/v1/plans",
    ),
    Case(
        A + "plan_get",
        "GET",
        url(A + "plan_get", plan_id=plan_pk),
        seen(SEES_TEAM_A, OK, anonymous=UNAUTHENTICATED),
        operation="GET /api/v1/plans/{plan_id}",
    ),
    Case(
        A + "plan_update",
        "PATCH",
        url(A + "plan_update", plan_id=plan_pk),
        edit_team_a(OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"name": "Renamed plan"},
        operation="PATCH /api/v1/plans/{plan_id}",
    ),
    Case(
        A + "plan_delete",
        "DELETE",
        url(A + "plan_delete", plan_id=plan_pk),
        edit_team_a(DELETED, anonymous=UNAUTHENTICATED),
        operation="DELETE /api/v1/plans/{plan_id}",
    ),
    Case(
        A + "phase_add",
        "POST",
        url(A + "phase_add", plan_id=plan_pk),
        edit_team_a(CREATED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"name": "API phase", "starts_on": "2026-07-01", "ends_on": "2026-07-31"},
        operation="POST /api/v1/plans/{plan_id}/phases",
    ),
    Case(
        A + "milestone_add",
        "POST",
        url(A + "milestone_add", plan_id=plan_pk),
        edit_team_a(CREATED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"title": "API milestone", "due_on": "2026-08-01", "owner_id": w.c.owner.pk},
        operation="POST /api/v1/plans/{plan_id}/milestones",
    ),
    Case(
        A + "milestone_status",
        "PUT",
        url(A + "milestone_status", milestone_id=milestone_pk),
        milestone_status(OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"status": "cancelled"},
        operation="PUT /api/v1/milestones/{milestone_id}/status",
    ),
]
