"""Background work of trigger evaluation: the worker runs a queued evaluation (scheduled hourly, or asked for
with "evaluate now" and the API)."""

from django_tasks import task

from . import triggers
from .models import TriggerRun


@task()
def evaluate_triggers_task(run_id: int) -> str:
    """Run one queued evaluation; its progress, counts and outcome are recorded on the run."""
    run, claimed = TriggerRun.claim(run_id)
    if not claimed:
        return run.status
    return triggers.run_evaluation(run).status
