"""`banso playbooks tasks`: open tasks, one person's (owned or delegated), overdue only."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from banso.playbooks.models import TaskStatus
from banso.playbooks.worklist import today

from .factories_tasks import TaskFactory

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command("playbooks", "tasks", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_lists_a_users_open_tasks_and_the_overdue_ones():
    late = TaskFactory(title="遅れているタスク", due_on=today() - dt.timedelta(days=1))
    TaskFactory(owner=late.owner, title="完了", status=TaskStatus.DONE)
    TaskFactory(title="他人の", delegated_to=late.owner, due_on=today())
    TaskFactory(title="無関係")

    mine = run("--user", late.owner.username)
    assert "遅れているタスク" in mine and "他人の" in mine and "無関係" not in mine and "完了" not in mine
    overdue = run("--overdue")
    assert "遅れているタスク" in overdue and "他人の" not in overdue
    assert "完了" in run("--all", "--user", late.owner.username)
