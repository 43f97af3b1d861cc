from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TiersConfig(AppConfig):
    name = "bridgecrm.tiers"
    label = "tiers"
    verbose_name = _("Customer tiers and follow-up routines")

    def ready(self) -> None:
        from bridgecrm.core.audit import register_audited
        from bridgecrm.core.choices import CUSTOMER_TIER, register_choices
        from bridgecrm.core.timeline import register_customer_timeline
        from bridgecrm.tiers import selectors

        register_audited("tiers.TierModel", "tiers.Tier", "tiers.ManualTier")
        register_customer_timeline("tier", selectors.tier_timeline)
        register_choices(CUSTOMER_TIER, selectors.tier_choices)
