"""Sign-in throttling with an atomic counter per account and per IP.

An attempt is *reserved* before the password is checked: inside one transaction the counter row is
locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's IMMEDIATE transactions serialise writers),
and the attempt is refused if the window already holds the limit. So 20 concurrent clients can
never get more than the limit of password checks through. A successful sign-in clears the
account's counter. A window that has ended starts afresh: the lock expires by itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from bridgecrm.users.models import LoginThrottle


def account_key(username: str) -> str:
    digest = hashlib.sha256(username.strip().casefold().encode()).hexdigest()
    return f"account:{digest}"


def ip_key(ip: str) -> str:
    return f"ip:{ip}"


def _reserve(key: str, limit: int, now: dt.datetime) -> bool:
    window = dt.timedelta(seconds=settings.BRIDGE_LOGIN_WINDOW_SECONDS)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                row = LoginThrottle.objects.select_for_update().filter(key=key).first()
                if row is None:
                    LoginThrottle.objects.create(key=key, window_start=now, failures=1)
                    return True
                if row.window_start <= now - window:
                    row.window_start, row.failures = now, 1
                    row.save(update_fields=["window_start", "failures"])
                    return True
                if row.failures >= limit:
                    return False
                row.failures += 1
                row.save(update_fields=["failures"])
                return True
        except IntegrityError:  # another request created the row first: lock it and count again
            continue
    return False


def reserve_attempt(*, username: str, ip: str, now: dt.datetime | None = None) -> bool:
    """Count one attempt against the account and the IP; False when either is locked."""
    now = now or timezone.now()
    if not _reserve(ip_key(ip), settings.BRIDGE_LOGIN_FAILURES_PER_IP, now):
        return False
    return _reserve(account_key(username), settings.BRIDGE_LOGIN_FAILURES_PER_ACCOUNT, now)


def clear_account(username: str) -> None:
    LoginThrottle.objects.filter(key=account_key(username)).delete()
