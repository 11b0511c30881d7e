"""Background rescore: the worker runs a queued HealthRun."""

from django_tasks import task

from .models import HealthRun, RunStatus
from .services import run_rescore


@task()
def rescore_task(run_id: int) -> str:
    """Run one queued rescore; its progress and outcome are recorded on the run."""
    # Claim the run in one UPDATE: of two deliveries of the same task, only one gets to run it.
    claimed = HealthRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(status=RunStatus.RUNNING)
    run = HealthRun.objects.get(pk=run_id)
    if not claimed:
        return run.status
    return run_rescore(run).status
