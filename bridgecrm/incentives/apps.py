from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncentivesConfig(AppConfig):
    name = "bridgecrm.incentives"
    label = "incentives"
    verbose_name = _("Commissions, bonuses and promotion")

    def ready(self) -> None:
        from bridgecrm.core.audit import register_audited
        from bridgecrm.incentives import notifications

        notifications.register()

        register_audited(
            "incentives.CommissionPlan",
            "incentives.PlanAssignment",
            "incentives.BonusRule",
            "incentives.PromotionCriterion",
            "incentives.Statement",
        )
