from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomizationConfig(AppConfig):
    name = "bridgecrm.customization"
    label = "customization"
    verbose_name = _("Custom fields")

    def ready(self) -> None:
        from bridgecrm.core.audit import register_audited

        register_audited("customization.FieldDefinition")
