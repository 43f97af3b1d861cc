"""A database session store whose rows know their user, IP and browser (for "sign out elsewhere")."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.utils import timezone


class SessionStore(DBStore):
    @classmethod
    def get_model_class(cls) -> Any:
        from bridgecrm.users.models import UserSession

        return UserSession

    def create_model_instance(self, data: dict[str, Any]) -> Any:
        obj: Any = super().create_model_instance(data)
        user_id = data.get("_auth_user_id")
        obj.user_id = int(user_id) if user_id else None
        obj.ip = str(data.get("bridge_ip", ""))[:64]
        obj.user_agent = str(data.get("bridge_ua", ""))[:300]
        auth_at = data.get("bridge_auth_at")
        obj.created_at = dt.datetime.fromtimestamp(float(auth_at), tz=dt.UTC) if auth_at else timezone.now()
        return obj
