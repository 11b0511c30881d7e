"""Background tasks of the push area: a campaign's send (queued by "send now" or the scheduler's minute job)
and the results sync."""

from django.utils import timezone
from django_tasks import task


@task()
def send_campaign(run_id: int) -> str:
    from . import push

    push.run_send(run_id)
    return f"send run {run_id} done"


@task()
def sync_push_results() -> str:
    from . import push

    return f"{push.sync_results(timezone.now())} delivery result(s) updated"
