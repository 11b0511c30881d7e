"""Special-rate switches on time: the scheduler's minute job queues `apply_due_switches` whenever a switch is
due (00:00 Tokyo on the 1st is the busy minute), and the worker applies them through `rates.apply_due`."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from . import rates
from .models import SpecialRate, SpecialRateStatus


@task()
def apply_due_switches() -> str:
    applied = rates.apply_due(timezone.now(), via="scheduler")
    return f"{len(applied)} special-rate switches applied"


def work_waiting(now: dt.datetime) -> bool:
    """A start or end is due and not yet applied (two indexed probes)."""
    return SpecialRate.objects.filter(
        Q(status=SpecialRateStatus.SCHEDULED, starts_at__lte=now)
        | Q(status__in=(SpecialRateStatus.SCHEDULED, SpecialRateStatus.ACTIVE), ends_at__lte=now)
    ).exists()


def due_job(now: dt.datetime) -> str | None:
    """Every minute: queue the switch task unless one is queued or running, when a switch is due."""
    if not work_waiting(now):
        return None
    from banso.core.schedule import enqueue_unless_pending

    if not enqueue_unless_pending(apply_due_switches, now, stale_after=dt.timedelta(minutes=10)):
        return None
    return "campaigns: special-rate switches queued"


def register() -> None:
    """From campaigns.registry: the scheduler's minute-by-minute switch check."""
    from banso.core.schedule import ScheduledJob, register_job

    register_job(ScheduledJob("campaigns.rate_switches", due_job))
