"""The SLA breach check as a background task: what the scheduler's minute job queues (support.sla.due_job)."""

from django.utils import timezone
from django_tasks import task

from . import sla


@task()
def check_sla_breaches() -> str:
    breached, warned = sla.check_breaches(timezone.now())
    return f"{breached} targets breached, {warned} warnings sent"
