from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "bridgecrm.activities"
    label = "activities"
    verbose_name = _("Follow-ups and tasks")

    def ready(self) -> None:
        from bridgecrm.activities import selectors
        from bridgecrm.core.audit import register_audited
        from bridgecrm.core.timeline import register_customer_timeline

        register_audited("activities.FollowUp", "activities.Task")
        register_customer_timeline("follow_up", selectors.follow_up_timeline)
        register_customer_timeline("task", selectors.task_timeline)
