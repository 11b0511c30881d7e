"""Japanese business days: weekends, national holidays (jpholiday, with substitute and citizens'
holidays) and the company's own closed days from `ClosedDay`."""

from datetime import date, timedelta
from functools import lru_cache

import jpholiday


@lru_cache(maxsize=4096)
def _is_national_holiday(day: date) -> bool:
    return jpholiday.is_holiday(day)


def closed_days(start: date, end: date) -> set[date]:
    from .models import ClosedDay

    return set(ClosedDay.objects.filter(date__range=(start, end)).values_list("date", flat=True))


def is_business_day(day: date, closed: set[date] | None = None) -> bool:
    if day.weekday() >= 5 or _is_national_holiday(day):
        return False
    if closed is None:
        closed = closed_days(day, day)
    return day not in closed


def add_business_days(day: date, n: int) -> date:
    """The n-th business day after `day` (n=0: `day` itself if a business day, else the next one)."""
    step = 1 if n >= 0 else -1
    horizon = day + timedelta(days=step * (abs(n) * 3 + 30))
    closed = closed_days(min(day, horizon), max(day, horizon))
    current = day
    if n == 0:
        while not is_business_day(current, closed):
            current += timedelta(days=1)
        return current
    remaining = abs(n)
    while remaining:
        current += timedelta(days=step)
        if is_business_day(current, closed):
            remaining -= 1
    return current


def business_days_between(start: date, end: date) -> list[date]:
    """Business days in [start, end]."""
    closed = closed_days(start, end)
    days = (end - start).days + 1
    return [d for d in (start + timedelta(days=i) for i in range(max(days, 0))) if is_business_day(d, closed)]


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier); days past a month's end fall on its last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month0 = divmod(index, 12)
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month0 + 1, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def month_start(day: date, months: int = 0) -> date:
    """The first day of `day`'s month, moved by `months`."""
    return add_months(day.replace(day=1), months)
