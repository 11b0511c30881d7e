"""Daily and periodic jobs that apps register, checked by the one scheduler process (`banso analytics scheduler`).

Apps depend downward only, so the scheduler cannot import health or churn. Instead each app registers a
job from its AppConfig.ready(): a function that, given the current time, queues the job's work if it is
due (idempotently: several schedulers may ask at once) and returns a line saying what it queued, or None.
Jobs run in registration order, so a job that needs another's results (the health rescore after the
analytics recompute) checks for them itself and waits for a later tick.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    due: Callable[[dt.datetime], str | None]


_JOBS: dict[str, ScheduledJob] = {}


def register_job(job: ScheduledJob) -> None:
    """Add (or replace, by name) a job the scheduler checks on every tick."""
    _JOBS[job.name] = job


def scheduled_jobs() -> list[ScheduledJob]:
    return list(_JOBS.values())


def enqueue_unless_pending(task: Any, now: dt.datetime, *, stale_after: dt.timedelta) -> bool:
    """Queue `task` (a django-tasks task) unless one is already queued or running: a job ticking every
    minute must not pile up copies behind a long run. A run marked running for longer than `stale_after`
    belonged to a worker that died, so it does not hold a new one back. True when queued."""
    from django.db.models import Q
    from django_tasks_db.models import DBTaskResult

    pending = DBTaskResult.objects.filter(task_path=task.module_path).filter(
        Q(status="READY") | Q(status="RUNNING", started_at__gte=now - stale_after)
    )
    if pending.exists():
        return False
    task.enqueue()
    return True
