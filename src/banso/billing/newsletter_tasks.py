"""The newsletters' background task: queued by the scheduler's job when one is due, and by "send now"."""

from django_tasks import task

from . import newsletters


@task()
def send_due_newsletters() -> str:
    """Send every due newsletter (idempotent: a second run sends nobody a second copy)."""
    sent = newsletters.send_due()
    return f"{len(sent)} newsletter(s) sent"
