from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "bridgecrm.activities"
    label = "activities"
    verbose_name = _("Follow-ups and tasks")

    def ready(self) -> None:
        from bridgecrm.core.audit import register_audited

        register_audited("activities.FollowUp", "activities.Task")
