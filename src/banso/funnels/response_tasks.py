"""The first-response sync as a background task: what the scheduler queues when a backlog of events (a large
import, the first sync after the demo) is too big to read inside its one-minute tick."""

from django_tasks import task

from . import responses


@task()
def sync_responses() -> str:
    """Sync every funnel until no events are left."""
    total = responses.sync_all(max_events=None)
    return f"{total.events} events, {total.created} new applicants, {total.updated} updated"
