"""The daily recompute: new events copied, every metric's changed values written, segments refreshed with
who entered and who left — with its progress and outcome on the run."""

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from django.db import transaction

from banso.accounts.models import TouchTier
from banso.activity import lake, store
from banso.analytics import services
from banso.analytics.models import AnalyticsRun, RunStatus, SegmentMembership
from banso.analytics.values import values_on
from tests.activity.factories import AccountFactory

JST = ZoneInfo("Asia/Tokyo")
DAY1, DAY2 = dt.date(2026, 11, 24), dt.date(2026, 11, 25)
SILENT_HIGH_TOUCH = {
    "match": "all",
    "rules": [
        {"type": "metric", "metric": "logins_30d", "op": "eq", "value": 0},
        {"type": "attribute", "field": "tier", "op": "eq", "value": "high"},
    ],
}


def log_in(account_id: int, day: dt.date, n: int = 1, tag: str = "") -> None:
    frame = pl.DataFrame(
        {
            "source": ["app"] * n,
            "external_id": [f"{account_id}-{day}-{tag}{i}" for i in range(n)],
            "account_id": [account_id] * n,
            "end_user_id": [None] * n,
            "kind": ["login"] * n,
            "occurred_at": [dt.datetime.combine(day, dt.time(10, i), JST) for i in range(n)],
            "value": [None] * n,
            "properties": ["{}"] * n,
        }
    )
    with transaction.atomic():
        store.append_events(frame)


def recompute(day: dt.date) -> AnalyticsRun:
    return services.run_recompute(AnalyticsRun.objects.create(as_of=day))


@pytest.mark.django_db(transaction=True)
def test_a_recompute_copies_events_writes_metric_values_and_reports_its_progress():
    busy, quiet = AccountFactory(tier=TouchTier.HIGH), AccountFactory(tier=TouchTier.HIGH)
    log_in(busy.pk, DAY1, n=3)
    log_in(quiet.pk, dt.date(2026, 9, 1))

    run = recompute(DAY1)
    run.refresh_from_db()
    assert (run.status, run.percent, run.backend) == (RunStatus.SUCCEEDED, 100, "duckdb")
    assert run.events_synced == 4 and run.values_written > 0 and run.finished_at is not None
    assert values_on("account", busy.pk)["logins_30d"] == 3
    assert values_on("account", busy.pk)["days_since_login"] == 0
    assert values_on("account", quiet.pk)["days_since_login"] == 84
    assert "logins_30d" not in values_on("account", quiet.pk)  # 0 is the empty value: no row needed

    log_in(busy.pk, DAY2, tag="b")
    second = recompute(DAY2)
    assert second.events_synced == 1  # only what is new is copied
    assert values_on("account", busy.pk, DAY1)["logins_30d"] == 3
    assert values_on("account", busy.pk, DAY2)["logins_30d"] == 4
    assert lake.row_count() == 5


@pytest.mark.django_db(transaction=True)
def test_segments_are_refreshed_by_the_recompute_with_who_entered_and_who_left():
    silent, active, low_touch = (
        AccountFactory(tier=TouchTier.HIGH),
        AccountFactory(tier=TouchTier.HIGH),
        AccountFactory(tier=TouchTier.LOW),
    )
    log_in(active.pk, DAY1)
    segment = services.save_segment(None, name="沈黙しているハイタッチ顧客", rules=SILENT_HIGH_TOUCH)

    recompute(DAY1)
    segment.refresh_from_db()
    assert segment.member_count == 1
    assert list(segment.memberships.filter(left_at=None).values_list("subject_id", flat=True)) == [silent.pk]

    log_in(silent.pk, DAY2)  # the silent one logs in: it leaves
    recompute(DAY2)
    stay = SegmentMembership.objects.get(segment=segment, subject_id=silent.pk)
    assert stay.left_at is not None
    assert segment.memberships.filter(left_at=None).count() == 0
    assert low_touch.pk not in set(segment.memberships.values_list("subject_id", flat=True))


@pytest.mark.django_db(transaction=True)
def test_a_preview_counts_without_storing_members():
    AccountFactory(tier=TouchTier.HIGH)
    AccountFactory(tier=TouchTier.HIGH)
    lake.sync()
    assert services.preview_count({"subject": "account", "rules": SILENT_HIGH_TOUCH}, DAY1) == 2
    assert SegmentMembership.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_failed_recompute_is_recorded_on_the_run_with_its_error(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("engine unreachable")

    monkeypatch.setattr(services, "compute_metrics", broken)
    run = AnalyticsRun.objects.create(as_of=DAY1)
    with pytest.raises(RuntimeError):
        services.run_recompute(run)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "engine unreachable" in run.error
    assert run.finished_at is not None


@pytest.mark.django_db
def test_a_segment_naming_an_unknown_metric_or_attribute_is_refused_and_nothing_is_saved():
    rules = {
        "match": "any",
        "rules": [
            {"type": "metric", "metric": "no_such_metric", "op": "gt", "value": 1},
            {"type": "attribute", "field": "shoe_size", "op": "eq", "value": "27"},
        ],
    }
    with pytest.raises(services.SpecError) as refused:
        services.save_segment(None, name="", rules=rules)
    messages = " ".join(message for _, message in refused.value.errors)
    assert "no_such_metric" in messages and "shoe_size" in messages
    assert refused.value.errors[0][0] == "name"
    assert not services.Segment.objects.exists()


@pytest.mark.django_db
def test_the_scheduler_queues_one_recompute_a_day_after_three_in_the_morning_japan_time(
    django_capture_on_commit_callbacks,
):
    before = dt.datetime(2026, 11, 25, 2, 59, tzinfo=JST)
    after = dt.datetime(2026, 11, 25, 3, 0, tzinfo=JST)
    with django_capture_on_commit_callbacks():
        assert services.due_recompute(before) is None
        first = services.due_recompute(after)
        assert first is not None and first.as_of == DAY2 and first.scheduled
        assert services.due_recompute(after + dt.timedelta(hours=5)) is None
    AnalyticsRun.objects.create(as_of=dt.date(2026, 11, 26))  # a manual run does not stand in for the scheduled one
    with django_capture_on_commit_callbacks():
        assert services.due_recompute(after + dt.timedelta(days=1)) is not None
    assert AnalyticsRun.objects.filter(scheduled=True).count() == 2


@pytest.mark.django_db
def test_two_schedulers_racing_for_the_same_day_queue_one_run():
    from django.db import IntegrityError

    AnalyticsRun.objects.create(as_of=DAY2, scheduled=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        AnalyticsRun.objects.create(as_of=DAY2, scheduled=True)


@pytest.mark.django_db(transaction=True)
def test_a_broken_segment_is_reported_on_the_run_and_does_not_stop_the_others():
    from banso.analytics.models import Segment

    account = AccountFactory(tier=TouchTier.HIGH)
    good = services.save_segment(None, name="沈黙", rules=SILENT_HIGH_TOUCH)
    # Saved before the metric it names was removed (e.g. through the admin site).
    Segment.objects.create(
        name="壊れた条件",
        subject_type="account",
        rules={"match": "all", "rules": [{"type": "metric", "metric": "gone_metric", "op": "gt", "value": 1}]},
    )
    run = recompute(DAY1)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "壊れた条件" in run.error and "gone_metric" in run.error
    assert run.segments_refreshed == 1
    assert list(good.memberships.values_list("subject_id", flat=True)) == [account.pk]


@pytest.mark.django_db(transaction=True)
def test_values_are_not_written_for_an_account_deleted_after_its_events_were_copied():
    kept, deleted = AccountFactory(), AccountFactory()
    log_in(kept.pk, DAY1)
    log_in(deleted.pk, DAY1)
    lake.sync()
    deleted_pk = deleted.pk
    deleted.delete()
    recompute(DAY1)
    assert values_on("account", kept.pk)["logins_30d"] == 1
    assert values_on("account", deleted_pk) == {}


@pytest.mark.django_db(transaction=True)
def test_the_recompute_merges_the_small_files_that_many_imports_leave():
    account = AccountFactory()
    for hour in range(5):
        log_in(account.pk, DAY1, tag=f"h{hour}")
        lake.sync()
    assert len(lake.read_manifest().files) == 5
    recompute(DAY1)
    assert len(lake.read_manifest().files) == 1
    assert lake.row_count() == 5
