"""Rescoring a day: every account gets the first active card that matches it (segment, tier, default), one
snapshot per account per day with the card version, replaced when the day is rescored; past days are exact;
the scheduler queues the day's rescore once, after the day's analytics recompute."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from banso.accounts.choices import LifecycleStage, TouchTier
from banso.analytics.models import AnalyticsRun, SegmentMembership
from banso.analytics.models import RunStatus as AnalyticsStatus
from banso.health import services
from banso.health.models import HealthRun, HealthSnapshot, RunStatus
from tests.accounts.factories import AccountFactory, ContractFactory
from tests.analytics.factories import SegmentFactory

from .factories import LOGINS, OPEN_INQUIRIES, add_events, definition, make_card

DAY = dt.date(2026, 11, 20)
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_rescore_writes_one_snapshot_per_account_with_score_band_version_and_raw_values():
    busy, quiet = AccountFactory(), AccountFactory()
    AccountFactory(lifecycle_stage=LifecycleStage.CHURNED)
    add_events(busy.pk, "login", DAY - dt.timedelta(days=3), n=20)
    add_events(quiet.pk, "login", DAY - dt.timedelta(days=3), n=2)
    add_events(quiet.pk, "inquiry_opened", DAY - dt.timedelta(days=10), n=3)
    add_events(quiet.pk, "inquiry_resolved", DAY - dt.timedelta(days=2), n=1)
    card = make_card()

    run = services.rescore(DAY)

    assert (run.status, run.percent, run.accounts_scored) == (RunStatus.SUCCEEDED, 100, 2)
    snaps = {s.account_id: s for s in HealthSnapshot.objects.filter(day=DAY)}
    assert set(snaps) == {busy.pk, quiet.pk}  # a churned account is not scored
    assert (snaps[busy.pk].score, snaps[busy.pk].band, snaps[busy.pk].version_id) == (
        Decimal("100.0"),
        "green",
        card.current_id,
    )
    # 2 logins of 20 → 10 points (weight 60); 2 open inquiries → 50 points (weight 40)
    assert snaps[quiet.pk].score == Decimal("26.0") and snaps[quiet.pk].band == "red"
    assert services.raw_values(snaps[quiet.pk]) == {"metric:logins_30d": 2.0, "inquiries:open": 2.0}


def test_rescoring_a_day_replaces_its_snapshots_and_a_past_day_ignores_later_events():
    account = AccountFactory()
    add_events(account.pk, "login", DAY, n=10)
    make_card()
    services.rescore(DAY)
    add_events(account.pk, "login", DAY + dt.timedelta(days=1), n=10)

    services.rescore(DAY)
    services.rescore(DAY + dt.timedelta(days=1))

    snaps = HealthSnapshot.objects.filter(account=account).select_related("version").order_by("day")
    assert [(s.day, services.raw_values(s)) for s in snaps] == [
        (DAY, {"metric:logins_30d": 10.0, "inquiries:open": 0.0}),
        (DAY + dt.timedelta(days=1), {"metric:logins_30d": 20.0, "inquiries:open": 0.0}),
    ]
    latest = HealthSnapshot.objects.get(account=account, day=DAY + dt.timedelta(days=1))
    assert latest.change == Decimal("30.0")  # 70.0 → 100.0


def test_each_account_gets_the_first_matching_card_by_priority_and_the_default_catches_the_rest():
    high, member, other = AccountFactory(tier=TouchTier.HIGH), AccountFactory(), AccountFactory()
    segment = SegmentFactory()
    SegmentMembership.objects.create(
        segment=segment, subject_id=member.pk, entered_at=timezone.make_aware(dt.datetime(2026, 11, 1))
    )
    SegmentMembership.objects.create(
        segment=segment, subject_id=high.pk, entered_at=timezone.make_aware(dt.datetime(2026, 11, 1))
    )
    tier_card = make_card("高タッチ", tier=TouchTier.HIGH, priority=1)
    segment_card = make_card("セグメント", segment=segment, priority=2)
    default = make_card("標準", priority=0)  # a default card is tried last whatever its priority
    make_card("停止中", tier=TouchTier.LOW, priority=0, is_active=False)

    services.rescore(DAY)

    cards = dict(HealthSnapshot.objects.filter(day=DAY).values_list("account_id", "scorecard_id"))
    assert cards == {high.pk: tier_card.pk, member.pk: segment_card.pk, other.pk: default.pk}


def test_segment_membership_is_taken_as_of_the_day_rescored():
    left_later, joined_later = AccountFactory(), AccountFactory()
    segment = SegmentFactory()
    aware = timezone.make_aware
    SegmentMembership.objects.create(
        segment=segment,
        subject_id=left_later.pk,
        entered_at=aware(dt.datetime(2026, 11, 1)),
        left_at=aware(dt.datetime(2026, 11, 25)),
    )
    SegmentMembership.objects.create(
        segment=segment, subject_id=joined_later.pk, entered_at=aware(dt.datetime(2026, 11, 22))
    )
    segment_card, default = make_card("セグメント", segment=segment), make_card("標準")

    services.rescore(DAY)

    cards = dict(HealthSnapshot.objects.filter(day=DAY).values_list("account_id", "scorecard_id"))
    assert cards == {left_later.pk: segment_card.pk, joined_later.pk: default.pk}


def test_contract_measures_are_taken_from_the_contracts_in_force_that_day():
    account = AccountFactory()
    ContractFactory(account=account, mrr=30_000, start_date=dt.date(2025, 11, 20), renewal_date=dt.date(2026, 12, 20))
    ContractFactory(account=account, mrr=1_000, start_date=dt.date(2026, 12, 1))  # not started yet
    measures = [
        {"key": "contract:days_to_renewal", "weight": 1, "mapping": {"type": "range", "bad": 0, "good": 60}},
        {"key": "contract:mrr", "weight": 1, "mapping": {"type": "range", "bad": 0, "good": 60_000}},
        {"key": "contract:tenure_days", "weight": 1, "mapping": {"type": "range", "bad": 0, "good": 730}},
    ]
    make_card(definition_data=definition(*measures))

    services.rescore(DAY)

    snap = HealthSnapshot.objects.get(account=account, day=DAY)
    assert services.raw_values(snap) == {
        "contract:days_to_renewal": 30.0,
        "contract:mrr": 30_000.0,
        "contract:tenure_days": 365.0,
    }
    assert snap.score == Decimal("50.0")  # 30 of 60 days, 30,000 of 60,000 yen, 365 of 730 days: 50 each


def test_the_scheduler_queues_the_days_rescore_once_only_after_the_analytics_recompute():
    now = timezone.make_aware(dt.datetime(2026, 11, 20, 4, 0))
    assert services.scheduled_job(now) is None
    AnalyticsRun.objects.create(as_of=dt.date(2026, 11, 20), status=AnalyticsStatus.SUCCEEDED, scheduled=True)

    line = services.scheduled_job(now)
    again = services.scheduled_job(now)

    assert line == "health rescore queued for 2026-11-20" and again is None
    assert HealthRun.objects.filter(as_of=dt.date(2026, 11, 20), scheduled=True).count() == 1


def test_the_command_rescores_a_range_of_days(capsys):
    account = AccountFactory()
    add_events(account.pk, "login", DAY, n=4)
    make_card()

    call_command("health", "rescore", "--from", "2026-11-18", "--to", "2026-11-20")

    days = list(HealthSnapshot.objects.filter(account=account).order_by("day").values_list("day", flat=True))
    assert days == [dt.date(2026, 11, 18), dt.date(2026, 11, 19), dt.date(2026, 11, 20)]
    assert "2026-11-20: 1 accounts scored" in capsys.readouterr().out


def test_a_failed_rescore_is_recorded_on_the_run(monkeypatch):
    AccountFactory()
    make_card(definition_data=definition(LOGINS, OPEN_INQUIRIES))

    def broken(*args, **kwargs):
        raise RuntimeError("engine down")

    monkeypatch.setattr(services, "measure_values", broken)
    with pytest.raises(RuntimeError):
        services.rescore(DAY)
    run = HealthRun.objects.get()
    assert run.status == RunStatus.FAILED and "engine down" in run.error


def test_deleting_an_account_deletes_its_scores():
    account, other = AccountFactory(), AccountFactory()
    make_card()
    services.rescore(DAY)

    account.delete()

    assert list(HealthSnapshot.objects.values_list("account_id", flat=True)) == [other.pk]


def test_a_custom_metric_switched_off_leaves_its_measure_without_data_and_the_card_still_scores():
    from tests.analytics.factories import MetricDefinitionFactory

    account = AccountFactory()
    add_events(account.pk, "login", DAY, n=20)
    metric = MetricDefinitionFactory(key="exports_7d")
    make_card(definition_data=definition(LOGINS, {**LOGINS, "key": "metric:exports_7d"}))
    metric.is_active = False
    metric.save()

    services.rescore(DAY)

    snap = HealthSnapshot.objects.get(account=account)
    assert snap.score == Decimal("100.0")
    assert services.raw_values(snap) == {"metric:logins_30d": 20.0, "metric:exports_7d": None}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2026-13-01"], "--as-of"),
        (["--from", "2026-11-20", "--to", "2026-11-19"], "--from: must not be after --to"),
        (["--to", "2026-11-19"], "--to: give --from as well"),
        (["--as-of", "2026-11-19", "--from", "2026-11-18"], "not both"),
    ],
)
def test_the_command_refuses_bad_days_naming_the_option(args, message):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=message):
        call_command("health", "rescore", *args)
    assert not HealthRun.objects.exists()
