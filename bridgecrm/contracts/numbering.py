"""Document numbers unique under concurrency: ``<prefix><year>-<5 digits>`` (Q2026-00017).

The counter row for (kind, year) is created if missing, then bumped with ``UPDATE … SET value =
value + 1`` and read back in the caller's transaction: the row lock that UPDATE takes makes a
second transaction wait until the first commits (PostgreSQL) or the database is written by one
transaction at a time (SQLite, ``BEGIN IMMEDIATE``), so no two documents get the same number. A
rolled-back transaction gives its number back.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import F

from bridgecrm.contracts.models import NumberSequence


def next_number(*, kind: str, prefix: str, on: dt.date) -> str:
    with transaction.atomic():
        bumped = NumberSequence.objects.filter(kind=kind, year=on.year).update(value=F("value") + 1)
        if not bumped:
            try:
                with transaction.atomic():
                    NumberSequence.objects.create(kind=kind, year=on.year, value=1)
            except IntegrityError:  # another transaction created it first: bump theirs
                NumberSequence.objects.filter(kind=kind, year=on.year).update(value=F("value") + 1)
        value = NumberSequence.objects.get(kind=kind, year=on.year).value
    return f"{prefix}{on.year}-{value:05d}"
