"""`banso analytics`: recompute inline with progress, copy and compact the events, and the scheduler that
queues the day's recompute once."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from banso.activity import lake
from banso.analytics.models import AnalyticsRun, MetricValue, RunStatus
from banso.analytics.values import values_on
from banso.core.schedule import ScheduledJob
from tests.activity.factories import AccountFactory

from .factories import SegmentFactory, logins

pytestmark = pytest.mark.django_db


def analytics(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("analytics", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_recompute_runs_here_with_progress_and_writes_values(settings):
    account = AccountFactory()
    today = timezone.localdate()
    logins(account, today, [0, 1, 5])
    SegmentFactory()
    out, err = analytics("recompute", "--as-of", today.isoformat(), "--backend", "duckdb")
    assert "  2% Copying new events" in err or "新しいイベントを取り込み中" in err
    assert "100%" in err
    assert "3 events copied" in out and "1 segments refreshed" in out
    run = AnalyticsRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED and run.as_of == today and run.backend == "duckdb"
    assert values_on("account", account.pk)["logins_30d"] == 3


def test_a_failed_recompute_exits_non_zero_and_is_recorded(monkeypatch):
    from banso.analytics import services

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "compute_metrics", broken)
    with pytest.raises(CommandError, match="disk full"):
        analytics("recompute")
    run = AnalyticsRun.objects.get()
    assert run.status == RunStatus.FAILED and "disk full" in run.error
    assert not MetricValue.objects.exists()


def test_an_engine_that_cannot_run_here_is_a_clear_error():
    with pytest.raises(CommandError, match="url engine needs"):
        analytics("recompute", "--backend", "url")
    with pytest.raises(CommandError, match="as-of"):
        analytics("recompute", "--as-of", "2026-13-01")
    assert not AnalyticsRun.objects.exists()


def test_sync_copies_new_events_once_and_compact_merges_files():
    account = AccountFactory()
    today = timezone.localdate()
    logins(account, today, [0])
    out, _ = analytics("sync")
    assert out.startswith("1 new events copied")
    for _ in range(3):
        logins(account, today, [0])  # one more file in the same month on each sync
        analytics("sync")
    again, _ = analytics("sync")
    assert again.startswith("0 new events copied") and "(4 in total)" in again
    files_before = len(lake.files())
    out, _ = analytics("compact", "--min-files", "2")
    assert f"{files_before} files merged" in out and len(lake.files()) == 1
    assert lake.row_count() == 4


@pytest.fixture
def only_the_recompute(monkeypatch):
    """The scheduler also runs the jobs other apps register (health, churn); these tests watch the recompute."""
    monkeypatch.setattr("banso.analytics.management.commands.analytics.scheduled_jobs", lambda: [])


def test_the_scheduler_also_runs_the_jobs_other_apps_register(monkeypatch):
    seen = []

    def due(now):
        seen.append(now)
        return "queued the thing" if len(seen) == 1 else None

    jobs = [ScheduledJob("thing", due)]
    monkeypatch.setattr("banso.analytics.management.commands.analytics.scheduled_jobs", lambda: jobs)
    # The recompute is not due before 23:59:59.999999: only the job speaks.
    out, _ = analytics("scheduler", "--once", "--at", "23:59:59.999999")
    again, _ = analytics("scheduler", "--once", "--at", "23:59:59.999999")
    assert out.strip() == "queued the thing" and again.strip() == "Nothing due"
    assert len(seen) == 2 and all(moment.tzinfo is not None for moment in seen)


def test_the_scheduler_queues_exactly_one_run_per_day(django_capture_on_commit_callbacks, only_the_recompute):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        first, _ = analytics("scheduler", "--once", "--at", "00:00")
        second, _ = analytics("scheduler", "--once", "--at", "00:00")
    run = AnalyticsRun.objects.get()
    assert first.startswith(f"Queued recompute #{run.pk} as of {timezone.localdate()}")
    assert second.strip() == "Nothing due"
    assert run.scheduled and run.status == RunStatus.QUEUED
    assert len(queued) == 1


def test_the_scheduler_waits_for_the_time_of_day(only_the_recompute):
    out, _ = analytics("scheduler", "--once", "--at", "23:59:59.999999")
    assert out.strip() == "Nothing due" and not AnalyticsRun.objects.exists()
    with pytest.raises(CommandError, match="--at"):
        analytics("scheduler", "--once", "--at", "3am")
