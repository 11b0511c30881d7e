"""Special rates switch an offer's live reward at their instants, in Asia/Tokyo, exactly once."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from banso.campaigns import rates
from banso.campaigns.models import RateSwitch, SpecialRateStatus, SwitchKind
from banso.core.models import AuditEntry

from .factories import OfferFactory, tokyo
from .factories_offers import fixed_offer, month_rate

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def _reward(offer):
    offer.refresh_from_db()
    return offer.reward_type, offer.reward_rate, offer.reward_amount


def test_december_rate_is_not_applied_one_second_before_midnight_tokyo():
    offer = OfferFactory()
    month_rate(offer, 2026, 12)
    just_before = dt.datetime(2026, 11, 30, 14, 59, 59, tzinfo=UTC)  # 11/30 23:59:59 JST
    assert just_before == tokyo(2026, 11, 30, 23, 59) + dt.timedelta(seconds=59)
    assert rates.apply_due(just_before) == []
    assert _reward(offer) == ("rate", Decimal("5.00"), None)


def test_december_rate_applies_at_midnight_tokyo_on_the_first_and_holds_all_month():
    offer = OfferFactory()
    special = month_rate(offer, 2026, 12)
    applied = rates.apply_due(tokyo(2026, 12, 1))
    assert [(s.kind, s.due_at) for s in applied] == [(SwitchKind.START, tokyo(2026, 12, 1))]
    assert _reward(offer) == ("rate", Decimal("10.00"), None)
    special.refresh_from_db()
    assert special.status == SpecialRateStatus.ACTIVE
    assert rates.apply_due(tokyo(2026, 12, 31, 23, 59) + dt.timedelta(seconds=59)) == []
    assert _reward(offer)[1] == Decimal("10.00")


def test_back_to_base_at_midnight_tokyo_on_new_years_day():
    offer = OfferFactory()
    special = month_rate(offer, 2026, 12)
    rates.apply_due(tokyo(2026, 12, 1))
    applied = rates.apply_due(dt.datetime(2026, 12, 31, 15, 0, tzinfo=UTC))  # 1/1 00:00 JST
    assert [s.kind for s in applied] == [SwitchKind.END]
    assert _reward(offer) == ("rate", Decimal("5.00"), None)
    switch = applied[0]
    assert switch.before["text"] == "10.00%" and switch.after["text"] == "5.00%"
    special.refresh_from_db()
    assert special.status == SpecialRateStatus.ENDED


def test_back_to_back_periods_switch_straight_from_one_special_to_the_next():
    offer = OfferFactory()
    month_rate(offer, 2026, 11, "8.00")
    month_rate(offer, 2026, 12, "12.00")
    rates.apply_due(tokyo(2026, 11, 1))
    assert _reward(offer)[1] == Decimal("8.00")
    applied = rates.apply_due(tokyo(2026, 12, 1))
    assert [(s.kind, s.before["text"], s.after["text"]) for s in applied] == [
        (SwitchKind.END, "8.00%", "12.00%"),
        (SwitchKind.START, "12.00%", "12.00%"),
    ]
    assert _reward(offer)[1] == Decimal("12.00")
    # Never back at the base in between: no switch recorded the base as its result.
    assert not any(s.after["text"] == "5.00%" for s in RateSwitch.objects.filter(offer=offer))


def test_applying_twice_does_nothing_the_second_time():
    offer = OfferFactory()
    month_rate(offer, 2026, 12)
    assert len(rates.apply_due(tokyo(2026, 12, 1))) == 1
    audits = AuditEntry.objects.filter(object_type="campaigns.offer", object_id=str(offer.pk)).count()
    assert rates.apply_due(tokyo(2026, 12, 1)) == []
    assert rates.apply_due(tokyo(2026, 12, 2)) == []
    assert RateSwitch.objects.filter(offer=offer).count() == 1
    assert AuditEntry.objects.filter(object_type="campaigns.offer", object_id=str(offer.pk)).count() == audits


def test_a_late_run_applies_every_missed_switch_in_order():
    offer = OfferFactory()
    month_rate(offer, 2026, 11, "8.00")
    month_rate(offer, 2026, 12, "12.00")
    applied = rates.apply_due(tokyo(2027, 1, 3, 9))  # the scheduler was down for two months
    assert [(s.kind, s.due_at, s.after["text"]) for s in applied] == [
        (SwitchKind.START, tokyo(2026, 11, 1), "8.00%"),
        (SwitchKind.END, tokyo(2026, 12, 1), "12.00%"),
        (SwitchKind.START, tokyo(2026, 12, 1), "12.00%"),
        (SwitchKind.END, tokyo(2027, 1, 1), "5.00%"),
    ]
    assert all(s.applied_at == tokyo(2027, 1, 3, 9) for s in applied)
    assert _reward(offer)[1] == Decimal("5.00")


def test_an_end_whose_start_was_never_applied_applies_both():
    offer = fixed_offer(1500)
    special = month_rate(offer, 2026, 12, reward_type="fixed", rate=None, amount=3000)
    applied = rates.apply_due(tokyo(2027, 1, 1))
    assert [s.kind for s in applied] == [SwitchKind.START, SwitchKind.END]
    assert applied[0].after["text"] == "3,000円" and applied[1].after["text"] == "1,500円"
    special.refresh_from_db()
    assert special.status == SpecialRateStatus.ENDED


def test_a_cancelled_rate_never_switches():
    offer = OfferFactory()
    special = month_rate(offer, 2026, 12)
    rates.cancel_rate(special, actor=None)
    assert rates.apply_due(tokyo(2027, 1, 2)) == []
    assert _reward(offer)[1] == Decimal("5.00")


def test_each_switch_is_audited_against_the_advertiser():
    offer = OfferFactory()
    month_rate(offer, 2026, 12)
    rates.apply_due(tokyo(2026, 12, 1), via="cli")
    entry = AuditEntry.objects.filter(object_type="campaigns.offer", object_id=str(offer.pk)).latest("id")
    assert entry.account_id == offer.advertiser_id and entry.via == "cli"
    assert entry.changes["reward_rate"] == ["5.00", "10.00"]


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_once_apply_each_switch_once():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers")
    offers = [OfferFactory() for _ in range(5)]
    for offer in offers:
        month_rate(offer, 2026, 11, "8.00")
        month_rate(offer, 2026, 12, "12.00")
    results: list[list] = []
    errors: list[Exception] = []
    barrier = threading.Barrier(3)

    def scheduler():
        try:
            barrier.wait()
            results.append(rates.apply_due(tokyo(2026, 12, 15)))
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=scheduler) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(len(r) for r in results) == 15  # per offer: Nov start, Nov end, Dec start
    assert RateSwitch.objects.count() == 15
    for offer in offers:
        assert _reward(offer)[1] == Decimal("12.00")
        periods = [str(pk) for pk in offer.special_rates.values_list("pk", flat=True)]
        audits = AuditEntry.objects.filter(object_type="campaigns.specialrate", object_id__in=periods)
        assert audits.count() == 3  # one per switch applied
