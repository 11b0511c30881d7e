"""Background work of client reports: the worker generates a queued batch (a CSM's clients, or all)."""

from django_tasks import task

from . import reports
from .models import ReportBatch


@task()
def generate_reports_task(batch_id: int) -> str:
    """Generate one queued batch; a second delivery of the same task does nothing."""
    batch, claimed = ReportBatch.claim(batch_id)
    if not claimed:
        return batch.status
    return reports.run_batch(batch).status
