"""Authorization-matrix rows for follow-ups, tasks, notifications, the calendar and its feed.

The objects (built once, see ``build``): a follow-up by the owner on the owner's customer, a task
the owner gave themselves on that customer, an unread notification for the owner, the owner's live
calendar feed (and a revoked one), a deal of the owner's on the customer, and a customer of
``other_rep`` that the owner's side may not attach anything to.

Follow-ups are seen by whoever sees the customer (owner, manager_a, admin) and changed by the
author, their managers and admins, the same set here. Tasks are the assignee's: owner, manager_a,
admin. Notifications are their recipient's only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from bridgecrm.activities import services
from bridgecrm.activities.models import NotificationKind
from bridgecrm.customers import services as customer_services
from bridgecrm.pipeline.models import Deal, DealStatus
from bridgecrm.web.tests.matrix_support import (
    CREATED,
    DELETED,
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
    everyone,
    row,
    signed_in,
    url,
    visible_to,
)

# An API reference to a record the caller may not see: refused like an unknown id, nothing written.
BAD_REFERENCE = Outcome("400", 400)
SEES_TASK = SEES_CUSTOMER  # the assignee (owner), the manager over them, the admin


def build(world: World) -> None:
    c = world.c
    stage = world.pipeline.stages.get(order=1)  # not ``world.stage``: the matrix deletes that one
    deal = Deal.objects.create(
        name="Matrix deal",
        customer=world.customer,
        pipeline=world.pipeline,
        stage=stage,
        status=DealStatus.OPEN,
        probability=stage.probability,
        forecast_category=stage.forecast_category,
        owner=c.owner,
        team=c.owner.team,
    )
    follow_up = services.follow_up_log(
        actor=c.owner,
        customer=world.customer,
        kind="call",
        summary="Matrix follow-up",
        occurred_at=timezone.now() - dt.timedelta(hours=2),
        next_follow_up_on=timezone.localdate() + dt.timedelta(days=3),
    )
    task = services.task_create(
        actor=c.owner,
        title="Matrix task",
        due_at=timezone.now() + dt.timedelta(days=1),
        customer=world.customer,
    )
    notification = services.notification_create(
        recipient=c.owner, kind=NotificationKind.TASK_REMINDER, params={"task_id": task.pk, "title": task.title}
    )
    revoked = services.calendar_feed_create(actor=c.owner).key
    live = services.calendar_feed_create(actor=c.owner).key
    theirs = customer_services.customer_create(actor=c.other_rep, name="Matrix other customer")
    world.extra.update(
        deal=deal,
        follow_up=follow_up,
        task=task,
        notification=notification,
        feed_key=live,
        revoked_feed_key=revoked,
        other_customer=theirs,
    )


def _x(name: str) -> Any:
    return lambda w: w.extra[name].pk


def _now_local() -> str:
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


def _due_local() -> str:
    return (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")


def _in_a_day() -> str:
    return (timezone.now() + dt.timedelta(days=1)).isoformat()


def _web_lists(key: str, name: str) -> Any:
    def probe(w: World, response: Any) -> bool:
        assert response.context is not None
        return w.extra[name].pk in {obj.pk for obj in response.context[key]}

    return probe


def _api_lists(name: str) -> Any:
    return lambda w, r: w.extra[name].pk in {item["id"] for item in r.json()["items"]}


def _follow_up_create_url(customer: str) -> Any:
    def build_url(w: World) -> str:
        pk = w.customer.pk if customer == "mine" else w.extra["other_customer"].pk
        return url("activities:follow_up_create")(w) + f"?customer={pk}"

    return build_url


FOLLOW_UP_FORM: Any = lambda w: {  # noqa: E731
    "kind": "visit",
    "occurred_at": _now_local(),
    "summary": "Matrix visit",
    "outcome": "positive",
    "checkin_latitude": "31.230416",
    "checkin_longitude": "121.473701",
    "checkin_address": "上海",
}

TASK_FORM: Any = lambda w: {"title": "Matrix new task", "due_at": _due_local(), "priority": "high"}  # noqa: E731

ROWS: list[Case] = [
    # -- my day, calendar --------------------------------------------------------------------------
    Case("activities:my_day", "GET", url("activities:my_day"), signed_in(OK)),
    Case("activities:calendar", "GET", url("activities:calendar"), signed_in(OK)),
    Case(
        "activities:calendar",
        "GET",
        url("activities:calendar"),
        signed_in(OK),
        data=lambda w: {"view": "month", "date": "2026-02-28"},
        variant="month",
    ),
    Case("activities:calendar_feed_settings", "GET", url("activities:calendar_feed_settings"), signed_in(OK)),
    Case(
        "activities:calendar_feed_settings",
        "POST",
        url("activities:calendar_feed_settings"),
        signed_in(OK_SAVED),  # a new address for oneself, shown once
        data=lambda w: {"action": "create"},
    ),
    Case(
        "activities:calendar_feed_settings",
        "POST",
        url("activities:calendar_feed_settings"),
        # Only the owner has a live feed to revoke; the others have nothing to change.
        row(
            anonymous=LOGIN,
            owner=SAVED,
            teammate=REDIRECT,
            other_rep=REDIRECT,
            manager_a=REDIRECT,
            manager_b=REDIRECT,
            admin=REDIRECT,
        ),
        data=lambda w: {"action": "revoke"},
        variant="revoke",
    ),
    Case(
        "activities:calendar_feed",
        "GET",
        url("activities:calendar_feed", key=lambda w: w.extra["feed_key"]),
        everyone(OK),  # the secret in the address is the credential; no session needed
    ),
    Case(
        "activities:calendar_feed",
        "GET",
        url("activities:calendar_feed", key=lambda w: w.extra["revoked_feed_key"]),
        everyone(NOT_FOUND),
        variant="revoked key",
    ),
    # -- follow-ups --------------------------------------------------------------------------------
    Case(
        "activities:follow_ups",
        "GET",
        url("activities:follow_ups"),
        signed_in(OK),
        probe=_web_lists("follow_ups", "follow_up"),
        probe_seen_by=SEES_CUSTOMER,
    ),
    Case(
        "activities:follow_ups",
        "GET",
        url("activities:follow_ups"),
        signed_in(OK),
        data=lambda w: {"customer": w.customer.pk, "kind": "call"},
        variant="customer filter",
        probe=_web_lists("follow_ups", "follow_up"),
        probe_seen_by=SEES_CUSTOMER,
    ),
    Case("activities:follow_ups_export", "GET", url("activities:follow_ups_export"), signed_in(OK)),
    Case(
        "activities:follow_ups_export",
        "GET",
        url("activities:follow_ups_export"),
        signed_in(OK),
        data=lambda w: {"format": "xlsx", "kind": "call"},
        variant="xlsx",
    ),
    Case("activities:follow_up_create", "GET", url("activities:follow_up_create"), signed_in(OK), variant="picker"),
    Case(
        "activities:follow_up_create",
        "GET",
        _follow_up_create_url("mine"),
        visible_to(SEES_CUSTOMER, OK),
    ),
    Case(
        "activities:follow_up_create",
        "POST",
        _follow_up_create_url("mine"),
        # Logging on a customer one does not see: 404, nothing written.
        visible_to(SEES_CUSTOMER, SAVED),
        data=FOLLOW_UP_FORM,
    ),
    Case(
        "activities:follow_up_create",
        "POST",
        _follow_up_create_url("theirs"),
        visible_to(frozenset({"other_rep", "manager_b", "admin"}), SAVED),
        data=FOLLOW_UP_FORM,
        variant="other_rep's customer",
    ),
    Case(
        "activities:follow_up_create",
        "POST",
        _follow_up_create_url("theirs"),
        # A deal of another customer's, even a visible one: refused on the form (admin), else 404.
        row(
            anonymous=LOGIN,
            owner=NOT_FOUND,
            teammate=NOT_FOUND,
            other_rep=NOT_FOUND,
            manager_a=NOT_FOUND,
            manager_b=NOT_FOUND,
            admin=OK,
        ),
        data=lambda w: FOLLOW_UP_FORM(w) | {"deal": w.extra["deal"].pk},
        variant="deal the actor may not see or of another customer",
    ),
    Case(
        "activities:follow_up_edit",
        "GET",
        url("activities:follow_up_edit", follow_up_id=_x("follow_up")),
        visible_to(SEES_CUSTOMER, OK),
    ),
    Case(
        "activities:follow_up_edit",
        "POST",
        url("activities:follow_up_edit", follow_up_id=_x("follow_up")),
        visible_to(SEES_CUSTOMER, SAVED),
        data=lambda w: {"kind": "meeting", "occurred_at": _now_local(), "summary": "Matrix edited", "version": "1"},
    ),
    Case(
        "activities:follow_up_delete",
        "POST",
        url("activities:follow_up_delete", follow_up_id=_x("follow_up")),
        visible_to(SEES_CUSTOMER, SAVED),
    ),
    # -- tasks -------------------------------------------------------------------------------------
    Case(
        "activities:tasks",
        "GET",
        url("activities:tasks"),
        signed_in(OK),
        probe=_web_lists("tasks", "task"),
        probe_seen_by=SEES_TASK,
    ),
    Case("activities:tasks_export", "GET", url("activities:tasks_export"), signed_in(OK)),
    Case(
        "activities:tasks_export",
        "GET",
        url("activities:tasks_export"),
        signed_in(OK),
        data=lambda w: {"format": "xlsx", "done": "all"},
        variant="xlsx",
    ),
    Case("activities:task_create", "GET", url("activities:task_create"), signed_in(OK)),
    Case(
        "activities:task_create",
        "GET",
        url("activities:task_create"),
        visible_to(SEES_CUSTOMER, OK),
        data=lambda w: {"customer": w.customer.pk},
        variant="customer",
    ),
    Case("activities:task_create", "POST", url("activities:task_create"), signed_in(SAVED), data=TASK_FORM),
    Case(
        "activities:task_create",
        "POST",
        url("activities:task_create"),
        # Attaching a customer one does not see: 404, nothing written.
        visible_to(SEES_CUSTOMER, SAVED),
        data=lambda w: TASK_FORM(w) | {"customer": w.customer.pk},
        variant="customer",
    ),
    Case(
        "activities:task_create",
        "POST",
        url("activities:task_create"),
        visible_to(SEES_CUSTOMER, SAVED),
        data=lambda w: TASK_FORM(w) | {"deal": w.extra["deal"].pk},
        variant="deal",
    ),
    Case(
        "activities:task_edit",
        "GET",
        url("activities:task_edit", task_id=_x("task")),
        visible_to(SEES_TASK, OK),
    ),
    Case(
        "activities:task_edit",
        "POST",
        url("activities:task_edit", task_id=_x("task")),
        visible_to(SEES_TASK, SAVED),
        data=lambda w: TASK_FORM(w) | {"title": "Matrix task (edited)", "version": "1"},
    ),
    Case(
        "activities:task_complete",
        "POST",
        url("activities:task_complete", task_id=_x("task")),
        visible_to(SEES_TASK, SAVED),
    ),
    Case(
        "activities:task_reopen",
        "POST",
        url("activities:task_reopen", task_id=_x("task")),
        visible_to(SEES_TASK, REDIRECT),  # it is open already: nothing to change
    ),
    Case(
        "activities:task_delete",
        "POST",
        url("activities:task_delete", task_id=_x("task")),
        visible_to(SEES_TASK, SAVED),
    ),
    # -- notifications -----------------------------------------------------------------------------
    Case("activities:notifications", "GET", url("activities:notifications"), signed_in(OK)),
    Case(
        "activities:notification_read",
        "POST",
        url("activities:notification_read", notification_id=_x("notification")),
        visible_to(frozenset({"owner"}), SAVED),  # one's own only, admins included
    ),
    Case(
        "activities:notifications_read_all",
        "POST",
        url("activities:notifications_read_all"),
        row(
            anonymous=LOGIN,
            owner=SAVED,
            teammate=REDIRECT,
            other_rep=REDIRECT,
            manager_a=REDIRECT,
            manager_b=REDIRECT,
            admin=REDIRECT,
        ),
    ),
    # -- the API -----------------------------------------------------------------------------------
    Case(
        "api-1.0.0:follow_ups_list",
        "GET",
        url("api-1.0.0:follow_ups_list"),
        api_user(OK),
        operation="GET /api/v1/follow-ups",
        probe=_api_lists("follow_up"),
        probe_seen_by=SEES_CUSTOMER,
    ),
    Case(
        "api-1.0.0:follow_up_create",
        "POST",
        url("api-1.0.0:follow_up_create"),
        visible_to(SEES_CUSTOMER, CREATED, anonymous=UNAUTHENTICATED, others=BAD_REFERENCE),
        data=lambda w: {"customer_id": w.customer.pk, "kind": "wechat", "summary": "Matrix API follow-up"},
        operation="POST /api/v1/follow-ups",
    ),
    Case(
        "api-1.0.0:follow_up_create",
        "POST",
        url("api-1.0.0:follow_up_create"),
        # The owner's deal on another customer: refused for all (and unseen by most).
        api_user(BAD_REFERENCE),
        data=lambda w: {
            "customer_id": w.extra["other_customer"].pk,
            "kind": "call",
            "summary": "x",
            "deal_id": w.extra["deal"].pk,
        },
        operation="POST /api/v1/follow-ups",
        variant="deal of another customer",
    ),
    Case(
        "api-1.0.0:follow_up_detail",
        "GET",
        url("api-1.0.0:follow_up_detail", follow_up_id=_x("follow_up")),
        visible_to(SEES_CUSTOMER, OK, anonymous=UNAUTHENTICATED),
        operation="GET /api/v1/follow-ups/{follow_up_id}",
    ),
    Case(
        "api-1.0.0:follow_up_update",
        "PATCH",
        url("api-1.0.0:follow_up_update", follow_up_id=_x("follow_up")),
        visible_to(SEES_CUSTOMER, OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"outcome": "neutral", "version": 1},
        operation="PATCH /api/v1/follow-ups/{follow_up_id}",
    ),
    Case(
        "api-1.0.0:follow_up_delete",
        "DELETE",
        url("api-1.0.0:follow_up_delete", follow_up_id=_x("follow_up")),
        visible_to(SEES_CUSTOMER, DELETED, anonymous=UNAUTHENTICATED),
        operation="DELETE /api/v1/follow-ups/{follow_up_id}",
    ),
    Case(
        "api-1.0.0:tasks_list",
        "GET",
        url("api-1.0.0:tasks_list"),
        api_user(OK),
        operation="GET /api/v1/tasks",
        probe=_api_lists("task"),
        probe_seen_by=SEES_TASK,
    ),
    Case(
        "api-1.0.0:task_create",
        "POST",
        url("api-1.0.0:task_create"),
        api_user(CREATED),
        data=lambda w: {"title": "Matrix API task", "due_at": _in_a_day(), "priority": "low"},
        operation="POST /api/v1/tasks",
    ),
    Case(
        "api-1.0.0:task_create",
        "POST",
        url("api-1.0.0:task_create"),
        visible_to(SEES_CUSTOMER, CREATED, anonymous=UNAUTHENTICATED, others=BAD_REFERENCE),
        data=lambda w: {"title": "Matrix API task", "due_at": _in_a_day(), "customer_id": w.customer.pk},
        operation="POST /api/v1/tasks",
        variant="customer",
    ),
    Case(
        "api-1.0.0:task_create",
        "POST",
        url("api-1.0.0:task_create"),
        visible_to(SEES_CUSTOMER, CREATED, anonymous=UNAUTHENTICATED, others=BAD_REFERENCE),
        data=lambda w: {"title": "Matrix API task", "due_at": _in_a_day(), "deal_id": w.extra["deal"].pk},
        operation="POST /api/v1/tasks",
        variant="deal",
    ),
    Case(
        "api-1.0.0:task_create",
        "POST",
        url("api-1.0.0:task_create"),
        # Only the owner's managers and admins may give the owner a task.
        row(
            anonymous=UNAUTHENTICATED,
            owner=CREATED,
            teammate=BAD_REFERENCE,
            other_rep=BAD_REFERENCE,
            manager_a=CREATED,
            manager_b=BAD_REFERENCE,
            admin=CREATED,
        ),
        data=lambda w: {"title": "For the owner", "due_at": _in_a_day(), "assignee_id": w.c.owner.pk},
        operation="POST /api/v1/tasks",
        variant="assign to the owner",
    ),
    Case(
        "api-1.0.0:task_detail",
        "GET",
        url("api-1.0.0:task_detail", task_id=_x("task")),
        visible_to(SEES_TASK, OK, anonymous=UNAUTHENTICATED),
        operation="GET /api/v1/tasks/{task_id}",
    ),
    Case(
        "api-1.0.0:task_update",
        "PATCH",
        url("api-1.0.0:task_update", task_id=_x("task")),
        visible_to(SEES_TASK, OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"priority": "high", "version": 1},
        operation="PATCH /api/v1/tasks/{task_id}",
    ),
    Case(
        "api-1.0.0:task_delete",
        "DELETE",
        url("api-1.0.0:task_delete", task_id=_x("task")),
        visible_to(SEES_TASK, DELETED, anonymous=UNAUTHENTICATED),
        operation="DELETE /api/v1/tasks/{task_id}",
    ),
    Case(
        "api-1.0.0:task_complete",
        "POST",
        url("api-1.0.0:task_complete", task_id=_x("task")),
        visible_to(SEES_TASK, OK_SAVED, anonymous=UNAUTHENTICATED),
        data=lambda w: {"version": 1},
        operation="POST /api/v1/tasks/{task_id}/complete",
    ),
    Case(
        "api-1.0.0:notifications_list",
        "GET",
        url("api-1.0.0:notifications_list"),
        api_user(OK),
        operation="GET /api/v1/notifications",
        probe=_api_lists("notification"),
        probe_seen_by=frozenset({"owner"}),
    ),
    Case(
        "api-1.0.0:notifications_mark_read",
        "POST",
        url("api-1.0.0:notifications_mark_read"),
        # Someone else's notification is an unknown id.
        visible_to(frozenset({"owner"}), OK_SAVED, anonymous=UNAUTHENTICATED, others=BAD_REFERENCE),
        data=lambda w: {"ids": [w.extra["notification"].pk]},
        operation="POST /api/v1/notifications/read",
    ),
    Case(
        "api-1.0.0:notifications_mark_read",
        "POST",
        url("api-1.0.0:notifications_mark_read"),
        visible_to(frozenset({"owner"}), OK_SAVED, anonymous=UNAUTHENTICATED, others=OK),
        data=lambda w: {},
        operation="POST /api/v1/notifications/read",
        variant="all",
    ),
]
