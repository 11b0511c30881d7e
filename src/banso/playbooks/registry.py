"""What the playbooks app adds to shared parts at start-up: the scheduler's jobs (trigger evaluation, due
playbook steps, overdue-task alerts, outbox delivery) and its Account 360 cards.

Each piece registers itself from its own module's `register()`."""


def register() -> None:
    """Called from PlaybooksConfig.ready()."""
    from . import outbox, runs, task_alerts, triggers

    task_alerts.register()
    outbox.register()
    runs.register()
    triggers.register()
