from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PipelineConfig(AppConfig):
    name = "bridgecrm.pipeline"
    label = "pipeline"
    verbose_name = _("Pipeline")

    def ready(self) -> None:
        from bridgecrm.core.audit import register_audited

        register_audited("pipeline.Product", "pipeline.Pipeline", "pipeline.Stage", "pipeline.LostReason")
