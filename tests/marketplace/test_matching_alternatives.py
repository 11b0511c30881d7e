"""Which providers are offered instead: same category and area, taking bookings, free that Tokyo day, ranked by
a shrunk rating less incident points, and never offered for more bookings of a day than its free slots."""

import datetime as dt
from decimal import Decimal

import pytest

from banso.marketplace.matching import alternatives_for, rank_providers
from banso.marketplace.models import BookingStatus, ProviderStatus

from .factories import BookingFactory, IncidentFactory, ProviderFactory, tokyo

pytestmark = pytest.mark.django_db

CAT, AREA = "エアコンクリーニング", "東京都渋谷区"
DAY = dt.date(2026, 12, 10)
NOW = tokyo(2026, 12, 1, 9)


def _ids(candidates):
    return [c.provider_id for c in candidates]


def test_only_providers_of_the_same_category_and_area_are_ranked():
    same = ProviderFactory(services=[(CAT, AREA)])
    ProviderFactory(services=[(CAT, "東京都新宿区")])
    ProviderFactory(services=[("ハウスクリーニング", AREA)])
    ProviderFactory(services=[("ハウスクリーニング", "東京都新宿区"), (CAT, "東京都目黒区")])
    assert _ids(rank_providers(CAT, AREA, DAY, now=NOW)) == [same.pk]


def test_providers_on_hold_or_suspended_are_not_offered_but_warned_ones_are():
    active = ProviderFactory(services=[(CAT, AREA)])
    warned = ProviderFactory(services=[(CAT, AREA)], status=ProviderStatus.WARNED)
    ProviderFactory(services=[(CAT, AREA)], status=ProviderStatus.ON_HOLD)
    ProviderFactory(services=[(CAT, AREA)], status=ProviderStatus.SUSPENDED)
    assert set(_ids(rank_providers(CAT, AREA, DAY, now=NOW))) == {active.pk, warned.pk}


def test_a_booking_at_2330_tokyo_fills_that_day_not_the_next():
    full = ProviderFactory(services=[(CAT, AREA)], daily_capacity=1)
    BookingFactory(provider=full.account, scheduled_at=tokyo(2026, 12, 10, 23, 30))
    assert _ids(rank_providers(CAT, AREA, DAY, now=NOW)) == []
    assert _ids(rank_providers(CAT, AREA, DAY + dt.timedelta(days=1), now=NOW)) == [full.pk]
    # 00:30 on the 11th in Tokyo is still the 10th in UTC: it fills the 11th.
    BookingFactory(provider=full.account, scheduled_at=tokyo(2026, 12, 11, 0, 30))
    assert _ids(rank_providers(CAT, AREA, DAY + dt.timedelta(days=1), now=NOW)) == []


def test_cancelled_and_completed_bookings_leave_the_slot_free():
    p = ProviderFactory(services=[(CAT, AREA)], daily_capacity=1)
    BookingFactory(provider=p.account, scheduled_at=tokyo(2026, 12, 10, 10), status=BookingStatus.CANCELLED)
    BookingFactory(provider=p.account, scheduled_at=tokyo(2026, 12, 10, 14), status=BookingStatus.COMPLETED)
    [c] = rank_providers(CAT, AREA, DAY, now=NOW)
    assert (c.provider_id, c.free_slots) == (p.pk, 1)


def test_few_reviews_are_shrunk_toward_the_mean():
    one_five_star = ProviderFactory(services=[(CAT, AREA)], rating=Decimal("5.00"), review_count=1)
    many_good = ProviderFactory(services=[(CAT, AREA)], rating=Decimal("4.80"), review_count=200)
    ProviderFactory(rating=Decimal("3.00"), review_count=50)  # elsewhere: pulls the mean down
    ranked = rank_providers(CAT, AREA, DAY, now=NOW)
    assert _ids(ranked) == [many_good.pk, one_five_star.pk]
    assert ranked[0].score > ranked[1].score


def test_confirmed_incidents_of_the_last_90_days_lower_the_score():
    clean = ProviderFactory(services=[(CAT, AREA)], rating=Decimal("4.50"), review_count=50)
    troubled = ProviderFactory(services=[(CAT, AREA)], rating=Decimal("4.70"), review_count=50)
    IncidentFactory(provider=troubled.account, occurred_at=NOW - dt.timedelta(days=10), severity=3)
    IncidentFactory(provider=clean.account, occurred_at=NOW - dt.timedelta(days=91), severity=5)  # too old
    ranked = rank_providers(CAT, AREA, DAY, now=NOW)
    assert _ids(ranked) == [clean.pk, troubled.pk]
    assert [c.incident_points for c in ranked] == [0, 3]


def test_equal_scores_go_to_more_free_slots_then_lower_id():
    a = ProviderFactory(services=[(CAT, AREA)], daily_capacity=2)
    b = ProviderFactory(services=[(CAT, AREA)], daily_capacity=4)
    c = ProviderFactory(services=[(CAT, AREA)], daily_capacity=2)
    assert _ids(rank_providers(CAT, AREA, DAY, now=NOW)) == [b.pk, a.pk, c.pk]


def test_alternatives_exclude_the_bookings_own_provider():
    own = ProviderFactory(services=[(CAT, AREA)])
    other = ProviderFactory(services=[(CAT, AREA)])
    booking = BookingFactory(provider=own.account, category=CAT, area=AREA)
    assert _ids(alternatives_for([booking], now=NOW)[booking.pk]) == [other.pk]


def test_several_bookings_of_one_day_never_get_a_provider_beyond_its_free_slots():
    troubled = ProviderFactory(services=[(CAT, AREA)])
    best = ProviderFactory(services=[(CAT, AREA)], rating=Decimal("4.90"), review_count=100, daily_capacity=3)
    second = ProviderFactory(services=[(CAT, AREA)], rating=Decimal("4.60"), review_count=100, daily_capacity=2)
    BookingFactory(provider=best.account, scheduled_at=tokyo(2026, 12, 10, 9))  # best has 2 free slots left
    bookings = [
        BookingFactory(provider=troubled.account, category=CAT, area=AREA, scheduled_at=tokyo(2026, 12, 10, h))
        for h in (15, 10, 12, 17, 11)
    ]
    other_day = BookingFactory(provider=troubled.account, category=CAT, area=AREA, scheduled_at=tokyo(2026, 12, 11, 10))
    found = alternatives_for([*bookings, other_day], limit=1, now=NOW)
    by_time = sorted(bookings, key=lambda b: b.scheduled_at)
    # Earliest first: the best provider for the first two, the second for the next two, then nobody is free.
    assert [_ids(found[b.pk]) for b in by_time] == [[best.pk], [best.pk], [second.pk], [second.pk], []]
    assert [found[b.pk][0].free_slots for b in by_time[:4]] == [2, 1, 2, 1]
    # Another day has its own slots.
    assert _ids(found[other_day.pk]) == [best.pk]
    assert list(found) == [b.pk for b in [*bookings, other_day]]


def test_alternatives_cost_the_same_queries_for_many_bookings(django_assert_max_num_queries):
    providers = [ProviderFactory(services=[(CAT, AREA), ("ハウスクリーニング", AREA)]) for _ in range(5)]
    few = [BookingFactory(provider=providers[0].account, category=CAT, area=AREA)]
    many = [
        BookingFactory(
            provider=providers[i % 5].account,
            category=CAT if i % 2 else "ハウスクリーニング",
            area=AREA,
            scheduled_at=tokyo(2026, 12, 1 + i % 20, 10),
        )
        for i in range(60)
    ]
    IncidentFactory(provider=providers[1].account, occurred_at=NOW - dt.timedelta(days=3))
    with django_assert_max_num_queries(4):
        alternatives_for(few, now=NOW)
    with django_assert_max_num_queries(4):
        result = alternatives_for(many, now=NOW)
    assert all(result[b.pk] for b in many)
    assert all(b.provider_id not in _ids(result[b.pk]) for b in many)
