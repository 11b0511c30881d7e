from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "banso.billing"
    label = "billing"
    verbose_name = _("Merchant billing")

    def ready(self) -> None:
        from . import registry

        registry.register()
