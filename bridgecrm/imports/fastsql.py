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
import sqlite3
from collections.abc import Sequence
from itertools import chain, repeat
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
    if type(value) is dict and not value:  # most imported records have no custom values
        return "{}"
    return json.dumps(value, ensure_ascii=False)


def insert_rows(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple[Any, ...]], *, ids: bool = True
) -> list[int]:
    """Insert ``rows`` (values in the order of ``columns``, attribute names such as ``owner_id``,
    already adapted) and return their ids in order (``ids=False``: the caller needs none, and
    PostgreSQL lets the table number them). Every other concrete field gets its default,
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
    if connection.vendor == "postgresql":
        return _copy_postgresql(meta, names, rows, defaults, numbered=ids)
    # SQLite inside a transaction: this connection holds the database's only write lock (Bridge
    # opens transactions IMMEDIATE) and Django's AUTOINCREMENT keys only grow, so the rows of one
    # statement take consecutive ids ending at ``lastrowid``; RETURNING would buffer and hand back
    # every id for nothing. Elsewhere (PostgreSQL, or SQLite in autocommit) the ids are returned.
    consecutive = _ids_are_consecutive()
    tail = "" if consecutive else f" RETURNING {pk}"
    new_ids: list[int] = []
    with connection.cursor() as cursor:
        for start, end in chunk_bounds(len(rows), max(1, MAX_VARIABLES // len(names))):
            chunk = rows[start:end]
            # Each row's values, then the defaults: flattened by itertools in C, not a tuple a row.
            _execute(
                cursor,
                head + ", ".join([one] * len(chunk)) + tail,
                list(chain.from_iterable(chain.from_iterable(zip(chunk, repeat(defaults))))),
            )
            if consecutive:
                last = int(cursor.lastrowid)
                new_ids.extend(range(last - len(chunk) + 1, last + 1))
            else:  # one statement's ids come from the sequence in the order of its VALUES
                new_ids.extend(sorted(int(r[0]) for r in cursor.fetchall()))
    return new_ids


def _ids_are_consecutive() -> bool:
    return connection.vendor == "sqlite" and connection.in_atomic_block


def _copy_postgresql(
    meta: Any, names: list[str], rows: Sequence[tuple[Any, ...]], defaults: tuple[Any, ...], *, numbered: bool
) -> list[int]:
    """PostgreSQL: ids drawn from the table's sequence in one query (when wanted), then the rows
    sent with ``COPY … FROM STDIN``. A multi-row INSERT of 100,000 customers spent 13.7 s in
    30,000-parameter statements the server parses and the driver adapts one value at a time; the
    same rows cost the server 3.9 s to index. COPY streams them in the driver's row format."""
    qn = connection.ops.quote_name
    table, pk = str(meta.db_table), str(meta.pk.column)
    ids: list[int] = []
    with connection.cursor() as cursor:
        if numbered:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, pk, len(rows)]
            )
            ids = [int(r[0]) for r in cursor.fetchall()]
        columns = ", ".join(qn(n) for n in ([pk] if numbered else []) + names)
        with cursor.cursor.copy(f"COPY {qn(table)} ({columns}) FROM STDIN") as copy:
            if numbered:
                for pk_value, row in zip(ids, rows, strict=True):
                    copy.write_row((pk_value, *row, *defaults))
            else:
                for row in rows:
                    copy.write_row((*row, *defaults))
    return ids


def _execute(cursor: Any, sql: str, params: list[Any]) -> None:
    """``cursor.execute``, except on SQLite when no one is logging queries: Django's SQLite cursor
    turns each ``%s`` into ``?`` with a look-behind regular expression over the whole statement,
    0.35 ms for a 30,000-placeholder INSERT (0.7 s of an import of 100,000 customers), where
    ``str.replace`` takes a few microseconds (the statements here have no other ``%``). Execute
    wrappers still run, and database errors are still Django's."""
    if connection.vendor != "sqlite" or connection.queries_logged:
        cursor.execute(sql, params)
        return
    raw = cursor.cursor  # Django's SQLiteCursorWrapper, itself a sqlite3.Cursor

    def run(qmark: str, values: Any, _many: bool, _context: Any) -> Any:
        with connection.wrap_database_errors:
            return sqlite3.Cursor.execute(raw, qmark, values)

    cursor._execute_with_wrappers(sql.replace("%s", "?"), params, many=False, executor=run)


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
