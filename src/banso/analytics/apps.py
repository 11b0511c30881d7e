from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "banso.analytics"
    label = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        from banso.accounts.panels import AccountPanel, register_account_panel
        from banso.core.permissions import Capability

        from .panels import account_card

        register_account_panel(AccountPanel("analytics/_account_card.html", Capability.VIEW_ANALYTICS, account_card))
