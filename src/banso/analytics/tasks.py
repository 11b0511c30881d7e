"""Background recompute: the worker runs a queued AnalyticsRun."""

from django_tasks import task

from .models import AnalyticsRun
from .services import run_recompute


@task()
def recompute(run_id: int) -> str:
    """Run one queued recompute; its progress and outcome are recorded on the run."""
    run, claimed = AnalyticsRun.claim(run_id)
    if not claimed:
        return run.status
    return run_recompute(run).status
