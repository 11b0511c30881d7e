"""Matching PAY.JP charges, refunds, fees and transfers against bookings and bank deposits."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.translation import gettext

from banso.billing import reconcile
from banso.billing.models import (
    BankDeposit,
    BillingSettings,
    CommissionRule,
    MatchStatus,
    ProcessorTransaction,
    ReconciliationItem,
)
from banso.core.models import ClosedDay
from tests.billing.factories_recon import PaidBookingFactory, at, bank_csv, charge, listing, transfer

pytestmark = pytest.mark.django_db
OCTOBER = dt.date(2026, 10, 1)


def load(*objects):
    return reconcile.import_payjp(json.dumps(listing(*objects)).encode(), "payjp.json")


def item(kind, **lookup):
    return ReconciliationItem.objects.get(kind=kind, **lookup)


def test_charge_with_the_bookings_amount_is_matched():
    booking = PaidBookingFactory(amount=20_000)
    load(charge(booking))
    reconcile.match(OCTOBER)
    found = item("charge", booking=booking)
    assert (found.status, found.expected, found.actual, found.difference) == (MatchStatus.MATCHED, 20_000, 20_000, 0)
    assert found.month == OCTOBER


def test_charge_of_a_different_amount_shows_the_difference():
    booking = PaidBookingFactory(amount=20_000)
    load(charge(booking, amount=20_500))
    reconcile.match(OCTOBER)
    found = item("charge", booking=booking)
    assert found.status == MatchStatus.MISMATCHED
    assert found.difference == 500
    with translation.override("ja"):  # stored in the workspace language
        assert found.note == gettext("The charge differs from the booking's amount.")


def test_charge_without_booking_and_booking_without_charge_are_unmatched():
    paid = PaidBookingFactory(payment_id="ch_never_imported")
    load(charge(None, id="ch_nobody", amount=3_300))
    reconcile.match(OCTOBER)
    orphan = ReconciliationItem.objects.get(kind="charge", transaction__external_id="ch_nobody")
    assert (orphan.status, orphan.booking, orphan.actual) == (MatchStatus.UNMATCHED, None, 3_300)
    missing = item("charge", booking=paid, transaction=None)
    assert (missing.status, missing.expected, missing.difference) == (MatchStatus.UNMATCHED, 20_000, -20_000)


def test_partial_refund_matches_the_bookings_refunded_amount():
    refunded = PaidBookingFactory(amount=20_000, refunded_amount=5_000)
    differs = PaidBookingFactory(amount=20_000, refunded_amount=5_000)
    not_shown = PaidBookingFactory(amount=20_000, refunded_amount=2_000)
    load(charge(refunded, refunded=5_000), charge(differs, refunded=8_000), charge(not_shown))
    reconcile.match(OCTOBER)
    assert item("refund", booking=refunded).status == MatchStatus.MATCHED
    wrong = item("refund", booking=differs)
    assert (wrong.status, wrong.difference) == (MatchStatus.MISMATCHED, 3_000)
    absent = item("refund", booking=not_shown)
    assert (absent.status, absent.transaction, absent.difference) == (MatchStatus.MISMATCHED, None, -2_000)


def test_fee_is_compared_with_the_merchants_payment_fee_rate():
    booking = PaidBookingFactory(amount=10_000)
    other = PaidBookingFactory(amount=10_000)
    CommissionRule.objects.create(
        merchant=booking.provider,
        commission_rate=Decimal("10"),
        payment_fee_rate=Decimal("3.25"),
        effective_from=dt.date(2026, 1, 1),
    )
    BillingSettings.objects.update_or_create(pk=1, defaults={"default_payment_fee_rate": Decimal("3.60")})
    load(charge(booking, fee_rate="3.25"), charge(other, fee_rate="3.25"))
    reconcile.match(OCTOBER)
    assert item("fee", booking=booking).status == MatchStatus.MATCHED
    wrong = item("fee", booking=other)
    # 10,000 × 3.60 % = 360 expected, 10,000 × 3.25 % = 325 charged.
    assert (wrong.status, wrong.expected, wrong.actual, wrong.difference) == (MatchStatus.MISMATCHED, 360, 325, -35)


def _transfer_case(deposit_day, scheduled="2026-11-04"):
    booking = PaidBookingFactory(amount=10_000)
    load(charge(booking, fee_rate="3.60"), transfer("tr_1", 9_640, scheduled, [booking.payment_id]))
    reconcile.import_bank(bank_csv([(deposit_day, "ﾌﾘｺﾐ ﾍﾟｲｼﾞｪｲﾋﾟｰ", "9,640", "", "100,000")]), "bank.csv")
    reconcile.match(dt.date(2026, 11, 1))
    return ReconciliationItem.objects.get(kind="transfer")


def test_transfer_matches_a_deposit_within_three_business_days():
    found = _transfer_case("2026/11/09")  # Wed 4th → Mon 9th: Thu, Fri, Mon = 3 business days
    assert found.status == MatchStatus.MATCHED
    assert found.deposit.amount == 9_640
    assert found.expected == 9_640  # 10,000 − 360 fee


def test_transfer_does_not_match_a_deposit_outside_the_window():
    found = _transfer_case("2026/11/10")
    assert found.status == MatchStatus.UNMATCHED
    assert found.deposit is None
    assert ReconciliationItem.objects.get(kind="deposit").status == MatchStatus.UNMATCHED


def test_window_counts_business_days_across_a_holiday():
    # 2026-11-23 (Mon) is 勤労感謝の日: three business days after Fri 20th is Thu 26th.
    assert _transfer_case("2026/11/26", scheduled="2026-11-20").status == MatchStatus.MATCHED


def test_company_closed_days_widen_the_window():
    ClosedDay.objects.create(date=dt.date(2026, 11, 5), name="創立記念日")
    assert _transfer_case("2026/11/10").status == MatchStatus.MATCHED


def test_transfer_less_than_its_charges_net_is_mismatched():
    booking = PaidBookingFactory(amount=10_000)
    load(charge(booking, fee_rate="3.60"), transfer("tr_2", 9_000, "2026-11-04", [booking.payment_id]))
    reconcile.import_bank(bank_csv([("2026/11/04", "ペイジェイピー", "9000", "", "1")]), "bank.csv")
    reconcile.match(dt.date(2026, 11, 1))
    found = ReconciliationItem.objects.get(kind="transfer")
    assert (found.status, found.expected, found.actual, found.difference) == (
        MatchStatus.MISMATCHED,
        9_640,
        9_000,
        -640,
    )


def test_rematching_keeps_resolved_items_and_replaces_the_rest(django_user_model):
    booking = PaidBookingFactory(amount=20_000)
    load(charge(booking, amount=19_000), charge(None, id="ch_x", amount=100))
    reconcile.match(OCTOBER)
    mismatch = item("charge", booking=booking)
    reconcile.resolve(mismatch, "クーポン値引き分、事業者と確認済み")
    reconcile.match(OCTOBER)
    reconcile.match(OCTOBER)
    kept = item("charge", booking=booking)
    assert kept.pk == mismatch.pk
    assert kept.status == MatchStatus.RESOLVED
    assert ReconciliationItem.objects.filter(kind="charge").count() == 2


def test_demo_data_gives_a_month_with_a_few_problems():
    for _ in range(30):
        PaidBookingFactory(payment_id="", booked_at=at("2026-10-06"))
    counts = reconcile.demo_data(month=OCTOBER)
    assert counts["charges"] > 25
    reconcile.match()
    statuses = set(ReconciliationItem.objects.values_list("status", flat=True))
    assert {MatchStatus.MATCHED, MatchStatus.MISMATCHED, MatchStatus.UNMATCHED} <= statuses
    assert BankDeposit.objects.exists()
    again = reconcile.demo_data(month=OCTOBER)
    assert again["created"] == 0
    assert ProcessorTransaction.objects.filter(kind="transfer").count() == counts["transfers"]
