"""Background recompute: the worker runs a queued AnalyticsRun."""

from django_tasks import task

from .models import AnalyticsRun, RunStatus
from .services import run_recompute


@task()
def recompute(run_id: int) -> str:
    """Run one queued recompute; its progress and outcome are recorded on the run."""
    # Claim the run in one UPDATE: of two deliveries of the same task, only one gets to run it.
    claimed = AnalyticsRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(status=RunStatus.RUNNING)
    run = AnalyticsRun.objects.get(pk=run_id)
    if not claimed:
        return run.status
    return run_recompute(run).status
