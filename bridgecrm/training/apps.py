from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrainingConfig(AppConfig):
    name = "bridgecrm.training"
    label = "training"
    verbose_name = _("Training, coaching and know-how")

    def ready(self) -> None:
        from bridgecrm.core.audit import register_audited
        from bridgecrm.training import notifications

        notifications.register()

        register_audited(
            "training.TrainingCourse",
            "training.TrainingSession",
            "training.Enrollment",
            "training.CoachingPlan",
            "training.Article",
        )
