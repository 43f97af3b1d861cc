from django.db import migrations


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    """The pool's one rules row, with the model's defaults (reading the rules never writes)."""
    apps.get_model("pool", "PoolRules").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("pool", "0001_pool_rules_and_events")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
