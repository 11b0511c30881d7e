"""What the billing app adds to shared parts at start-up (scheduled jobs, Account 360 cards)."""


def register() -> None:
    """Called from BillingConfig.ready()."""
    from . import immutability, newsletters

    newsletters.register()
    immutability.register()
