"""What the success app adds to shared parts at start-up: Account 360 cards and the scheduler's jobs.
Each part registers itself here so `apps.py` stays one line."""


def register() -> None:
    """Called from SuccessConfig.ready(); the pieces below are added as the app grows."""
    from banso.health.measures import register_source

    from . import measures

    register_source(measures.source())

    from banso.core.schedule import ScheduledJob, register_job

    from . import plans

    register_job(ScheduledJob("success.coverage_plan", plans.due))

    from banso.accounts.panels import AccountPanel, register_account_panel
    from banso.core.permissions import Capability
    from banso.core.schedule import ScheduledJob, register_job

    from . import panels, renewals

    register_account_panel(AccountPanel("success/_account_card.html", Capability.VIEW_ACCOUNTS, panels.account_card))
    register_job(ScheduledJob("success.renewal_sync", renewals.scheduled_job))
