"""The scheduler queues the churn-risk work once however many schedulers ask: predictions daily after the
analytics recompute, a retraining on the first of each month (and until a first model exists)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from banso.churn import risk
from banso.churn.models import RiskRun, RiskRunKind, RiskRunStatus
from banso.core.schedule import scheduled_jobs

from .risk_factories import trained_model

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, 30), TOKYO)


def test_the_job_is_registered_with_the_scheduler():
    assert "churn-risk" in [job.name for job in scheduled_jobs()]


def test_without_a_model_training_is_queued_first_and_predictions_wait_for_it(django_capture_on_commit_callbacks):
    day = dt.date(2026, 11, 20)
    assert risk.due(at(day, 3)) is None  # before the analytics recompute has had its hour
    with django_capture_on_commit_callbacks(execute=False):
        line = risk.due(at(day, 4))
        assert line is not None and "学習" in line
        assert risk.due(at(day, 5)) is None  # asked again: nothing more
    assert list(RiskRun.objects.values_list("kind", "scheduled")) == [(RiskRunKind.TRAIN, True)]


def test_with_a_model_predictions_are_queued_daily_and_training_monthly(django_capture_on_commit_callbacks):
    trained_model()
    with django_capture_on_commit_callbacks(execute=False):
        assert "予測" in risk.due(at(dt.date(2026, 11, 20), 6))
        assert risk.due(at(dt.date(2026, 11, 20), 7)) is None
        first = risk.due(at(dt.date(2026, 12, 1), 6))
    assert "学習" in first and "予測" not in first  # predictions wait while the month's training runs
    kinds = list(RiskRun.objects.order_by("id").values_list("as_of", "kind"))
    assert kinds == [(dt.date(2026, 11, 20), RiskRunKind.PREDICT), (dt.date(2026, 12, 1), RiskRunKind.TRAIN)]
    RiskRun.objects.filter(kind=RiskRunKind.TRAIN).update(status=RiskRunStatus.SUCCEEDED)
    with django_capture_on_commit_callbacks(execute=False):
        assert "予測" in risk.due(at(dt.date(2026, 12, 1), 8))
