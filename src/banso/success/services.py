"""What every part of success operations shares: months as aware time ranges, and when each account was
last touched. Touch logging (`touches`), renewals (`renewals`), planning (`plans`, `planning`) and KPIs
(`kpis`) build on these."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Max, QuerySet
from django.utils import timezone

from banso.accounts.services import parse_month
from banso.core.calendar import month_start

from .models import Touch


def local_midnight(day: dt.date) -> dt.datetime:
    """The start of `day` in the current time zone (Asia/Tokyo), aware."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def month_range(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the Japanese calendar month containing `month`, as aware datetimes."""
    first = month_start(month)
    return local_midnight(first), local_midnight(month_start(first, 1))


def parse_month_param(text: str | None, default: dt.date | None = None) -> dt.date:
    """'2026-12' → 2026-12-01; anything else → the first of `default`'s month (today's by default)."""
    try:
        return parse_month(text or "")[0]
    except ValueError:
        return month_start(default or timezone.localdate())


def last_touches(
    account_ids: Iterable[int] | QuerySet[Any] | None = None, before: dt.datetime | None = None
) -> dict[int, dt.datetime]:
    """When each account was last touched (only accounts with a touch), optionally only touches before
    `before`. `account_ids` may be a queryset of ids (read as a subquery: no limit on how many)."""
    touches = Touch.objects.all()
    if isinstance(account_ids, QuerySet):
        touches = touches.filter(account_id__in=account_ids)
    elif account_ids is not None:
        touches = touches.filter(account_id__in=list(account_ids))
    if before is not None:
        touches = touches.filter(occurred_at__lt=before)
    return dict(touches.values("account_id").annotate(last=Max("occurred_at")).values_list("account_id", "last"))


def days_since(moment: dt.datetime | None, today: dt.date | None = None) -> int | None:
    """Whole days from `moment` (its local date) to `today`; None when never."""
    if moment is None:
        return None
    return ((today or timezone.localdate()) - timezone.localdate(moment)).days
