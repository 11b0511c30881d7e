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
