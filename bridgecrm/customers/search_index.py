# ruff: noqa: S608 - the SQL names fixed tables; no value from outside reaches it
"""The SQLite full-text index of customer and contact names (FTS5, trigram tokenizer).

Migration ``customers.0004`` creates it; this module checks it after every ``migrate`` and puts
back the triggers that a table rebuild by Django's SQLite schema editor would have dropped, then
rebuilds the index from the tables. PostgreSQL uses trigram indexes instead (``customers.0002``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections

TABLES = (("customers_customer", "customers_customer_fts"), ("customers_contact", "customers_contact_fts"))
TRIGGER_SUFFIXES = ("ai", "ad", "au")


def _create_sql(table: str, fts: str) -> list[str]:
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5("
        f"name, content='{table}', content_rowid='id', tokenize='trigram')",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, name) VALUES (new.id, new.name); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, name) VALUES ('delete', old.id, old.name); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF name ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, name) VALUES ('delete', old.id, old.name); "
        f"INSERT INTO {fts}(rowid, name) VALUES (new.id, new.name); END",
    ]


def sqlite_fts_ready(using: str = "default") -> bool:
    """True when the database is SQLite and its FTS tables and triggers all exist."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return False
    names = [fts for _t, fts in TABLES] + [f"{fts}_{s}" for _t, fts in TABLES for s in TRIGGER_SUFFIXES]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM sqlite_master WHERE name IN ({', '.join(['%s'] * len(names))})",
            names,
        )
        (found,) = cursor.fetchone()
    return bool(found == len(names))


def ensure_sqlite_fts(using: str = "default", **_kwargs: Any) -> bool:
    """Create what is missing and rebuild the index; True when something had to be repaired."""
    connection = connections[using]
    if connection.vendor != "sqlite" or sqlite_fts_ready(using):
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'customers_customer'")
        if cursor.fetchone() is None:
            return False  # not migrated (yet)
        for table, fts in TABLES:
            for sql in _create_sql(table, fts):
                cursor.execute(sql)
            cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
    return True


def rebuild(using: str = "default") -> None:
    """Re-read every name into the index (after a bulk load that bypassed the triggers)."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for _table, fts in TABLES:
            cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


@contextmanager
def bulk_insert(using: str = "default") -> Iterator[None]:
    """Index rows inserted in bulk (the import) in one statement per table instead of one trigger
    call per row, which costs FTS5 ~0.4 ms a row against ~0.05 ms for the set.

    Call inside the transaction that inserts (SQLite's IMMEDIATE transactions hold the only write
    lock, so every row above the highest id seen at the start is ours): the AFTER INSERT triggers
    are dropped, the block runs, then the new rows are indexed and the triggers put back, all in
    that same transaction, so a rollback restores the triggers too. Nothing to do on PostgreSQL."""
    connection = connections[using]
    if connection.vendor != "sqlite" or not connection.in_atomic_block or not sqlite_fts_ready(using):
        yield
        return
    with connection.cursor() as cursor:
        before = {}
        for table, fts in TABLES:
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
            before[table] = cursor.fetchone()[0]
            cursor.execute(f"DROP TRIGGER {fts}_ai")
    yield
    with connection.cursor() as cursor:
        for table, fts in TABLES:
            cursor.execute(
                f"INSERT INTO {fts}(rowid, name) SELECT id, name FROM {table} WHERE id > %s", [before[table]]
            )
            cursor.execute(_create_sql(table, fts)[1])
