"""Sessions: a new key at sign-in, 30 minutes idle, 12 hours absolute, ended on deactivation."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from bridgecrm.users import services
from bridgecrm.users.models import UserSession
from bridgecrm.users.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _sign_in(client: Client, user) -> None:
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302


def test_sign_in_issues_a_new_session_key_and_records_the_session():
    user = UserFactory()
    client = Client()
    client.get("/accounts/login/")
    client.session["probe"] = 1
    before = client.cookies.get("bridge_session")
    _sign_in(client, user)
    after = client.cookies["bridge_session"].value
    assert before is None or before.value != after
    row = UserSession.objects.get(session_key=after)
    assert row.user_id == user.pk


def test_idle_for_thirty_minutes_signs_out():
    user = UserFactory()
    start = timezone.now()
    client = Client()
    with time_machine.travel(start, tick=False):
        _sign_in(client, user)
    with time_machine.travel(start + dt.timedelta(minutes=29), tick=False):
        assert client.get("/").status_code == 200
    with time_machine.travel(start + dt.timedelta(minutes=58), tick=False):
        assert client.get("/").status_code == 200  # 29 minutes after the last request: still fine
    with time_machine.travel(start + dt.timedelta(minutes=88, seconds=30), tick=False):
        response = client.get("/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_twelve_hours_is_the_absolute_limit_even_when_active():
    user = UserFactory()
    start = timezone.now()
    client = Client()
    with time_machine.travel(start, tick=False):
        _sign_in(client, user)
    for minutes in range(20, 12 * 60, 20):
        with time_machine.travel(start + dt.timedelta(minutes=minutes), tick=False):
            assert client.get("/").status_code == 200, minutes
    with time_machine.travel(start + dt.timedelta(hours=12, minutes=1), tick=False):
        assert client.get("/").status_code == 302


def test_deactivation_ends_sessions_and_tokens_at_once(company):
    client = Client()
    _sign_in(client, company.owner)
    issued = services.token_create(actor=company.owner, name="script")
    assert client.get("/").status_code == 200
    api = Client(headers={"Authorization": f"Bearer {issued.secret}"})
    assert api.get("/api/v1/me").status_code == 200
    services.user_deactivate(actor=company.admin, user=company.owner)
    assert client.get("/").status_code == 302
    assert api.get("/api/v1/me").status_code == 401
    assert not UserSession.objects.filter(user=company.owner).exists()


def test_sign_out_elsewhere_keeps_only_this_session():
    user = UserFactory()
    here, there = Client(), Client()
    _sign_in(here, user)
    _sign_in(there, user)
    assert UserSession.objects.filter(user=user).count() == 2
    response = here.post("/settings/sessions/end-others/")
    assert response.status_code == 302
    assert here.get("/").status_code == 200
    assert there.get("/").status_code == 302
    assert UserSession.objects.filter(user=user).count() == 1


def test_cookie_flags_over_https(settings):
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    user = UserFactory()
    client = Client()
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD}, secure=True)
    cookie = response.cookies["bridge_session"]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"
