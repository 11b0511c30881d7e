"""Japanese business days: weekends, national, substitute and citizens' holidays, company closed days."""

from datetime import date

import pytest

from banso.core.calendar import add_business_days, add_months, business_days_between, is_business_day, month_start
from banso.core.models import ClosedDay

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 24), True),  # Tuesday
        (date(2026, 11, 23), False),  # 勤労感謝の日
        (date(2026, 11, 28), False),  # Saturday
        (date(2025, 5, 6), False),  # 振替休日 for 5/4 (Sunday)
        (date(2026, 9, 22), False),  # 国民の休日 between 敬老の日 and 秋分の日
        (date(2026, 1, 2), True),  # not a national holiday: only closed where the company says so
    ],
)
def test_national_holidays_and_weekends_are_not_business_days(day, expected):
    assert is_business_day(day) is expected


def test_company_closed_days_are_not_business_days():
    ClosedDay.objects.create(date=date(2026, 12, 29), name="年末休業")
    assert not is_business_day(date(2026, 12, 29))
    assert is_business_day(date(2026, 12, 28))


def test_adding_business_days_skips_golden_week():
    # 2026-04-30 (Thu) + 1 business day: 5/1 (Fri) is a business day.
    assert add_business_days(date(2026, 4, 30), 1) == date(2026, 5, 1)
    # 5/1 + 1: 5/2–5/6 are weekend and holidays (5/6 振替休日), so 5/7.
    assert add_business_days(date(2026, 5, 1), 1) == date(2026, 5, 7)
    assert add_business_days(date(2026, 5, 7), -1) == date(2026, 5, 1)


def test_zero_business_days_moves_a_holiday_to_the_next_business_day():
    assert add_business_days(date(2026, 11, 23), 0) == date(2026, 11, 24)


def test_business_days_in_november_2026():
    days = business_days_between(date(2026, 11, 1), date(2026, 11, 30))
    # 21 weekdays minus 11/3 (文化の日) and 11/23 (勤労感謝の日).
    assert len(days) == 19


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # past February's end: its last day
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year
        (date(2026, 11, 15), 2, date(2027, 1, 15)),  # across the year end
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
    ],
)
def test_adding_months_keeps_the_day_or_falls_on_the_months_last(day, months, expected):
    assert add_months(day, months) == expected


def test_month_start_moves_to_the_first_of_an_earlier_or_later_month():
    assert month_start(date(2026, 11, 25)) == date(2026, 11, 1)
    assert month_start(date(2026, 11, 25), -11) == date(2025, 12, 1)
    assert month_start(date(2026, 12, 31), 1) == date(2027, 1, 1)
