"""Capabilities for targets, plans, scorecards, incentives and training.

Administrators get all of them; managers set their teams' targets and plans, see their people's
targets, review evaluations, see commission statements, approve them and record training."""

from django.db import migrations

ADMIN = (
    "targets.manage",
    "targets.view_others",
    "scorecards.manage",
    "evaluations.review",
    "incentives.manage",
    "incentives.view_rates",
    "statements.approve",
    "training.manage",
)
MANAGER = (
    "targets.manage",
    "targets.view_others",
    "evaluations.review",
    "incentives.view_rates",
    "statements.approve",
    "training.manage",
)


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
    dependencies = [("users", "0005_grant_customer_operations")]
    operations = [migrations.RunPython(grant, revoke)]
