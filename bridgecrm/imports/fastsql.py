"""Multi-row ``INSERT … RETURNING id`` without building model instances.

``bulk_create`` spends most of an import's time in Python: a model instance per row, then
``pre_save``/``get_db_prep_save`` per field per row while compiling the SQL. The import already has
clean, typed values, so it hands tuples to the database here: the same statement Django would send
(multi-row VALUES with RETURNING on both SQLite ≥ 3.35 and PostgreSQL), values adapted once per
type by the backend's own adapters.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Sequence
from typing import Any

from django.db import connection, models

# SQLite allows 32,766 variables a statement; PostgreSQL 65,535.
MAX_VARIABLES = 30_000


def adapt_datetime(value: dt.datetime | None) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def adapt_date(value: dt.date | None) -> Any:
    return connection.ops.adapt_datefield_value(value)


def adapt_decimal(value: decimal.Decimal | None, max_digits: int, places: int) -> Any:
    return connection.ops.adapt_decimalfield_value(value, max_digits, places)


def adapt_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> list[int]:
    """Insert ``rows`` (values in the order of ``columns``, attribute names such as ``owner_id``,
    already adapted) and return their ids in order. Every other concrete field gets its default,
    computed and adapted once for the whole call."""
    if not rows:
        return []
    meta = model._meta
    fields = {f.attname: f for f in meta.concrete_fields if not f.primary_key}
    rest = [f for name, f in fields.items() if name not in columns]
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in rest)
    names = [str(fields[c].column) for c in columns] + [str(f.column) for f in rest]
    qn = connection.ops.quote_name
    table, pk = qn(meta.db_table), qn(str(meta.pk.column))
    head = f"INSERT INTO {table} ({', '.join(qn(n) for n in names)}) VALUES "  # noqa: S608 - the model's names
    one = "(" + ", ".join(["%s"] * len(names)) + ")"
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start, end in chunk_bounds(len(rows), max(1, MAX_VARIABLES // len(names))):
            chunk = rows[start:end]
            sql = head + ", ".join([one] * len(chunk)) + f" RETURNING {pk}"
            cursor.execute(sql, [value for row in chunk for value in (*row, *defaults)])
            # One statement's ids come from the sequence in the order of its VALUES.
            ids.extend(sorted(int(r[0]) for r in cursor.fetchall()))
    return ids


def chunk_bounds(total: int, per: int) -> list[tuple[int, int]]:
    """``(start, end)`` slices of at most ``per`` rows whose sizes come from a small fixed set:
    ``per`` itself and powers of two. The driver keeps each distinct statement text compiled (a
    multi-row INSERT of 1,600 rows compiles to megabytes), so a remainder of any size would leave
    a new statement in the cache with every batch: 300 MB after 100,000 rows, where this keeps the
    cache to a dozen statements a table."""
    bounds: list[tuple[int, int]] = []
    start = 0
    while total - start >= per:
        bounds.append((start, start + per))
        start += per
    size = 1 << max(0, (per - 1).bit_length())
    while start < total:
        while size > total - start:
            size >>= 1
        bounds.append((start, start + size))
        start += size
    return bounds
