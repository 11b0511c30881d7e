"""What the support app adds to shared parts at start-up: scheduler jobs (SLA breach checks, mail polling,
classifier training), Account 360 cards. Each area module exposes `register()` and is listed here."""

# Dotted module names of banso.support areas whose register() runs at start-up.
REGISTRATIONS: list[str] = ["classify", "sla", "chat", "panels", "marketplace_link"]


def register() -> None:
    """Called from SupportConfig.ready()."""
    from importlib import import_module

    for name in REGISTRATIONS:
        import_module(f"banso.support.{name}").register()
