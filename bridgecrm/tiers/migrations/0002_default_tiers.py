"""The default tier model and tiers A/B/C/D with their follow-up routines (admins change them in the UI)."""

from django.db import migrations

DEFAULT_TIERS = [
    # code, English, Chinese, follow up every N days, visits at least, per
    ("A", "A · Key account", "A · 重点客户", 7, 2, "month"),
    ("B", "B · Growth", "B · 成长客户", 14, 1, "month"),
    ("C", "C · Standard", "C · 普通客户", 30, 1, "quarter"),
    ("D", "D · Low priority", "D · 低优先级客户", 60, 0, "quarter"),
]


def create_defaults(apps, schema_editor):
    Tier = apps.get_model("tiers", "Tier")
    TierModel = apps.get_model("tiers", "TierModel")
    if not TierModel.objects.exists():
        TierModel.objects.create()
    for position, (code, label_en, label_zh, every, visits, period) in enumerate(DEFAULT_TIERS):
        Tier.objects.get_or_create(
            code=code,
            defaults={
                "label_en": label_en,
                "label_zh": label_zh,
                "position": position,
                "follow_up_every_days": every,
                "min_visits": visits,
                "visit_period": period,
                "counted_kinds": [],
            },
        )


class Migration(migrations.Migration):
    dependencies = [("tiers", "0001_tiers_sop_history")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
