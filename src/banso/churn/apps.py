from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChurnConfig(AppConfig):
    name = "banso.churn"
    label = "churn"
    verbose_name = _("Churn")

    def ready(self) -> None:
        from banso.accounts.panels import AccountPanel, register_account_panel
        from banso.core.permissions import Capability

        from .panels import account_card

        register_account_panel(AccountPanel("churn/_account_card.html", Capability.VIEW_ACCOUNTS, account_card))
