from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SuccessConfig(AppConfig):
    name = "banso.success"
    label = "success"
    verbose_name = _("Success operations")

    def ready(self) -> None:
        from . import registry

        registry.register()
