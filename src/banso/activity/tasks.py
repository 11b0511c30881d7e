"""Background imports: the worker runs a queued import job from its stored file."""

from django_tasks import task

from .models import ImportJob, ImportStatus
from .services import run_job


@task()
def run_import(job_id: int) -> str:
    """Run one queued import; its progress and outcome are recorded on the job."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.status != ImportStatus.QUEUED:
        return job.status  # already run (a task delivered twice must not import twice)
    return run_job(job).status
