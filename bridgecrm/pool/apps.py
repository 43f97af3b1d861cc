from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoolConfig(AppConfig):
    name = "bridgecrm.pool"
    label = "pool"
    verbose_name = _("Public pool")

    def ready(self) -> None:
        from bridgecrm.core.audit import register_audited
        from bridgecrm.core.timeline import register_customer_timeline
        from bridgecrm.pool import selectors

        register_audited("pool.PoolRules")
        register_customer_timeline("pool", selectors.pool_timeline)
