"""Product cost and deal margin are sensitive: administrators and managers see and set them."""

from django.db import migrations

CAPABILITY = "products.view_cost"


def grant(apps, schema_editor):
    Role = apps.get_model("users", "Role")
    RolePermission = apps.get_model("users", "RolePermission")
    for role in Role.objects.filter(code__in=("admin", "manager")):
        RolePermission.objects.get_or_create(role=role, capability=CAPABILITY)


def revoke(apps, schema_editor):
    apps.get_model("users", "RolePermission").objects.filter(capability=CAPABILITY).delete()


class Migration(migrations.Migration):
    dependencies = [("users", "0006_grant_performance")]
    operations = [migrations.RunPython(grant, revoke)]
