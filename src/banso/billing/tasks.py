"""Background work of the billing app: the worker closes a queued month."""

from django_tasks import task

from .closing import run_queued
from .models import MonthClose


@task()
def close_month_task(run_id: int) -> str:
    """Close one queued month; its progress and outcome are recorded on the MonthClose."""
    run, claimed = MonthClose.claim(run_id)
    if not claimed:
        return run.status
    return run_queued(run).status


@task()
def write_documents_task(run_id: int) -> int:
    """Write the PDFs a closed month is still missing (the retry of a close whose documents failed)."""
    from .closing import retry_documents

    run = MonthClose.objects.get(pk=run_id)
    return retry_documents(run).documents
