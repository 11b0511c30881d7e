"""The monthly report's figures on a small mall computed by hand (see the comments for each number)."""

import datetime as dt

import pytest

from banso.billing import reports
from banso.billing.models import BillingSettings

from .factories_report import build_mall

MAY = dt.date(2025, 5, 1)


@pytest.fixture
def mall(db):
    return build_mall()


def test_totals_exclude_cancelled_bookings_and_count_fees_and_this_months_refunds(mall):
    report = reports.build(MAY)
    t = report.totals.current
    assert (t.bookings, t.guests, t.cancellations) == (3, 4, 2)
    assert t.booked_sales == 60_000  # 30,000 + 20,000 + 10,000
    assert t.cancellation_fees == 5_000
    assert t.refunds == 5_000
    assert t.sales == 60_000


def test_month_on_month_and_year_on_year(mall):
    report = reports.build(MAY)
    assert report.totals.previous_month.sales == 25_000  # April keeps its sales; the refund is May's
    assert report.totals.previous_year.sales == 18_000
    assert report.totals.sales_mom == pytest.approx(1.4)
    assert report.totals.sales_yoy == pytest.approx(42_000 / 18_000)
    assert report.totals.bookings_mom == pytest.approx(2.0)


def test_per_merchant_figures(mall):
    report = reports.build(MAY)
    a = report.merchant(mall["a"].pk)
    b = report.merchant(mall["b"].pk)
    assert a is not None and b is not None
    assert (a.current.bookings, a.current.sales, a.previous_month.sales, a.previous_year.sales) == (
        2,
        45_000,
        25_000,
        18_000,
    )
    assert a.sales_mom == pytest.approx(0.8)
    assert a.sales_yoy == pytest.approx(1.5)
    assert (b.current.bookings, b.current.cancellations, b.current.sales) == (1, 2, 15_000)
    assert b.sales_mom is None
    assert [m.account_id for m in report.merchants] == [mall["a"].pk, mall["b"].pk]


def test_members_and_growth(mall):
    report = reports.build(MAY)
    assert report.members_at_previous_end == 2
    assert report.new_members == 3
    assert report.members_at_end == 5
    assert report.member_growth == pytest.approx(1.5)


def test_repeat_rate_counts_the_window_boundary_inclusively(mall):
    report = reports.build(MAY)
    # m1 (booked exactly 365 days earlier), m2 (one minute too early), m3 (April): 2 of 3 repeat.
    assert (report.active_members, report.repeat_members) == (3, 2)
    assert report.repeat_rate == pytest.approx(2 / 3)
    shorter = reports.build(MAY, window_days=30)
    assert shorter.repeat_members == 1


def test_window_comes_from_billing_settings(mall):
    BillingSettings.objects.update_or_create(pk=1, defaults={"repeat_window_days": 30})
    assert reports.build(MAY).window_days == 30


def test_top_plans_trend_and_tax_rates(mall):
    report = reports.build(MAY)
    top = report.top_plans_by_sales[0]
    assert (top.merchant, top.plan, top.bookings, top.sales) == ("湯けむり旅館", "一泊二食プラン", 2, 50_000)
    assert report.top_plans_by_sales[1].plan == "お土産セット"
    assert len(report.trend) == 13
    assert report.trend[0].month == dt.date(2024, 5, 1)
    assert (report.trend[0].bookings, report.trend[0].sales) == (1, 18_000)
    assert (report.trend[-2].sales, report.trend[-1].sales) == (25_000, 60_000)
    assert report.trend[-1].members == 5
    ten, eight = report.by_tax_rate
    assert (ten.rate, ten.sales, ten.refunds, ten.tax) == (10, 50_000, 5_000, 4_545)
    assert (eight.rate, eight.sales, eight.tax) == (8, 10_000, 740)


def test_merchants_sort_and_search_by_reading(mall):
    report = reports.build(MAY)
    assert [m.name for m in reports.sort_merchants(report.merchants, "name", descending=False)] == [
        "港の朝市",
        "湯けむり旅館",
    ]
    assert [m.name for m in reports.search_merchants(report.merchants, "ユケムリ")] == ["湯けむり旅館"]
