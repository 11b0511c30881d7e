from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlaybooksConfig(AppConfig):
    name = "banso.playbooks"
    label = "playbooks"
    verbose_name = _("Playbooks & tasks")

    def ready(self) -> None:
        from . import registry

        registry.register()
