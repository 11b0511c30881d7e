"""Background churn-risk work: the worker carries out a queued training or prediction run."""

from django_tasks import task

from .models import RiskRun
from .risk import execute


@task()
def run_risk(run_id: int) -> str:
    """Carry out one queued risk run; its progress and outcome are recorded on the run."""
    run, claimed = RiskRun.claim(run_id)
    if not claimed:
        return run.status
    return execute(run).status
