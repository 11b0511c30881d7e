from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FunnelsConfig(AppConfig):
    name = "banso.funnels"
    label = "funnels"
    verbose_name = _("Client funnels")

    def ready(self) -> None:
        from . import registry

        registry.register()
