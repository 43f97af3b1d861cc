"""The activities API: the same services, visibility and audit as the pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bridgecrm.activities import services
from bridgecrm.activities.models import FollowUp, Notification, NotificationKind, Task
from bridgecrm.activities.tests.factories import log, make_task
from bridgecrm.api.tests.conftest import API, ApiClient, assert_error_shape, issue_token
from bridgecrm.core import dates
from bridgecrm.core.models import AuditEntry
from bridgecrm.customers.tests.factories import make_contact, make_customer

pytestmark = pytest.mark.django_db


def _delete(client: ApiClient, path: str):
    return client.client.delete(API + path, headers=client._headers(None))


def test_follow_up_create_get_patch_delete_and_customer_dates(company) -> None:
    customer = make_customer(company.owner)
    contact = make_contact(customer)
    api = ApiClient(issue_token(company.owner))
    next_date = (timezone.localdate() + dt.timedelta(days=5)).isoformat()
    created = api.post(
        "/follow-ups",
        {
            "customer_id": customer.pk,
            "contact_id": contact.pk,
            "kind": "visit",
            "summary": "On site",
            "next_follow_up_on": next_date,
            "checkin_latitude": "31.2304",
            "checkin_longitude": "121.4737",
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["contact_id"], body["checkin_latitude"], body["version"]) == (contact.pk, "31.230400", 1)
    customer.refresh_from_db()
    assert customer.next_follow_up_on.isoformat() == next_date
    pk = body["id"]
    assert api.get(f"/follow-ups/{pk}").json()["summary"] == "On site"
    patched = api.patch(f"/follow-ups/{pk}", {"summary": "On site, met 王总", "version": 1})
    assert patched.status_code == 200 and patched.json()["version"] == 2
    assert_error_shape(api.patch(f"/follow-ups/{pk}", {"summary": "stale", "version": 1}), 409, "stale")
    assert AuditEntry.objects.filter(object_id=str(pk), content_type__model="followup", source="api").count() == 2
    assert _delete(api, f"/follow-ups/{pk}").status_code == 204
    assert_error_shape(api.get(f"/follow-ups/{pk}"), 404, "not_found")


def test_follow_up_refusals_write_nothing(company) -> None:
    mine = make_customer(company.owner)
    theirs = make_customer(company.other_rep, "Theirs")
    api = ApiClient(issue_token(company.owner))
    cases = [
        ({"customer_id": theirs.pk, "kind": "call", "summary": "x"}, 400, "customer_id"),
        (
            {"customer_id": mine.pk, "kind": "call", "summary": "x", "contact_id": make_contact(theirs).pk},
            400,
            "contact_id",
        ),
        (
            {
                "customer_id": mine.pk,
                "kind": "visit",
                "summary": "x",
                "checkin_latitude": "91",
                "checkin_longitude": "0",
            },
            422,
            "checkin_latitude",
        ),
        (
            {
                "customer_id": mine.pk,
                "kind": "call",
                "summary": "x",
                "checkin_latitude": "30",
                "checkin_longitude": "120",
            },
            400,
            "checkin_latitude",
        ),
        (
            {"customer_id": mine.pk, "kind": "call", "summary": "x", "occurred_at": "2026-01-01T10:00:00"},
            400,
            "occurred_at",
        ),
    ]
    for body, status, field in cases:
        response = api.post("/follow-ups", body)
        error = assert_error_shape(response, status)
        assert field in error["details"], (body, error)
    assert not FollowUp.objects.exists()


def test_follow_up_list_filters_count_and_visibility(company) -> None:
    customer = make_customer(company.owner)
    for i in range(5):
        log(customer, kind="call" if i % 2 else "email", summary=f"S{i}")
    log(make_customer(company.other_rep, "Hidden"), company.other_rep, summary="hidden")
    api = ApiClient(issue_token(company.owner))
    body = api.get("/follow-ups", {"limit": 2}).json()
    assert (len(body["items"]), body["count"]) == (2, 5)
    assert api.get("/follow-ups", {"kind": "email"}).json()["count"] == 3
    today = dates.company_today().isoformat()  # the user's zone (Shanghai), not the server's UTC
    assert api.get("/follow-ups", {"customer": customer.pk, "from": today, "to": today}).json()["count"] == 5
    assert api.get("/follow-ups", {"owner": company.other_rep.pk}).json()["count"] == 0
    with CaptureQueriesContext(connection) as small:
        api.get("/follow-ups", {"limit": 2})
    with CaptureQueriesContext(connection) as large:
        api.get("/follow-ups", {"limit": 50})
    assert len(small.captured_queries) == len(large.captured_queries)


def test_tasks_api(company) -> None:
    customer = make_customer(company.owner)
    api = ApiClient(issue_token(company.manager_a))
    due = (timezone.now() + dt.timedelta(days=1)).isoformat()
    created = api.post(
        "/tasks", {"title": "Visit", "due_at": due, "assignee_id": company.owner.pk, "customer_id": customer.pk}
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert Notification.objects.filter(recipient=company.owner, kind=NotificationKind.TASK_ASSIGNED).count() == 1
    error = assert_error_shape(
        api.post("/tasks", {"title": "x", "due_at": due, "assignee_id": company.other_rep.pk}), 400
    )
    assert "assignee_id" in error["details"]
    error = assert_error_shape(
        ApiClient(issue_token(company.owner)).post(
            "/tasks", {"title": "x", "due_at": due, "assignee_id": company.teammate.pk}
        ),
        400,
    )
    assert "assignee" in error["details"]
    assert Task.objects.count() == 1
    owner_api = ApiClient(issue_token(company.owner))
    assert owner_api.get("/tasks", {"done": "false"}).json()["count"] == 1
    done = owner_api.post(f"/tasks/{pk}/complete", {"version": 1})
    assert done.status_code == 200 and done.json()["done_at"]
    assert owner_api.get("/tasks", {"done": "true", "assignee": company.owner.pk}).json()["count"] == 1
    reopened = owner_api.post(f"/tasks/{pk}/complete", {"done": False})
    assert reopened.json()["done_at"] is None
    patched = owner_api.patch(f"/tasks/{pk}", {"title": "Visit 王总", "version": 3})
    assert patched.status_code == 200, patched.content
    assert_error_shape(ApiClient(issue_token(company.other_rep)).get(f"/tasks/{pk}"), 404, "not_found")
    assert _delete(owner_api, f"/tasks/{pk}").status_code == 204
    assert not Task.objects.exists()


def test_notifications_api(company) -> None:
    make_task(company.owner, remind_at=timezone.now() - dt.timedelta(minutes=1), title="Ping")
    services.task_reminders_send()
    services.notification_create(recipient=company.teammate, kind=NotificationKind.OTHER)
    api = ApiClient(issue_token(company.owner))
    body = api.get("/notifications", {"unread": "true"}).json()
    assert body["count"] == 1 and body["items"][0]["text"] == "Reminder: Ping"
    zh = ApiClient(issue_token(company.owner), language="zh-hans").get("/notifications").json()
    assert zh["items"][0]["kind"] == "task_reminder"
    theirs = Notification.objects.get(recipient=company.teammate)
    assert_error_shape(api.post("/notifications/read", {"ids": [theirs.pk]}), 400)
    mine = body["items"][0]["id"]
    assert api.post("/notifications/read", {"ids": [mine]}).json() == {"marked": 1}
    assert api.post("/notifications/read", {}).json() == {"marked": 0}
    assert Notification.objects.get(pk=theirs.pk).read_at is None
