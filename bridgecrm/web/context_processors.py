from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from bridgecrm.web.navigation import items_for


def shell(request: HttpRequest) -> dict[str, Any]:
    return {
        "nav_items": items_for(request.user, request.path),
        "languages": settings.LANGUAGES,
    }
