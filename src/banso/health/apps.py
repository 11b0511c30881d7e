from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HealthConfig(AppConfig):
    name = "banso.health"
    label = "health"
    verbose_name = _("Health")

    def ready(self) -> None:
        from banso.accounts.panels import AccountPanel, register_account_panel
        from banso.core.permissions import Capability
        from banso.core.schedule import ScheduledJob, register_job

        from . import services
        from .panels import account_card
        from .sources import register_builtin_sources

        register_builtin_sources()
        register_account_panel(AccountPanel("health/_account_card.html", Capability.VIEW_ACCOUNTS, account_card))
        register_job(ScheduledJob("health.rescore", services.scheduled_job))

        from .surveys import register_survey_parts

        register_survey_parts()
