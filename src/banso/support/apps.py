from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupportConfig(AppConfig):
    name = "banso.support"
    label = "support"
    verbose_name = _("Support desk")

    def ready(self) -> None:
        from . import registry

        registry.register()
