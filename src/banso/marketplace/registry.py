"""What the marketplace adds to shared parts at start-up: import specs (bookings, providers, incidents),
the scheduled rule evaluation, the Account 360 card. Each area module exposes `register()` and is listed here."""

# Dotted module names of banso.marketplace areas whose register() runs at start-up.
REGISTRATIONS: list[str] = ["importing", "rules", "panels"]


def register() -> None:
    """Called from MarketplaceConfig.ready()."""
    from importlib import import_module

    for name in REGISTRATIONS:
        import_module(f"banso.marketplace.{name}").register()
