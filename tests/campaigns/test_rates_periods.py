"""Special-rate periods: checked on entry, overlaps refused naming the other period, gaps and conflicts found."""

import datetime as dt
from decimal import Decimal

import pytest

from banso.campaigns import rates
from banso.campaigns.models import SpecialRate, SpecialRateStatus

from .factories import OfferFactory, SpecialRateFactory, tokyo
from .factories_offers import month_rate

pytestmark = pytest.mark.django_db


def test_a_special_rate_without_offset_is_tokyo_time():
    offer = OfferFactory()
    rate = rates.save_rate(
        None,
        {"starts_at": "2026-12-01T00:00", "ends_at": "2027-01-01", "reward_type": "rate", "rate": "10"},
        offer=offer,
        actor=None,
    )
    assert rate.starts_at == tokyo(2026, 12, 1) and rate.ends_at == tokyo(2027, 1, 1)
    assert rate.rate == Decimal("10.00") and rate.status == SpecialRateStatus.SCHEDULED


def test_the_end_must_come_after_the_start():
    with pytest.raises(rates.OfferError) as refused:
        rates.save_rate(
            None,
            {"starts_at": "2026-12-01", "ends_at": "2026-12-01", "reward_type": "rate", "rate": "10"},
            offer=OfferFactory(),
            actor=None,
        )
    assert refused.value.field == "ends_at"


def test_an_overlap_is_refused_naming_the_other_period():
    offer = OfferFactory()
    december = month_rate(offer, 2026, 12)
    with pytest.raises(rates.OfferError) as refused:
        rates.save_rate(
            None,
            {"starts_at": "2026-12-20", "ends_at": "2027-01-10", "reward_type": "rate", "rate": "12"},
            offer=offer,
            actor=None,
        )
    assert refused.value.field == "starts_at"
    assert f"#{december.pk}" in refused.value.message and "2026-12-01 00:00" in refused.value.message
    assert SpecialRate.objects.filter(offer=offer).count() == 1


def test_back_to_back_periods_and_cancelled_ones_do_not_overlap():
    offer = OfferFactory()
    month_rate(offer, 2026, 12)
    cancelled = month_rate(offer, 2027, 2, status=SpecialRateStatus.CANCELLED)
    january = rates.save_rate(
        None,
        {"starts_at": "2027-01-01", "ends_at": "2027-02-01", "reward_type": "rate", "rate": "9"},
        offer=offer,
        actor=None,
    )
    feb = rates.save_rate(
        None,
        {"starts_at": cancelled.starts_at, "ends_at": cancelled.ends_at, "reward_type": "rate", "rate": "7"},
        offer=offer,
        actor=None,
    )
    assert january.pk and feb.pk


def test_a_fixed_special_reward_is_whole_yen():
    with pytest.raises(rates.OfferError) as refused:
        rates.save_rate(
            None,
            {"starts_at": "2026-12-01", "ends_at": "2027-01-01", "reward_type": "fixed", "amount": "abc"},
            offer=OfferFactory(),
            actor=None,
        )
    assert refused.value.field == "amount"


def test_a_rate_in_force_only_changes_its_end():
    offer = OfferFactory()
    december = month_rate(offer, 2026, 12)
    rates.apply_due(tokyo(2026, 12, 1))
    december.refresh_from_db()
    with pytest.raises(rates.OfferError) as refused:
        rates.save_rate(december, {"rate": "20"}, actor=None, now=tokyo(2026, 12, 5))
    assert refused.value.field == "rate"
    longer = rates.save_rate(december, {"ends_at": "2027-01-15"}, actor=None, now=tokyo(2026, 12, 5))
    assert longer.ends_at == tokyo(2027, 1, 15)
    with pytest.raises(rates.OfferError):
        rates.cancel_rate(longer, actor=None)


def test_overlaps_written_around_the_checks_are_reported_as_conflicts():
    offer = OfferFactory()
    december = month_rate(offer, 2026, 12)
    imported = SpecialRateFactory(offer=offer, starts_at=tokyo(2026, 12, 20), ends_at=tokyo(2027, 1, 10))
    month_rate(OfferFactory(), 2026, 12)  # another offer's December does not conflict
    assert rates.conflicts() == [(december, imported)]


def test_a_one_day_gap_at_the_month_turn_is_flagged():
    offer = OfferFactory()
    december = SpecialRateFactory(offer=offer, starts_at=tokyo(2026, 12, 1), ends_at=tokyo(2026, 12, 31))
    january = month_rate(offer, 2027, 1)
    far = SpecialRateFactory(offer=offer, starts_at=tokyo(2027, 3, 1), ends_at=tokyo(2027, 4, 1))
    found = rates.gaps(offer)
    assert found == [(december, january, dt.timedelta(days=1))]
    assert far not in [later for _e, later, _g in found]
