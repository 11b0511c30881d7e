"""What the campaigns app adds to shared parts at start-up: import specs (offers, conversions), scheduled jobs
(special-rate switches, scheduled sends), outbox delivery hooks. Each area module exposes `register()` and is
listed here."""

# Dotted module names of banso.campaigns areas whose register() runs at start-up.
REGISTRATIONS: list[str] = ["rates_tasks", "importing", "conversions_import", "push"]


def register() -> None:
    """Called from CampaignsConfig.ready()."""
    from importlib import import_module

    for name in REGISTRATIONS:
        import_module(f"banso.campaigns.{name}").register()
