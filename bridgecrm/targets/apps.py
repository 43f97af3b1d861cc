from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TargetsConfig(AppConfig):
    name = "bridgecrm.targets"
    label = "targets"
    verbose_name = _("Sales targets and sales plans")

    def ready(self) -> None:
        from bridgecrm.core.audit import register_audited
        from bridgecrm.targets import notifications

        notifications.register()

        register_audited("targets.Target", "targets.SalesPlan", "targets.PlanPhase", "targets.Milestone")
