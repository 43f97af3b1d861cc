"""GIN indexes (jsonb_path_ops) on the ``custom`` columns of customers, contacts and deals, so that
equality filters written ``custom @> '{"key": value}'`` read an index on PostgreSQL. SQLite has no
such index; it filters with json_extract."""

from django.db import migrations

TABLES = ("customers_customer", "customers_contact", "pipeline_deal")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {table}_custom_gin ON {table} USING gin (custom jsonb_path_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {table}_custom_gin")


class Migration(migrations.Migration):
    dependencies = [
        ("customization", "0001_field_definitions"),
        ("customers", "0005_customer_operations"),
        ("pipeline", "0004_deal_custom_fields"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
