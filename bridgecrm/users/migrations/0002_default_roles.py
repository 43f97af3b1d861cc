"""The three roles a fresh installation starts with. Later roles are rows added in the UI."""

from django.db import migrations

ROLES = [
    ("admin", "Administrator", "管理员"),
    ("manager", "Manager", "经理"),
    ("rep", "Sales rep", "销售代表"),
]
GRANTS = {
    "admin": ["records.view_all", "records.view_team", "users.manage", "teams.manage", "roles.manage",
              "audit.view_all", "api.use"],
    "manager": ["records.view_team", "api.use"],
    "rep": ["api.use"],
}


def create(apps, schema_editor):
    Role = apps.get_model("users", "Role")
    RolePermission = apps.get_model("users", "RolePermission")
    for code, name_en, name_zh in ROLES:
        role, _created = Role.objects.get_or_create(code=code, defaults={"name_en": name_en, "name_zh": name_zh,
                                                                          "is_system": True})
        for capability in GRANTS[code]:
            RolePermission.objects.get_or_create(role=role, capability=capability)


def remove(apps, schema_editor):
    apps.get_model("users", "Role").objects.filter(code__in=[c for c, _e, _z in ROLES]).delete()


class Migration(migrations.Migration):
    dependencies = [("users", "0001_initial")]
    operations = [migrations.RunPython(create, remove)]
