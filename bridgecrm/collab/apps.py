from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollabConfig(AppConfig):
    name = "bridgecrm.collab"
    label = "collab"
    verbose_name = _("Comments and followers")

    def ready(self) -> None:
        from bridgecrm.collab import selectors
        from bridgecrm.core.audit import register_audited
        from bridgecrm.core.timeline import register_customer_timeline

        register_audited("collab.Comment")
        register_customer_timeline("comment", selectors.comment_timeline)
