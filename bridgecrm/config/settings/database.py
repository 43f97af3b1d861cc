from __future__ import annotations

from typing import Any

import dj_database_url

from bridgecrm.config.env import ENV


def _sqlite(path: str) -> dict[str, Any]:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            # One writer at a time, taken at BEGIN: no "database is locked" half way through.
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA foreign_keys=ON;"
                "PRAGMA busy_timeout=20000;"
                "PRAGMA temp_store=MEMORY;"
                "PRAGMA mmap_size=134217728;"
                "PRAGMA cache_size=-64000;"
            ),
        },
        "TEST": {"NAME": str(ENV.var_dir / "test.sqlite3")},
    }


if ENV.database_url:
    _db: dict[str, Any] = dict(dj_database_url.parse(ENV.database_url, conn_max_age=60, conn_health_checks=True))
    if _db["ENGINE"] == "django.db.backends.sqlite3":
        _db = _sqlite(_db["NAME"])
    DATABASES: dict[str, Any] = {"default": _db}
else:
    DATABASES = {"default": _sqlite(str(ENV.var_dir / "bridge.sqlite3"))}
