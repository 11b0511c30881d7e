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
        self._register_risk()

    def _register_risk(self) -> None:
        """The churn-risk model: its Account 360 card, the `churn:risk` scorecard measure, its schedule."""
        from banso.accounts.panels import AccountPanel, register_account_panel
        from banso.core.permissions import Capability
        from banso.core.schedule import ScheduledJob, register_job
        from banso.health.measures import MeasureOption, MeasureSource, register_source

        from . import risk
        from .risk_views import account_card

        register_account_panel(AccountPanel("churn/_risk_card.html", Capability.VIEW_ACCOUNTS, account_card))
        register_source(
            MeasureSource(
                "churn",
                _("Churn risk"),
                lambda: [
                    MeasureOption(
                        "risk", _("Churn probability (model)"), "%", higher_is_better=False, category=_("Churn risk")
                    )
                ],
                risk.measure_values,
            )
        )
        register_job(ScheduledJob("churn-risk", risk.due))
