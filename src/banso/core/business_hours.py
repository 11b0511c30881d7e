"""Business hours: minutes counted only inside the working ranges of Japanese business days (Asia/Tokyo), for
first-response targets and support SLAs. Split shifts (a lunch break) are several ranges of one day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .calendar import closed_days, is_business_day

TOKYO = ZoneInfo("Asia/Tokyo")
DEFAULT_RANGES: tuple[tuple[dt.time, dt.time], ...] = ((dt.time(9), dt.time(12)), (dt.time(13), dt.time(18)))
# add_minutes looks this far ahead for closed days at a time (a long holiday season fits in one window).
_WINDOW_DAYS = 60


def _parse_time(value: object) -> dt.time:
    if isinstance(value, dt.time):
        return value
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(_("%(value)s is not a time of day (HH:MM).") % {"value": value}) from None


@dataclass(frozen=True)
class BusinessHours:
    """The working ranges of a business day, e.g. 9:00–12:00 and 13:00–18:00 (ordered, not overlapping)."""

    ranges: Sequence[tuple[dt.time, dt.time]] = field(default=DEFAULT_RANGES)

    def __post_init__(self) -> None:
        ranges = tuple((_parse_time(start), _parse_time(end)) for start, end in self.ranges)
        if not ranges:
            raise ValidationError(_("Business hours need at least one range."))
        previous_end: dt.time | None = None
        for start, end in ranges:
            if start >= end:
                raise ValidationError(
                    _("A range must start before it ends (%(start)s–%(end)s).")
                    % {"start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}
                )
            if previous_end is not None and start < previous_end:
                raise ValidationError(_("Ranges must be in order and must not overlap."))
            previous_end = end
        object.__setattr__(self, "ranges", ranges)

    @classmethod
    def from_json(cls, value: object) -> BusinessHours:
        """From a model's JSON ([["09:00", "12:00"], ...]); empty means the default hours."""
        if not value:
            return cls()
        if not isinstance(value, list) or not all(isinstance(pair, list | tuple) and len(pair) == 2 for pair in value):
            raise ValidationError(_('Business hours are a list of [start, end] pairs, e.g. [["09:00", "18:00"]].'))
        return cls([(start, end) for start, end in value])

    def to_json(self) -> list[list[str]]:
        return [[f"{start:%H:%M}", f"{end:%H:%M}"] for start, end in self.ranges]

    @property
    def day_minutes(self) -> int:
        """Business minutes in one full business day."""
        return sum((_seconds(end) - _seconds(start)) // 60 for start, end in self.ranges)

    def _spans(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        return [
            (dt.datetime.combine(day, start, TOKYO), dt.datetime.combine(day, end, TOKYO)) for start, end in self.ranges
        ]

    def minutes_between(self, start: dt.datetime, end: dt.datetime, closed: set[dt.date] | None = None) -> int:
        """Whole business minutes in [start, end) (0 when end is not after start). `closed`: the company's
        closed days covering the span, if the caller has them already (else they are read once)."""
        if end <= start:
            return 0
        start, end = start.astimezone(TOKYO), end.astimezone(TOKYO)
        first, last = start.date(), end.date()
        if closed is None:
            closed = closed_days(first, last)
        seconds = 0.0
        full_day = self.day_minutes * 60
        day = first
        while day <= last:
            if is_business_day(day, closed):
                if first < day < last:
                    seconds += full_day
                else:
                    for open_at, close_at in self._spans(day):
                        overlap = (min(close_at, end) - max(open_at, start)).total_seconds()
                        if overlap > 0:
                            seconds += overlap
            day += dt.timedelta(days=1)
        return int(seconds // 60)

    def add_minutes(self, start: dt.datetime, minutes: int, closed: set[dt.date] | None = None) -> dt.datetime:
        """The earliest instant by which `minutes` business minutes have passed since `start` (the deadline)."""
        if minutes <= 0:
            return start
        local = start.astimezone(TOKYO)
        remaining = dt.timedelta(minutes=minutes)
        day = local.date()
        window_end = day - dt.timedelta(days=1)
        while True:
            if day > window_end:
                window_end = day + dt.timedelta(days=_WINDOW_DAYS)
                window_closed = closed if closed is not None else closed_days(day, window_end)
            if is_business_day(day, window_closed):
                for open_at, close_at in self._spans(day):
                    begin = max(open_at, local)
                    if begin >= close_at:
                        continue
                    available = close_at - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(dt.UTC)
                    remaining -= available
            day += dt.timedelta(days=1)


def _seconds(value: dt.time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second
