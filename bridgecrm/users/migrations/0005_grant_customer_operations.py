"""Capabilities for customer operations: tiers, the public pool, duplicates, custom fields, import.

Administrators get all of them; managers may assign from the pool, merge duplicates and import."""

from django.db import migrations

ADMIN = ("tiers.manage", "pool.manage", "pool.assign", "customers.merge", "fields.manage", "data.import")
MANAGER = ("pool.assign", "customers.merge", "data.import")


def grant(apps, schema_editor):
    Role = apps.get_model("users", "Role")
    RolePermission = apps.get_model("users", "RolePermission")
    for code, capabilities in (("admin", ADMIN), ("manager", MANAGER)):
        for role in Role.objects.filter(code=code):
            for capability in capabilities:
                RolePermission.objects.get_or_create(role=role, capability=capability)


def revoke(apps, schema_editor):
    apps.get_model("users", "RolePermission").objects.filter(capability__in=ADMIN).delete()


class Migration(migrations.Migration):
    dependencies = [("users", "0004_grant_pipeline_management")]
    operations = [migrations.RunPython(grant, revoke)]
