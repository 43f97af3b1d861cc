from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TiersConfig(AppConfig):
    name = "bridgecrm.tiers"
    label = "tiers"
    verbose_name = _("Customer tiers and follow-up routines")
