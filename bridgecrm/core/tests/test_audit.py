"""The audit trail: one row per change with the right source; rows can never be changed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from bridgecrm.core import audit
from bridgecrm.core.context import Source
from bridgecrm.core.models import AuditAction, AuditEntry, AuditImmutable
from bridgecrm.users import services, tasks
from bridgecrm.users.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _new_rows(since_id: int):
    return list(AuditEntry.objects.filter(id__gt=since_id).order_by("id"))


def _last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_a_web_change_writes_exactly_one_row_with_source_web():
    user = UserFactory(full_name="王芳")
    client = Client()
    client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    mark = _last_id()
    response = client.post(
        "/settings/",
        {"full_name": "王芳芳", "email": user.email, "phone": "", "language": "", "time_zone": "Asia/Shanghai"},
        HTTP_X_REQUEST_ID="req-web-00000001",
    )
    assert response.status_code == 302
    rows = _new_rows(mark)
    assert len(rows) == 1
    row = rows[0]
    assert (row.source, row.action, row.field, row.old_value, row.new_value) == (
        "web",
        "update",
        "full_name",
        "王芳",
        "王芳芳",
    )
    assert row.actor_id == user.pk and row.object_id == str(user.pk)
    assert row.request_id == "req-web-00000001"
    assert row.at.tzinfo is not None and row.at.utcoffset() == dt.timedelta(0)


def test_an_api_change_writes_exactly_one_row_with_source_api():
    user = UserFactory(full_name="Emma Tan", role=services.Role.objects.get(code="rep"))
    issued = services.token_create(actor=user, name="script")
    mark = _last_id()
    response = Client().patch(
        "/api/v1/me",
        {"full_name": "Emma Lim"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {issued.secret}"},
    )
    assert response.status_code == 200, response.content
    rows = _new_rows(mark)
    assert [(r.source, r.field, r.old_value, r.new_value) for r in rows] == [
        ("api", "full_name", "Emma Tan", "Emma Lim")
    ]


def test_a_task_change_writes_exactly_one_row_with_source_system():
    user = UserFactory(deactivate_at=timezone.now() - dt.timedelta(minutes=1))
    mark = _last_id()
    result = tasks.deactivate_due_users.enqueue()
    assert result.return_value == [user.pk]
    rows = _new_rows(mark)
    assert [(r.source, r.field, r.old_value, r.new_value, r.actor_id) for r in rows] == [
        ("system", "is_active", True, False, None)
    ]


def test_rows_cannot_be_updated_or_deleted_through_the_orm():
    user = UserFactory()
    row = audit.record_event(actor=user, event="sign_in", obj=user)
    row.field = "tampered"
    with pytest.raises(AuditImmutable):
        row.save()
    with pytest.raises(AuditImmutable):
        row.delete()
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.filter(pk=row.pk).update(field="tampered")
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.filter(pk=row.pk).delete()
    assert AuditEntry.objects.get(pk=row.pk).field == ""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL")
def test_postgresql_trigger_refuses_update_and_delete_in_raw_sql():
    user = UserFactory()
    row = audit.record_event(actor=user, event="sign_in", obj=user)
    for sql in ("UPDATE core_auditentry SET field = 'x' WHERE id = %s", "DELETE FROM core_auditentry WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [row.pk])
    assert AuditEntry.objects.filter(pk=row.pk, field="").exists()


def test_creation_is_one_row_with_initial_values():
    admin = UserFactory(role=services.Role.objects.get(code="admin"))
    mark = _last_id()
    team = services.team_create(actor=admin, name="华北组")
    rows = _new_rows(mark)
    assert len(rows) == 1
    assert rows[0].action == AuditAction.CREATE and rows[0].new_value["name"] == "华北组"
    assert rows[0].source == Source.SYSTEM  # called outside a request: the system context
    assert rows[0].object_repr == str(team)


def test_security_events_are_recorded():
    admin = UserFactory(role=services.Role.objects.get(code="admin"))
    rep = UserFactory(role=services.Role.objects.get(code="rep"))
    client = Client()
    client.post("/accounts/login/", {"username": rep.username, "password": "wrong password!!"})
    client.post("/accounts/login/", {"username": rep.username, "password": PASSWORD})
    issued = services.token_create(actor=rep, name="x")
    services.token_revoke(actor=rep, token=issued.token)
    services.user_update_admin(actor=admin, user=rep, team=None, role=services.Role.objects.get(code="manager"))
    events = list(AuditEntry.objects.filter(action="security", object_id=str(rep.pk)).values_list("event", flat=True))
    for expected in ("sign_in_failed", "sign_in", "token_created", "token_revoked", "role_changed"):
        assert expected in events


def test_cursor_round_trips_to_the_microsecond():
    from hypothesis import given
    from hypothesis import strategies as st

    from bridgecrm.core.selectors import Cursor

    @given(
        st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2200, 1, 1), timezones=st.just(dt.UTC)),
        st.integers(min_value=1, max_value=2**62),
    )
    def round_trip(at, pk):
        assert Cursor.decode(Cursor(at=at, id=pk).encode()) == Cursor(at=at, id=pk)

    round_trip()
    assert Cursor.decode("garbage") is None
    assert Cursor.decode("99999999999999999999999_1") is None
