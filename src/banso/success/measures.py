"""Touch measures for health scorecards (`success:days_since_touch`, `success:touches_90d`,
`success:appointments_90d`): the contact-frequency side of an account's health, as of any day, for all
accounts in one grouped query."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import polars as pl
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from banso.health.measures import MeasureOption, MeasureSource

from .models import Touch, TouchOutcome
from .services import local_midnight

WINDOW_DAYS = 90


def options() -> list[MeasureOption]:
    category = _("Touches")
    return [
        MeasureOption("days_since_touch", _("Days since the last touch"), _("days"), False, category),
        MeasureOption("touches_90d", _("Touches in the last 90 days"), _("touches"), True, category),
        MeasureOption("appointments_90d", _("Appointments set in the last 90 days"), _("touches"), True, category),
    ]


def values(keys: Sequence[str], day: dt.date, account_ids: Sequence[int] | None) -> pl.DataFrame:
    """One row per touched account as of the end of `day`; an account never touched has no data."""
    end = local_midnight(day + dt.timedelta(days=1))
    since = local_midnight(day - dt.timedelta(days=WINDOW_DAYS - 1))
    touches = Touch.objects.filter(occurred_at__lt=end)
    if account_ids is not None:
        touches = touches.filter(account_id__in=list(account_ids))
    rows = touches.values("account_id").annotate(
        last=Max("occurred_at"),
        recent=Count("id", filter=Q(occurred_at__gte=since)),
        appointments=Count("id", filter=Q(occurred_at__gte=since, outcome=TouchOutcome.APPOINTMENT)),
    )
    data: dict[str, list[Any]] = {"account_id": [], "days_since_touch": [], "touches_90d": [], "appointments_90d": []}
    for row in rows.values_list("account_id", "last", "recent", "appointments"):
        data["account_id"].append(row[0])
        data["days_since_touch"].append(float((day - timezone.localdate(row[1])).days))
        data["touches_90d"].append(float(row[2]))
        data["appointments_90d"].append(float(row[3]))
    frame = pl.DataFrame(data, schema={k: (pl.Int64 if k == "account_id" else pl.Float64) for k in data})
    return frame.select("account_id", *[pl.col(k) if k in data else pl.lit(None, pl.Float64).alias(k) for k in keys])


def source() -> MeasureSource:
    return MeasureSource("success", _("Touches"), options, values)
