"""The marketplace benchmark's data, built at a tiny scale: what it measures has to be realistic (bookings for
the provider's own services, incidents skewed to a few providers, rules that fire), and undoing an evaluation
has to bring the data back. The benchmark itself starts and prints its JSON line (never timed here)."""

import sys
from pathlib import Path

import pytest
from django.db.models import Count

from banso.accounts.choices import AccountKind
from banso.accounts.models import Account, EndUser
from banso.marketplace.models import (
    Booking,
    BookingStatus,
    Firing,
    Incident,
    IncidentStatus,
    Provider,
    ProviderService,
    ProviderStatus,
    Rule,
)

from ..core.test_bench_smoke import _run_bench, _sqlite

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import _marketplace_data as data

pytestmark = pytest.mark.django_db

SCALE = 0.0004  # 50 providers (the floor), 2,000 bookings, 200 incidents


@pytest.fixture
def built():
    want = data.sizes(SCALE)
    data.ensure_data(want)
    return want


def test_sizes_scale_down_with_floors():
    full = data.sizes(1.0)
    assert (full.providers, full.bookings, full.incidents) == (50_000, 5_000_000, 100_000)
    tiny = data.sizes(SCALE)
    assert (tiny.providers, tiny.bookings, tiny.incidents) == (50, 2_000, 200)


def test_build_writes_the_asked_sizes_and_a_second_call_reuses_them(built):
    assert data.counts() == built
    assert Account.objects.filter(source=data.SOURCE, kind=AccountKind.PROVIDER).count() == built.providers
    assert EndUser.objects.filter(source=data.SOURCE).count() == built.members
    first_ids = set(Booking.objects.values_list("id", flat=True)[:50])
    assert data.ensure_data(built) == 0.0
    assert set(Booking.objects.values_list("id", flat=True)[:50]) == first_ids
    assert Rule.objects.filter(is_active=True).count() == len(data.RULES)


def test_every_provider_serves_one_to_three_pairs_and_bookings_use_their_own(built):
    per = ProviderService.objects.values("provider_id").annotate(n=Count("id"))
    assert {row["n"] for row in per} <= {1, 2, 3}
    assert len(per) == built.providers
    served = set(ProviderService.objects.values_list("provider_id", "category", "area"))
    assert {c for _p, c, _a in served} <= {c for c, _price in data.CATEGORIES}
    assert {a for _p, _c, a in served} <= set(data.PREFECTURES)
    for provider_id, category, area in Booking.objects.values_list("provider_id", "category", "area"):
        assert (provider_id, category, area) in served


def test_bookings_are_done_in_the_past_and_booked_ahead(built):
    past = Booking.objects.filter(scheduled_at__lt=data.NOW)
    future = Booking.objects.filter(scheduled_at__gt=data.NOW)
    assert future.exists() and past.count() > future.count()
    assert not past.filter(status=BookingStatus.BOOKED).exists()
    assert not future.filter(status__in=[BookingStatus.COMPLETED, BookingStatus.NO_SHOW]).exists()
    assert past.filter(status=BookingStatus.COMPLETED).count() > past.count() * 0.8
    cancelled = Booking.objects.filter(status=BookingStatus.CANCELLED)
    assert cancelled.exists() and not cancelled.filter(cancelled_at__isnull=True).exists()
    assert not Booking.objects.filter(booked_at__gt=data.NOW).exists()
    assert not Booking.objects.filter(amount__lt=2_000).exists()


def test_incidents_are_mostly_confirmed_and_skewed_to_a_few_providers(built):
    incidents = Incident.objects.all()
    assert incidents.count() == built.incidents
    confirmed = incidents.filter(status=IncidentStatus.CONFIRMED)
    assert confirmed.count() > built.incidents * 0.7
    assert not confirmed.filter(confirmed_at__isnull=True).exists()
    assert not incidents.filter(occurred_at__gt=data.NOW).exists()
    per = sorted(incidents.values("provider_id").annotate(n=Count("id")).values_list("n", flat=True), reverse=True)
    # the few bad providers (2 of 50 at this size) carry about 40 %
    assert sum(per[:2]) >= built.incidents * 0.3


def test_reset_undoes_what_an_evaluation_did(built):
    provider = Provider.objects.first()
    booking = Booking.objects.filter(provider_id=provider.pk, status=BookingStatus.BOOKED).first() or (
        Booking.objects.filter(status=BookingStatus.BOOKED).first()
    )
    rule = Rule.objects.first()
    firing = Firing.objects.create(rule=rule, provider_id=provider.pk, score=2, plan={"bookings": []})
    Booking.objects.filter(pk=booking.pk).update(
        status=BookingStatus.CANCELLED, cancelled_by=firing, refund_due=True, cancellation_reason="x"
    )
    Provider.objects.filter(pk=provider.pk).update(status=ProviderStatus.ON_HOLD, status_reason="x")

    data.reset_outcomes()

    assert not Firing.objects.exists()
    booking.refresh_from_db()
    assert (booking.status, booking.cancelled_by_id, booking.refund_due) == (BookingStatus.BOOKED, None, False)
    provider.refresh_from_db()
    assert provider.status == ProviderStatus.ACTIVE


def test_bench_marketplace_smoke(tmp_path):
    pytest.importorskip("banso.marketplace.rules")
    figures = _run_bench("marketplace", tmp_path, 300, *_sqlite(tmp_path))
    assert figures.keys() >= {"providers", "bookings", "seconds", "dry_run_seconds", "firings", "peak_mib"}
    assert (figures["providers"], figures["bookings"], figures["database"]) == (50, 5_000, "sqlite")
    assert figures["firings"] > 0
    assert figures["second_run_firings"] == 0
