from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContractsConfig(AppConfig):
    name = "bridgecrm.contracts"
    label = "contracts"
    verbose_name = _("Quotes, contracts and collections")

    def ready(self) -> None:
        from bridgecrm.core.audit import register_audited

        register_audited(
            "contracts.Quote", "contracts.Contract", "contracts.PaymentPlanLine", "contracts.Payment",
            "contracts.Refund", "contracts.DocumentSettings",
        )  # fmt: skip
        from bridgecrm.contracts.timeline_money import register_money_sources

        register_money_sources()
        from bridgecrm.contracts.selectors_quotes import customer_timeline_quotes
        from bridgecrm.core.timeline import register_customer_timeline

        register_customer_timeline("quote", customer_timeline_quotes)
