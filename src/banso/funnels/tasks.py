"""Background work of the funnels app: the worker runs a queued funnel computation (nightly, or asked for
with "compute now" and the API)."""

from django_tasks import task

from . import computing
from .models import FunnelRun


@task()
def compute_funnel_task(run_id: int) -> str:
    """Run one queued computation; its progress, counts and outcome are recorded on the run."""
    run, claimed = FunnelRun.claim(run_id)
    if not claimed:
        return run.status
    return computing.run_computation(run).status
