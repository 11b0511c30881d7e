"""What the funnels app adds to shared parts at start-up: the scheduler's jobs (the nightly funnel
computation, staleness checks, first-response sync) and its Account 360 card."""


def register() -> None:
    """Called from FunnelsConfig.ready()."""
    from . import responses

    responses.register()
    from . import computing

    computing.register()
    from . import staleness

    staleness.register()
    from . import presenting

    presenting.register()
