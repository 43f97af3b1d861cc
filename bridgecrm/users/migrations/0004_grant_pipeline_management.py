"""Administrators may configure products, pipelines, stages and lost reasons (capability pipeline.manage)."""

from django.db import migrations


def grant(apps, schema_editor):
    Role = apps.get_model("users", "Role")
    RolePermission = apps.get_model("users", "RolePermission")
    for role in Role.objects.filter(code="admin"):
        RolePermission.objects.get_or_create(role=role, capability="pipeline.manage")


def revoke(apps, schema_editor):
    apps.get_model("users", "RolePermission").objects.filter(capability="pipeline.manage").delete()


class Migration(migrations.Migration):
    dependencies = [("users", "0003_grant_company_management")]
    operations = [migrations.RunPython(grant, revoke)]
