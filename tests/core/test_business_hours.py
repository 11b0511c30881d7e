import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from banso.core.business_hours import TOKYO, BusinessHours
from banso.core.models import ClosedDay

pytestmark = pytest.mark.django_db
HOURS = BusinessHours()  # 9:00–12:00, 13:00–18:00


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=TOKYO)


def test_minutes_inside_one_range():
    assert HOURS.minutes_between(at(24, 9, 10), at(24, 9, 25)) == 15


def test_lunch_break_is_not_counted():
    assert HOURS.minutes_between(at(24, 11, 50), at(24, 13, 5)) == 15
    assert HOURS.add_minutes(at(24, 11, 50), 15) == at(24, 13, 5)


def test_weekend_is_not_counted():
    # Friday 17:50 to Monday 9:05 (2026-11-27 is a Friday).
    assert HOURS.minutes_between(at(27, 17, 50), at(30, 9, 5)) == 15
    assert HOURS.add_minutes(at(27, 17, 50), 15) == at(30, 9, 5)


def test_national_holiday_is_not_counted():
    # Friday 2026-11-20 17:55 → Monday 23rd is 勤労感謝の日 → Tuesday 24th 9:10.
    assert HOURS.minutes_between(at(20, 17, 55), at(24, 9, 10)) == 15
    assert HOURS.add_minutes(at(20, 17, 55), 15) == at(24, 9, 10)


def test_company_closed_day_is_not_counted():
    ClosedDay.objects.create(date=dt.date(2026, 11, 25), name="社内休業日")
    assert HOURS.minutes_between(at(24, 17, 55), at(26, 9, 10)) == 15
    assert HOURS.add_minutes(at(24, 17, 55), 15) == at(26, 9, 10)


def test_start_outside_hours_counts_from_opening():
    assert HOURS.minutes_between(at(24, 7, 0), at(24, 9, 15)) == 15
    assert HOURS.minutes_between(at(24, 12, 30), at(24, 13, 15)) == 15
    assert HOURS.add_minutes(at(24, 19, 0), 15) == at(25, 9, 15)
    assert HOURS.add_minutes(at(24, 12, 20), 15) == at(24, 13, 15)


def test_end_before_start_is_zero():
    assert HOURS.minutes_between(at(24, 10), at(24, 9)) == 0
    assert HOURS.minutes_between(at(24, 10), at(24, 10)) == 0


def test_whole_business_days_in_between():
    # Tue 24th 9:00 → Tue 1 Dec 9:00: five business days of 8 hours (no holiday in between).
    assert HOURS.minutes_between(at(24, 9), at(1, 9, month=12)) == 5 * 8 * 60
    assert HOURS.day_minutes == 480


def test_times_in_utc_are_read_in_tokyo():
    start = at(24, 9, 0).astimezone(dt.UTC)  # 00:00 UTC
    assert HOURS.minutes_between(start, start + dt.timedelta(hours=1)) == 60


def test_deadline_at_the_end_of_a_range_is_that_end():
    assert HOURS.add_minutes(at(24, 11, 45), 15) == at(24, 12, 0)


@pytest.mark.parametrize(
    "ranges",
    [
        [("10:00", "09:00")],
        [("09:00", "12:00"), ("11:00", "18:00")],
        [("13:00", "18:00"), ("09:00", "12:00")],
        [("9時", "12:00")],
        [],
    ],
)
def test_invalid_ranges_are_refused(ranges):
    with pytest.raises(ValidationError):
        BusinessHours(ranges)


def test_json_round_trip_and_default():
    hours = BusinessHours.from_json([["08:30", "17:30"]])
    assert hours.to_json() == [["08:30", "17:30"]]
    assert hours.day_minutes == 540
    assert BusinessHours.from_json([]) == BusinessHours()
    with pytest.raises(ValidationError):
        BusinessHours.from_json({"start": "09:00"})


def _inside(day_offset: int, minute_of_day: int) -> dt.datetime:
    base = dt.datetime(2026, 11, 2, 9, 0, tzinfo=TOKYO) + dt.timedelta(days=day_offset)
    minute = minute_of_day if minute_of_day < 180 else minute_of_day + 60  # skip lunch
    return base + dt.timedelta(minutes=minute)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    day_offset=st.integers(min_value=0, max_value=60),
    minute_of_day=st.integers(min_value=0, max_value=479),
    seconds=st.integers(min_value=0, max_value=59),
    minutes=st.integers(min_value=0, max_value=5000),
)
def test_add_minutes_and_minutes_between_agree(day_offset, minute_of_day, seconds, minutes):
    start = _inside(day_offset, minute_of_day) + dt.timedelta(seconds=seconds)
    closed: set[dt.date] = set()
    deadline = HOURS.add_minutes(start, minutes, closed)
    assert HOURS.minutes_between(start, deadline, closed) == minutes
