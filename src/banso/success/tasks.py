"""Background work of the success app: the worker runs a queued coverage-plan generation."""

from django_tasks import task

from .models import PlanRun
from .plans import run_generation


@task()
def generate_plan_task(run_id: int) -> str:
    """Run one queued generation; its progress and outcome are recorded on the run."""
    run, claimed = PlanRun.claim(run_id)
    if not claimed:
        return run.status
    return run_generation(run).status
