"""Background imports: the worker runs a queued import job from its stored file."""

from django_tasks import task

from .models import ImportJob, ImportStatus
from .services import run_job


@task()
def run_import(job_id: int) -> str:
    """Run one queued import; its progress and outcome are recorded on the job."""
    # Claim the job in one UPDATE: of two deliveries of the same task, only one gets to run it.
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(status=ImportStatus.RUNNING)
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if not claimed:
        return job.status
    return run_job(job).status
