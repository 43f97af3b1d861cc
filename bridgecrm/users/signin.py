"""Signing in and out: throttled, audited, with a fresh session key and absolute/idle limits."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from bridgecrm.core import audit
from bridgecrm.core.errors import ApplicationError, Throttled
from bridgecrm.core.middleware import client_ip
from bridgecrm.users import throttle
from bridgecrm.users.models import User

INVALID_LOGIN = _("The user name or password is not correct.")
LOCKED = _("Too many failed sign-in attempts. Please wait 15 minutes and try again.")


def sign_in(*, request: HttpRequest, username: str, password: str) -> User:
    """Check the credentials under the throttle and start a new session; the error never says
    whether the account exists."""
    username = username.strip()[:150]
    ip = client_ip(request)
    if not throttle.reserve_attempt(username=username, ip=ip):
        audit.record_event(actor=None, event="sign_in_throttled", details={"username": username})
        raise Throttled("locked", LOCKED)
    user = authenticate(request, username=username, password=password)
    if not isinstance(user, User):
        known = User.objects.filter(username=username).first()
        audit.record_event(actor=None, event="sign_in_failed", obj=known, details={"username": username})
        raise ApplicationError("invalid_login", INVALID_LOGIN)
    throttle.clear_account(username)
    with transaction.atomic():
        login(request, user)  # cycles the session key
        now = time.time()
        request.session["bridge_auth_at"] = now
        request.session["bridge_last_seen"] = now
        request.session["bridge_ip"] = ip
        request.session["bridge_ua"] = request.headers.get("User-Agent", "")[:300]
        audit.record_event(actor=user, event="sign_in", obj=user)
    return user


def sign_out(*, request: HttpRequest) -> None:
    user = request.user
    if isinstance(user, User):
        audit.record_event(actor=user, event="sign_out", obj=user)
    logout(request)


def session_expired(session_data: dict[str, object], now: float) -> bool:
    auth_at = session_data.get("bridge_auth_at")
    last_seen = session_data.get("bridge_last_seen")
    if not isinstance(auth_at, int | float) or not isinstance(last_seen, int | float):
        return True
    return (
        now - auth_at > settings.BRIDGE_SESSION_ABSOLUTE_SECONDS
        or now - last_seen > settings.BRIDGE_SESSION_IDLE_SECONDS
    )
