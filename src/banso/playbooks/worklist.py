"""Tasks tracked to completion: creating them by hand, moving them through their statuses, checklists,
comments, delegation to an assistant with the intent kept, who sees which tasks, and the numbers
(completion rate, time to complete, overdue) per playbook and per person."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable
from typing import TypedDict

from django.db.models import Q
from django.utils import timezone

from .models import OPEN_TASK_STATUSES, Task, TaskStatus


class TaskStats(TypedDict):
    tasks: int
    done: int
    completion_rate: float | None
    median_hours_to_complete: float | None
    overdue: int


def today() -> dt.date:
    return timezone.localdate()


def _stats(group: str, ids: Iterable[int], day: dt.date | None) -> dict[int, TaskStats]:
    """Per value of `group` (a Task foreign key): tasks not cancelled, done, done / tasks, the median hours
    from creation to completion of the done ones, and open tasks past their due date."""
    wanted = list(dict.fromkeys(ids))
    day = day or today()
    out: dict[int, TaskStats] = {
        i: {"tasks": 0, "done": 0, "completion_rate": None, "median_hours_to_complete": None, "overdue": 0}
        for i in wanted
    }
    hours: dict[int, list[float]] = defaultdict(list)
    rows = (
        Task.objects.filter(**{f"{group}__in": wanted})
        .exclude(status=TaskStatus.CANCELLED)
        .values_list(group, "status", "due_on", "created_at", "completed_at")
    )
    for key, status, due_on, created_at, completed_at in rows.iterator(chunk_size=5000):
        entry = out[key]
        entry["tasks"] += 1
        if status == TaskStatus.DONE:
            entry["done"] += 1
            if completed_at is not None:
                hours[key].append((completed_at - created_at).total_seconds() / 3600)
        elif due_on is not None and due_on < day:
            entry["overdue"] += 1
    for key, entry in out.items():
        if entry["tasks"]:
            entry["completion_rate"] = entry["done"] / entry["tasks"]
        if hours[key]:
            entry["median_hours_to_complete"] = round(statistics.median(hours[key]), 1)
    return out


def playbook_task_stats(playbook_ids: Iterable[int], day: dt.date | None = None) -> dict[int, TaskStats]:
    """Per playbook id: {"tasks", "done", "completion_rate" (0..1, None without tasks),
    "median_hours_to_complete" (None before any is done), "overdue"}. Cancelled tasks do not count."""
    return _stats("playbook_id", playbook_ids, day)


def person_task_stats(user_ids: Iterable[int], day: dt.date | None = None) -> dict[int, TaskStats]:
    """The same numbers per task owner (the person accountable, whoever the task was delegated to)."""
    return _stats("owner_id", user_ids, day)


def overdue_filter(day: dt.date | None = None) -> Q:
    return Q(status__in=OPEN_TASK_STATUSES, due_on__lt=day or today())
