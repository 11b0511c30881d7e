"""What the success app adds to shared parts at start-up: its Account 360 card, its scorecard measures and
the scheduler's jobs (next month's coverage plan on the plan day, the daily renewal sync)."""


def register() -> None:
    """Called from SuccessConfig.ready()."""
    from banso.accounts.panels import AccountPanel, register_account_panel
    from banso.core.permissions import Capability
    from banso.core.schedule import ScheduledJob, register_job
    from banso.health.measures import register_source

    from . import measures, panels, plans, renewals

    register_source(measures.source())
    register_account_panel(AccountPanel("success/_account_card.html", Capability.VIEW_ACCOUNTS, panels.account_card))
    register_job(ScheduledJob("success.coverage_plan", plans.due))
    register_job(ScheduledJob("success.renewal_sync", renewals.scheduled_job))
