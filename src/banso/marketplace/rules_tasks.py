"""Background work of rule evaluation: the worker runs a queued evaluation (the daily 06:00 job, "evaluate now",
the API)."""

from django_tasks import task

from . import rules
from .models import EvaluationRun


@task()
def evaluate_rules_task(run_id: int) -> str:
    """Run one queued evaluation; its progress and counts are recorded on the run."""
    run, claimed = EvaluationRun.claim(run_id)
    if not claimed:
        return run.status
    return rules.run_evaluation(run).status
