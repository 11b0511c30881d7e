"""Overdue digests: one mail per person per business day through the outbox, listing owned and delegated
overdue tasks; nothing on weekends and Japanese holidays; the scheduler job waits for the morning."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from banso.core.choices import Role
from banso.core.models import ClosedDay
from banso.playbooks import task_alerts
from banso.playbooks.models import OutboxMessage, Task, TaskStatus

from ..accounts.factories import AccountFactory
from .factories_tasks import TaskFactory

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")
WEDNESDAY = dt.date(2026, 11, 25)
LABOUR_THANKSGIVING = dt.date(2026, 11, 23)  # 勤労感謝の日, a Monday
SATURDAY = dt.date(2026, 11, 28)


@pytest.fixture
def people(user_with_role):
    return user_with_role(Role.CSM), user_with_role(Role.ASSISTANT), user_with_role(Role.CSM)


def _overdue(owner, day, **kwargs):
    return TaskFactory(owner=owner, due_on=day - dt.timedelta(days=1), **kwargs)


def test_one_digest_per_person_listing_owned_and_delegated_tasks(people):
    owner, assistant, other = people
    delegated = _overdue(owner, WEDNESDAY, title="ログイン状況の確認", delegated_to=assistant, account=AccountFactory())
    _overdue(owner, WEDNESDAY, title="更新提案")
    _overdue(other, WEDNESDAY, title="別の人のタスク")
    TaskFactory(owner=other, due_on=WEDNESDAY, title="今日が期限")  # not overdue yet
    _overdue(other, WEDNESDAY, title="完了済み", status=TaskStatus.DONE)

    assert task_alerts.send_overdue_digests(WEDNESDAY) == 3

    mails = {m.to_email: m for m in OutboxMessage.objects.filter(source="tasks")}
    assert set(mails) == {owner.email, assistant.email, other.email}
    assert "ログイン状況の確認" in mails[owner.email].body_text and "更新提案" in mails[owner.email].body_text
    assert "ログイン状況の確認" in mails[assistant.email].body_text
    assert "更新提案" not in mails[assistant.email].body_text
    assert delegated.account.name in mails[assistant.email].body_text
    assert f"/playbooks/tasks/{delegated.pk}/" in mails[assistant.email].body_text
    other_body = mails[other.email].body_text
    assert "別の人のタスク" in other_body and "今日が期限" not in other_body and "完了済み" not in other_body
    assert mails[owner.email].dedupe_key == f"overdue:{owner.pk}:{WEDNESDAY}"
    assert set(Task.objects.exclude(overdue_alerted_on=None).values_list("title", flat=True)) == {
        "ログイン状況の確認",
        "更新提案",
        "別の人のタスク",
    }


def test_a_second_run_the_same_day_sends_nothing_more(people):
    _overdue(people[0], WEDNESDAY)
    task_alerts.send_overdue_digests(WEDNESDAY)
    task_alerts.send_overdue_digests(WEDNESDAY)
    assert OutboxMessage.objects.filter(source="tasks").count() == 1
    task_alerts.send_overdue_digests(WEDNESDAY + dt.timedelta(days=1))
    assert OutboxMessage.objects.filter(source="tasks").count() == 2


@pytest.mark.parametrize("day", [LABOUR_THANKSGIVING, SATURDAY])
def test_no_mail_on_holidays_and_weekends(people, day):
    _overdue(people[0], day - dt.timedelta(days=3))
    assert task_alerts.send_overdue_digests(day) == 0
    assert not OutboxMessage.objects.exists()


def test_no_mail_on_the_companys_closed_days(people):
    ClosedDay.objects.create(date=WEDNESDAY, name="創立記念日")
    _overdue(people[0], WEDNESDAY)
    assert task_alerts.send_overdue_digests(WEDNESDAY) == 0


def test_scheduler_job_waits_for_the_morning_and_runs_once_a_day(people):
    _overdue(people[0], WEDNESDAY)
    assert task_alerts.due(dt.datetime.combine(WEDNESDAY, dt.time(7, 59), TOKYO)) is None
    assert task_alerts.due(dt.datetime.combine(WEDNESDAY, dt.time(8, 0), TOKYO)) is not None
    assert task_alerts.due(dt.datetime.combine(WEDNESDAY, dt.time(8, 1), TOKYO)) is None
    assert OutboxMessage.objects.count() == 1
    assert task_alerts.due(dt.datetime.combine(SATURDAY, dt.time(9, 0), TOKYO)) is None


def test_the_job_is_registered():
    from banso.core.schedule import scheduled_jobs

    assert "playbooks.overdue_tasks" in {job.name for job in scheduled_jobs()}
