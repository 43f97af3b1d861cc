"""Administrators may set the base currency and exchange rates (capability company.manage)."""

from django.db import migrations


def grant(apps, schema_editor):
    Role = apps.get_model("users", "Role")
    RolePermission = apps.get_model("users", "RolePermission")
    for role in Role.objects.filter(code="admin"):
        RolePermission.objects.get_or_create(role=role, capability="company.manage")


def revoke(apps, schema_editor):
    apps.get_model("users", "RolePermission").objects.filter(capability="company.manage").delete()


class Migration(migrations.Migration):
    dependencies = [("users", "0002_default_roles")]
    operations = [migrations.RunPython(grant, revoke)]
