from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "bridgecrm.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from bridgecrm.core.audit import register_audited

        register_audited("customers.Customer", "customers.Contact")
