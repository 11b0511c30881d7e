"""Background churn-risk work: the worker carries out a queued training or prediction run."""

from django_tasks import task

from .models import RiskRun, RiskRunStatus
from .risk import execute


@task()
def run_risk(run_id: int) -> str:
    """Carry out one queued risk run; its progress and outcome are recorded on the run."""
    # Claim the run in one UPDATE: of two deliveries of the same task, only one gets to run it.
    claimed = RiskRun.objects.filter(pk=run_id, status=RiskRunStatus.QUEUED).update(status=RiskRunStatus.RUNNING)
    run = RiskRun.objects.get(pk=run_id)
    if not claimed:
        return run.status
    return execute(run).status
