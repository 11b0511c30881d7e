"""Background matching: a month of 200,000 charges takes about a minute (measured on PostgreSQL), longer than a
page should wait, so the page and the API queue it for the worker above `INLINE_MAX_CHARGES`."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from . import reconcile
from .models import ProcessorKind, ProcessorTransaction

INLINE_MAX_CHARGES = 20_000


def needs_worker(month: dt.date | None) -> bool:
    charges = ProcessorTransaction.objects.filter(kind=ProcessorKind.CHARGE)
    if month is not None:
        start, end = reconcile.month_bounds(month)
        charges = charges.filter(occurred_at__gte=start, occurred_at__lt=end)
    return charges[INLINE_MAX_CHARGES : INLINE_MAX_CHARGES + 1].exists()


@task()
def match_task(month: str | None) -> int:
    """Match one month (ISO date of its first day) or every month; returns the items written."""
    return reconcile.match(dt.date.fromisoformat(month) if month else None).items
