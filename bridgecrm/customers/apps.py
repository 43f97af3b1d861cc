from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_search_index(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    from bridgecrm.customers.search_index import ensure_sqlite_fts

    ensure_sqlite_fts(using)


class CustomersConfig(AppConfig):
    name = "bridgecrm.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from bridgecrm.core.audit import register_audited

        register_audited("customers.Customer", "customers.Contact")
        from bridgecrm.core.timeline import register_customer_timeline
        from bridgecrm.customers.merge import timeline_source

        register_customer_timeline("merge", timeline_source)
        post_migrate.connect(_ensure_search_index, sender=self, dispatch_uid="customers_search_index")
