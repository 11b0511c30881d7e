"""Background rescore: the worker runs a queued HealthRun."""

from django_tasks import task

from .models import HealthRun
from .services import run_rescore


@task()
def rescore_task(run_id: int) -> str:
    """Run one queued rescore; its progress and outcome are recorded on the run."""
    run, claimed = HealthRun.claim(run_id)
    if not claimed:
        return run.status
    return run_rescore(run).status
