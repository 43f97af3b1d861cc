from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UsersConfig(AppConfig):
    name = "bridgecrm.users"
    label = "users"
    verbose_name = _("Users and teams")

    def ready(self) -> None:
        from bridgecrm.core.audit import register_audited

        register_audited("users.User", "users.Team", "users.Role", "core.ExchangeRate", "core.CompanyProfile")
