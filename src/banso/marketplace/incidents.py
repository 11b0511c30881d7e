"""Provider incidents: recording, confirming, dismissing, and counting them in rolling windows.

Window semantics (every count in the marketplace uses `in_window`): an incident counts for a window of N days
evaluated at `now` when it is confirmed and `now - N days <= occurred_at <= now` — both ends inclusive, exact
to the microsecond, independent of the time zone. An incident recorded for the future does not count yet."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import QuerySet

from .models import Incident, IncidentStatus


def in_window(
    now: dt.datetime,
    window_days: int,
    *,
    incident_types: Iterable[str] = (),
    min_severity: int = 0,
    queryset: QuerySet[Incident] | None = None,
) -> QuerySet[Incident]:
    """Confirmed incidents that occurred in the `window_days` days up to `now` (see the module docstring)."""
    qs = (queryset if queryset is not None else Incident.objects.all()).filter(
        status=IncidentStatus.CONFIRMED,
        occurred_at__gte=now - dt.timedelta(days=window_days),
        occurred_at__lte=now,
    )
    types = list(incident_types)
    if types:
        qs = qs.filter(type__in=types)
    if min_severity:
        qs = qs.filter(severity__gte=min_severity)
    return qs
