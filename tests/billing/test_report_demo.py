"""The billing demo's booking mall: its size, seasons, tax rates, refunds, payment ids, commission rules and
invoice details, that a second run adds nothing, and that its report has figures in every section."""

import datetime as dt
import re

import pytest
from django.db.models import Count, Sum

from banso.accounts.choices import AccountKind
from banso.accounts.models import Account, EndUser
from banso.billing import demo, reports
from banso.billing.models import BillingSettings, CommissionRule
from banso.billing.tax import is_valid_registration_number
from banso.core import demo as core_demo
from banso.core.demo import DemoContext, Progress
from banso.core.models import User
from banso.marketplace.models import Booking, BookingStatus

TODAY = dt.date(2026, 11, 20)


@pytest.fixture
def ctx(db):
    context = DemoContext(accounts=10, csms=2, today=TODAY, progress=Progress(quiet=True))
    core_demo.build(context)
    demo.build(context)
    return context


def test_mall_has_merchants_members_and_bookings_under_its_own_source(ctx):
    assert Account.objects.filter(source=demo.DEMO_SOURCE, kind=AccountKind.MERCHANT).count() == 40
    assert EndUser.objects.filter(source=demo.DEMO_SOURCE).count() == 4_000
    n = Booking.objects.filter(source=demo.DEMO_SOURCE).count()
    assert 55_000 <= n <= 60_000
    assert not Account.objects.filter(source=core_demo.DEMO_SOURCE, kind=AccountKind.MERCHANT).exists()
    assert User.objects.get(username="merchant").portal_accounts.get().external_id == demo.merchant_id(0)


def test_a_second_run_adds_nothing(ctx):
    before = Booking.objects.count(), EndUser.objects.count(), Account.objects.count(), CommissionRule.objects.count()
    demo.build(ctx)
    assert (Booking.objects.count(), EndUser.objects.count(), Account.objects.count()) == before[:3]
    assert CommissionRule.objects.count() == before[3]


def test_bookings_have_seasons_cancellations_refunds_and_reduced_rates(ctx):
    bookings = Booking.objects.filter(source=demo.DEMO_SOURCE)
    per_month = reports.build(dt.date(2026, 8, 1)).totals.current.bookings
    assert per_month > reports.build(dt.date(2026, 6, 1)).totals.current.bookings  # Obon beats June
    assert bookings.filter(status=BookingStatus.CANCELLED, cancellation_fee__gt=0).exists()
    assert bookings.filter(status=BookingStatus.CANCELLED, cancellation_fee=0).exists()
    refunded = bookings.filter(refunded_amount__gt=0)
    assert refunded.count() > 100
    crossing = [b for b in refunded if reports.month_bounds(b.scheduled_at.date())[1] <= b.refunded_at]
    assert crossing  # refunded after their month
    assert bookings.filter(tax_rate=8).count() > 1000
    assert all(re.fullmatch(r"ch_[0-9a-f]{28}", p) for p in bookings.values_list("payment_id", flat=True)[:500])
    assert not bookings.filter(booked_at__gt=dt.datetime(2026, 11, 21, tzinfo=demo.TOKYO)).exists()
    months = bookings.values("provider_id").annotate(n=Count("id")).count()
    assert months == 40
    assert bookings.aggregate(s=Sum("amount"))["s"] > 0


def test_operator_details_and_commission_rules(ctx):
    settings = BillingSettings.current()
    assert is_valid_registration_number(settings.registration_number)
    assert settings.registration_number != "T7000012050002"
    rates = set(CommissionRule.objects.values_list("commission_rate", flat=True))
    assert {10, 8, 12, 15} <= {int(r) for r in rates}
    assert CommissionRule.objects.exclude(plan="").exists()
    assert CommissionRule.objects.filter(effective_to__isnull=False).exists()


def test_demo_report_has_figures_everywhere(ctx):
    report = reports.build(dt.date(2026, 10, 1))
    assert report.totals.current.sales > 0 and report.totals.sales_yoy is not None
    assert report.new_members > 0 and report.repeat_rate and 0 < report.repeat_rate < 1
    assert report.top_plans_by_sales and all(p.sales for p in report.trend)
