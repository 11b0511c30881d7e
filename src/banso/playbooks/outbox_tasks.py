"""The outbox's background task: the scheduler's fallback when the `banso playbooks outbox work` loop is not
running (see outbox.py)."""

from django_tasks import task

from . import outbox


@task()
def deliver_outbox() -> str:
    """Deliver what is due until nothing is left or the budget is spent."""
    return str(outbox.drain())
