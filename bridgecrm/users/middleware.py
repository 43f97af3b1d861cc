from __future__ import annotations

import time
import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from bridgecrm.users.signin import session_expired

TOUCH_EVERY_SECONDS = 60


class SessionPolicyMiddleware:
    """End sessions idle for 30 minutes or older than 12 hours, whatever the cookie says."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            if session_expired(dict(request.session.items()), now):
                logout(request)
            elif now - float(request.session.get("bridge_last_seen", 0)) > TOUCH_EVERY_SECONDS:
                request.session["bridge_last_seen"] = now  # saving also slides the server-side expiry
        return self.get_response(request)


class UserPreferencesMiddleware:
    """Activate the signed-in user's language and time zone (default Asia/Shanghai)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        tz_name = settings.BRIDGE_DEFAULT_TIME_ZONE
        if user.is_authenticated:
            language = getattr(user, "language", "")
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = translation.get_language()
            tz_name = getattr(user, "time_zone", "") or tz_name
        try:
            timezone.activate(zoneinfo.ZoneInfo(tz_name))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.activate(zoneinfo.ZoneInfo(settings.BRIDGE_DEFAULT_TIME_ZONE))
        response = self.get_response(request)
        timezone.deactivate()
        return response
