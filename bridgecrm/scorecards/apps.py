from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScorecardsConfig(AppConfig):
    name = "bridgecrm.scorecards"
    label = "scorecards"
    verbose_name = _("Scorecards and evaluations")

    def ready(self) -> None:
        from bridgecrm.scorecards import notifications
        from bridgecrm.scorecards.metrics import register_target_measures

        notifications.register()
        register_target_measures()
