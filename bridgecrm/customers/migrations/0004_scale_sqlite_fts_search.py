"""On SQLite, FTS5 tables with the trigram tokenizer serve the list's substring search on customer
and contact names (the equivalent of the PostgreSQL trigram indexes of 0002).

They are external-content tables (the text stays in the customer and contact tables; the FTS
tables hold only the index), kept in sync by triggers, so every write path (services, bulk
imports, the bench's generator) keeps them right. Nothing happens on PostgreSQL.

Django's SQLite schema editor rebuilds a table for some ALTERs, which drops its triggers:
``bridgecrm.customers.search_index.ensure_sqlite_fts`` (run after every ``migrate``) puts them
back and rebuilds the index when that happened.
"""

from django.db import migrations

TABLES = (("customers_customer", "customers_customer_fts"), ("customers_contact", "customers_contact_fts"))


def create_sql(table: str, fts: str) -> list[str]:
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
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    ]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for table, fts in TABLES:
        for sql in create_sql(table, fts):
            schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for _table, fts in TABLES:
        for suffix in ("ai", "ad", "au"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
        schema_editor.execute(f"DROP TABLE IF EXISTS {fts}")


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_follow_up_dates")]
    operations = [migrations.RunPython(create, drop, elidable=False)]
