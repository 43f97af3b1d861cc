"""On PostgreSQL, trigram indexes serve the list's substring search on customer and contact names.

Django's ``icontains`` compares ``UPPER(name)`` with ``UPPER(%s)``, so the indexes are on that
expression. SQLite has no such index; there the search reads the (filtered) table.
"""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS customer_name_trgm ON customers_customer USING gin (UPPER(name) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS contact_name_trgm ON customers_contact USING gin (UPPER(name) gin_trgm_ops);
"""
DROP = """
DROP INDEX IF EXISTS customer_name_trgm;
DROP INDEX IF EXISTS contact_name_trgm;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_customers_contacts_saved_views")]
    operations = [migrations.RunPython(create, drop)]
