"""The scheduler's minute job queues the switch task once a switch is due, and not again while it waits."""

import pytest

from banso.campaigns import rates_tasks
from banso.core.schedule import scheduled_jobs

from .factories import OfferFactory, tokyo
from .factories_offers import month_rate

pytestmark = pytest.mark.django_db


def test_the_job_is_registered_with_the_scheduler():
    assert "campaigns.rate_switches" in [job.name for job in scheduled_jobs()]


def test_the_task_is_queued_at_midnight_on_the_first_and_only_once():
    from django_tasks_db.models import DBTaskResult

    month_rate(OfferFactory(), 2026, 12)
    assert rates_tasks.due_job(tokyo(2026, 11, 30, 23, 59)) is None
    assert rates_tasks.due_job(tokyo(2026, 12, 1)) is not None
    assert rates_tasks.due_job(tokyo(2026, 12, 1, 0, 1)) is None  # one already waits for a worker
    assert DBTaskResult.objects.filter(task_path=rates_tasks.apply_due_switches.module_path).count() == 1
