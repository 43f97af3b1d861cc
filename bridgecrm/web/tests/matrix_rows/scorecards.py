"""Authorization-matrix rows for scorecards and evaluations (see matrix_support.py).

The objects (built once, see ``build``): a scorecard for the role "rep" (the owner, the teammate and
other_rep), and three evaluations of it: 2026-Q1 in review, 2025-Q4 published, 2025-Q3 a draft.

Scorecard definitions are read by everyone signed in; defining, running, moving an evaluation on and
what-ifs are for ``scorecards.manage`` (the admin; 403 for the rest, before any lookup on the pages).
Entries: a rep sees their own once published; a manager their team's from review on (manager_a: the
owner's, manager_b: other_rep's); the admin all. Comments and adjustments on the owner's entry in
review: manager_a and the admin. Acknowledging the owner's published entry: only the owner (those who
see it but are not the owner: 403; the rest: 404).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from bridgecrm.activities.models import Notification, NotificationKind
from bridgecrm.core.periods import Period
from bridgecrm.scorecards import scoring, services
from bridgecrm.users.models import Role
from bridgecrm.web.tests.matrix_support import (
    CREATED,
    FORBIDDEN,
    LOGIN,
    NOT_FOUND,
    OK,
    OK_SAVED,
    SAVED,
    SEES_OWNER,
    UNAUTHENTICATED,
    Case,
    World,
    admin_only,
    api_user,
    row,
    signed_in,
    url,
    visible_to,
)

SEES_OWNERS_ENTRY = frozenset({"owner", "manager_a", "admin"})
REVIEWS_OWNER = frozenset({"manager_a", "admin"})
TODAY = dt.date(2026, 4, 10)


def build(world: World) -> None:
    admin = world.c.admin
    card = services.scorecard_save(
        actor=admin,
        values=services.ScorecardValues(
            name="Matrix scorecard",
            description="",
            period_kind="quarter",
            is_active=True,
            role_ids=[Role.objects.get(code="rep").pk],
            team_ids=[],
            rules=[
                scoring.Rule("new_customers", Decimal(50), target_value=Decimal(2)),
                scoring.Rule("visits", Decimal(50), target_value=Decimal(2)),
            ],
        ),
    )
    review = services.evaluation_run(actor=admin, scorecard=card, period=Period.quarter(2026, 1), today=TODAY)
    services.evaluation_advance(actor=admin, evaluation=review, to="in_review")
    published = services.evaluation_run(actor=admin, scorecard=card, period=Period.quarter(2025, 4), today=TODAY)
    services.evaluation_advance(actor=admin, evaluation=published, to="in_review")
    services.evaluation_advance(actor=admin, evaluation=published, to="published")
    draft = services.evaluation_run(actor=admin, scorecard=card, period=Period.quarter(2025, 3), today=TODAY)
    # The publication's notifications are read already: the other rows' "mark all read" must find none.
    Notification.objects.filter(kind=NotificationKind.EVALUATION_PUBLISHED).update(read_at=timezone.now())
    world.extra["scorecard"] = card
    world.extra["review"] = review
    world.extra["published"] = published
    world.extra["draft"] = draft
    world.extra["review_entry"] = review.entries.get(user=world.c.owner)
    world.extra["published_entry"] = published.entries.get(user=world.c.owner)


def _pk(key: str) -> Any:
    return lambda w: w.extra[key].pk


def scorecard_form(w: World) -> dict[str, Any]:
    return {
        "name": "Matrix edited",
        "period_kind": "quarter",
        "is_active": "on",
        "roles": [str(Role.objects.get(code="rep").pk)],
        "m_visits_use": "on",
        "m_visits_weight": "100",
        "m_visits_direction": "higher",
        "m_visits_curve": "linear",
        "m_visits_cap": "120",
        "m_visits_threshold": "100",
        "m_visits_target_kind": "fixed",
        "m_visits_target_value": "4",
        "m_visits_kind": "process",
    }


def what_if_form(w: World) -> dict[str, Any]:
    return {
        "w_new_customers_weight": "70",
        "w_new_customers_curve": "linear",
        "w_new_customers_cap": "120",
        "w_new_customers_threshold": "100",
        "w_visits_weight": "30",
        "w_visits_curve": "linear",
        "w_visits_cap": "120",
        "w_visits_threshold": "100",
    }


def web_lists_owner_entry(w: World, response: Any) -> bool:
    return w.c.owner.pk in {e.user_id for e, _lines, _d in response.context["rows"]}


def api_lists_owner_entry(w: World, response: Any) -> bool:
    return w.c.owner.pk in {e["user_id"] for e in response.json()["entries"]}


def api_lists_owner_entries(w: World, response: Any) -> bool:
    return w.c.owner.pk in {e["user_id"] for e in response.json()["items"]}


S = "scorecards:"
A = "api-1.0.0:"
ACKNOWLEDGE = row(
    anonymous=LOGIN,
    owner=SAVED,
    teammate=NOT_FOUND,
    other_rep=NOT_FOUND,
    manager_a=FORBIDDEN,
    manager_b=NOT_FOUND,
    admin=FORBIDDEN,
)

ROWS: list[Case] = [
    Case(S + "list", "GET", url(S + "list"), signed_in(OK)),
    Case(S + "new", "GET", url(S + "new"), admin_only(OK)),
    Case(S + "new", "POST", url(S + "new"), admin_only(SAVED), data=scorecard_form),
    Case(S + "detail", "GET", url(S + "detail", scorecard_id=_pk("scorecard")), signed_in(OK)),
    Case(S + "edit", "GET", url(S + "edit", scorecard_id=_pk("scorecard")), admin_only(OK)),
    Case(S + "edit", "POST", url(S + "edit", scorecard_id=_pk("scorecard")), admin_only(SAVED), data=scorecard_form),
    Case(
        S + "run",
        "POST",
        url(S + "run", scorecard_id=_pk("scorecard")),
        admin_only(SAVED),
        data=lambda w: {"period": "2026-Q2"},
    ),
    Case(S + "history", "GET", url(S + "history", user_id=lambda w: w.c.owner.pk), visible_to(SEES_OWNER, OK)),
    Case(
        S + "evaluation",
        "GET",
        url(S + "evaluation", evaluation_id=_pk("published")),
        signed_in(OK),
        probe=web_lists_owner_entry,
        probe_seen_by=SEES_OWNERS_ENTRY,
    ),
    Case(
        S + "evaluation",
        "GET",
        url(S + "evaluation", evaluation_id=_pk("review")),
        visible_to(frozenset({"manager_a", "manager_b", "admin"}), OK),
        variant="in review",
    ),
    Case(
        S + "advance",
        "POST",
        url(S + "advance", evaluation_id=_pk("draft")),
        admin_only(SAVED),
        data=lambda w: {"to": "in_review"},
    ),
    Case(S + "what_if", "GET", url(S + "what_if", evaluation_id=_pk("review")), admin_only(OK)),
    Case(S + "what_if", "POST", url(S + "what_if", evaluation_id=_pk("review")), admin_only(OK), data=what_if_form),
    Case(S + "export", "GET", url(S + "export", evaluation_id=_pk("published")), signed_in(OK)),
    Case(S + "entry", "GET", url(S + "entry", entry_id=_pk("published_entry")), visible_to(SEES_OWNERS_ENTRY, OK)),
    Case(
        S + "comment",
        "POST",
        url(S + "comment", entry_id=_pk("review_entry")),
        visible_to(REVIEWS_OWNER, SAVED),
        data=lambda w: {"text": "Matrix comment"},
    ),
    Case(
        S + "adjust",
        "POST",
        url(S + "adjust", entry_id=_pk("review_entry")),
        visible_to(REVIEWS_OWNER, SAVED),
        data=lambda w: {"metric": "visits", "points": "10", "reason": "Matrix adjust"},
    ),
    Case(S + "acknowledge", "POST", url(S + "acknowledge", entry_id=_pk("published_entry")), ACKNOWLEDGE),
    Case(
        A + "metric_registry",
        "GET",
        url(A + "metric_registry"),
        api_user(OK),
        operation="GET /api/v1/scorecards/metrics",
    ),
    Case(A + "scorecard_list", "GET", url(A + "scorecard_list"), api_user(OK), operation="GET /api/v1/scorecards"),
    Case(
        A + "scorecard_detail",
        "GET",
        url(A + "scorecard_detail", scorecard_id=_pk("scorecard")),
        api_user(OK),
        operation="GET /api/v1/scorecards/{scorecard_id}",
    ),
    Case(A + "evaluation_list", "GET", url(A + "evaluation_list"), api_user(OK), operation="GET /api/v1/evaluations"),
    Case(
        A + "evaluation_detail",
        "GET",
        url(A + "evaluation_detail", evaluation_id=_pk("published")),
        api_user(OK),
        operation="GET /api/v1/evaluations/{evaluation_id}",
        probe=api_lists_owner_entry,
        probe_seen_by=SEES_OWNERS_ENTRY,
    ),
    Case(
        A + "evaluation_advance",
        "POST",
        url(A + "evaluation_advance", evaluation_id=_pk("draft")),
        visible_to(frozenset({"admin"}), OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"to": "in_review"},
        operation="POST /api/v1/evaluations/{evaluation_id}/advance",
    ),
    Case(
        A + "evaluation_run",
        "POST",
        url(A + "evaluation_run", scorecard_id=_pk("scorecard")),
        {**api_user(FORBIDDEN), "admin": CREATED},
        data=lambda w: {"period": "2026-Q2"},
        operation="POST /api/v1/scorecards/{scorecard_id}/evaluations",
    ),
    Case(
        A + "entry_list",
        "GET",
        url(A + "entry_list"),
        api_user(OK),
        data=lambda w: {"user_id": str(w.c.owner.pk)},
        operation="GET /api/v1/evaluation-entries",
        probe=api_lists_owner_entries,
        probe_seen_by=SEES_OWNERS_ENTRY,
    ),
    Case(
        A + "entry_detail",
        "GET",
        url(A + "entry_detail", entry_id=_pk("published_entry")),
        visible_to(SEES_OWNERS_ENTRY, OK, anonymous=UNAUTHENTICATED),
        operation="GET /api/v1/evaluation-entries/{entry_id}",
    ),
    Case(
        A + "entry_comment",
        "POST",
        url(A + "entry_comment", entry_id=_pk("review_entry")),
        visible_to(REVIEWS_OWNER, CREATED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"text": "Matrix API comment"},
        operation="POST /api/v1/evaluation-entries/{entry_id}/comments",
    ),
    Case(
        A + "entry_adjust",
        "POST",
        url(A + "entry_adjust", entry_id=_pk("review_entry")),
        visible_to(REVIEWS_OWNER, OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"metric": "visits", "points": "10", "reason": "Matrix API adjust"},
        operation="POST /api/v1/evaluation-entries/{entry_id}/adjustments",
    ),
    Case(
        A + "entry_acknowledge",
        "POST",
        url(A + "entry_acknowledge", entry_id=_pk("published_entry")),
        {**ACKNOWLEDGE, "anonymous": UNAUTHENTICATED, "owner": OK_SAVED},
        operation="POST /api/v1/evaluation-entries/{entry_id}/acknowledge",
    ),
]
