from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PipelineConfig(AppConfig):
    name = "bridgecrm.pipeline"
    label = "pipeline"
    verbose_name = _("Pipeline")

    def ready(self) -> None:
        from bridgecrm.core.audit import register_audited
        from bridgecrm.core.timeline import register_customer_timeline
        from bridgecrm.pipeline.timeline import deal_items

        register_audited(
            "pipeline.Product", "pipeline.Pipeline", "pipeline.Stage", "pipeline.LostReason", "pipeline.Deal"
        )
        register_customer_timeline("deal", deal_items)
