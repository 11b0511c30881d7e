"""What the playbooks app adds to shared parts at start-up: the scheduler's jobs (trigger evaluation, due
playbook steps, overdue-task alerts, outbox delivery) and the Account 360 card.

Each piece registers itself from its own module's `register()` so parallel work does not collide here."""


def register() -> None:
    """Called from PlaybooksConfig.ready()."""
    from . import task_alerts

    task_alerts.register()
    from . import outbox

    outbox.register()
    from . import runs

    runs.register()
    from . import triggers

    triggers.register()
