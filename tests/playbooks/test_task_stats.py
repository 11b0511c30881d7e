"""Completion rate, time to complete and overdue counts per playbook and per person, on a hand-built case."""

import datetime as dt

import pytest

from banso.playbooks.models import Playbook, TaskStatus
from banso.playbooks.worklist import person_task_stats, playbook_task_stats

from .factories_tasks import TaskFactory

pytestmark = pytest.mark.django_db

CREATED = dt.datetime(2026, 11, 2, 0, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 10)


def test_playbook_stats_count_done_median_hours_and_overdue_and_ignore_cancelled():
    pb, other, empty = (Playbook.objects.create(name=n) for n in ("A", "B", "C"))
    for hours in (2, 10, 30):
        TaskFactory(
            playbook=pb,
            status=TaskStatus.DONE,
            created_at=CREATED,
            completed_at=CREATED + dt.timedelta(hours=hours),
        )
    TaskFactory(playbook=pb, status=TaskStatus.OPEN, due_on=DAY - dt.timedelta(days=1))  # overdue
    TaskFactory(playbook=pb, status=TaskStatus.WAITING, due_on=DAY)  # due today: not overdue
    TaskFactory(playbook=pb, status=TaskStatus.CANCELLED, due_on=DAY - dt.timedelta(days=5))
    TaskFactory(playbook=other, status=TaskStatus.DONE, created_at=CREATED, completed_at=CREATED)

    stats = playbook_task_stats([pb.pk, empty.pk], day=DAY)

    assert stats[pb.pk] == {
        "tasks": 5,
        "done": 3,
        "completion_rate": 0.6,
        "median_hours_to_complete": 10.0,
        "overdue": 1,
    }
    assert stats[empty.pk] == {
        "tasks": 0,
        "done": 0,
        "completion_rate": None,
        "median_hours_to_complete": None,
        "overdue": 0,
    }
    assert other.pk not in stats


def test_person_stats_belong_to_the_owner_even_when_delegated(user_with_role):
    owner = TaskFactory(status=TaskStatus.DONE, created_at=CREATED, completed_at=CREATED + dt.timedelta(hours=5)).owner
    TaskFactory(owner=owner, delegated_to=TaskFactory().owner, due_on=DAY - dt.timedelta(days=3))

    stats = person_task_stats([owner.pk], day=DAY)[owner.pk]

    assert (stats["tasks"], stats["done"], stats["completion_rate"], stats["overdue"]) == (2, 1, 0.5, 1)
    assert stats["median_hours_to_complete"] == 5.0
