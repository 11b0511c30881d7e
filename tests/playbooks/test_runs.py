"""Playbook runs: steps in order with waits in Japanese business days, step conditions, failures that stay
visible, a step done once whoever asks, cancellation and the scheduler's job."""

import datetime as dt
import io
import threading
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django_tasks_db.models import DBTaskResult

from banso.core.models import AuditEntry
from banso.playbooks import runs
from banso.playbooks.models import (
    OutboxMessage,
    PlaybookRunStatus,
    RunStep,
    StepAction,
    StepCondition,
    StepOutcome,
    Task,
    TaskStatus,
)
from banso.success.models import TouchOutcome

from ..accounts.factories import AccountFactory, ContactFactory
from ..core.factories import UserFactory
from ..success.factories import TouchFactory
from .factories import EmailTemplateFactory, PlaybookFactory, StepFactory, TaskTemplateFactory

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")
# Tuesday before Golden Week: 4/29 (Wed), 5/3–5/5 and the substitute holiday 5/6 are closed.
START = dt.datetime(2026, 4, 28, 10, 0, tzinfo=TOKYO)


def day0_email_day3_task(condition=StepCondition.NO_REPLY):
    playbook = PlaybookFactory()
    StepFactory(
        playbook=playbook,
        position=1,
        action=StepAction.EMAIL,
        params={"template_id": EmailTemplateFactory().pk, "audience": "primary"},
    )
    StepFactory(
        playbook=playbook,
        position=2,
        wait_days=3,
        condition=condition,
        params={"template_id": TaskTemplateFactory().pk},
    )
    account = AccountFactory(owner=UserFactory())
    ContactFactory(account=account, is_primary=True, email="tanaka@example.jp")
    return playbook, account


def test_steps_follow_their_waits_in_business_days_across_golden_week():
    playbook, account = day0_email_day3_task()
    run = runs.start_run(playbook, account, cause="test", now=START)
    assert run.next_due_at == START

    assert runs.advance_due(START) == {"done": 1, "skipped": 0, "failed": 0, "completed": 0}
    run.refresh_from_db()
    assert run.next_position == 2
    # 4/30 and 5/1 are the first two business days; the third is Thursday 5/7, at 9:00.
    assert run.next_due_at == dt.datetime(2026, 5, 7, 9, 0, tzinfo=TOKYO)
    assert OutboxMessage.objects.get(run=run).to_email == "tanaka@example.jp"

    assert runs.advance_due(dt.datetime(2026, 5, 7, 8, 59, tzinfo=TOKYO))["done"] == 0
    assert runs.advance_due(dt.datetime(2026, 5, 7, 9, 0, tzinfo=TOKYO)) == {
        "done": 1,
        "skipped": 0,
        "failed": 0,
        "completed": 1,
    }
    run.refresh_from_db()
    assert run.status == PlaybookRunStatus.COMPLETED
    assert [(s.position, s.outcome) for s in run.steps.all()] == [(1, StepOutcome.DONE), (2, StepOutcome.DONE)]
    assert Task.objects.get(run=run).due_on == dt.date(2026, 5, 12)  # 3 business days after 5/7


def test_calendar_day_waits_count_every_day():
    playbook = PlaybookFactory()
    StepFactory(playbook=playbook, position=1, action=StepAction.ADD_TAG, params={"tag": "a"})
    StepFactory(
        playbook=playbook, position=5, wait_days=3, business_days=False, action=StepAction.ADD_TAG, params={"tag": "b"}
    )
    run = runs.start_run(playbook, AccountFactory(), cause="test", now=START)
    runs.advance_due(START)
    run.refresh_from_db()
    assert (run.next_position, run.next_due_at) == (5, START + dt.timedelta(days=3))


def test_steps_due_at_once_run_in_the_same_call():
    playbook = PlaybookFactory()
    for position, tag in ((1, "a"), (2, "b"), (3, "c")):
        StepFactory(playbook=playbook, position=position, action=StepAction.ADD_TAG, params={"tag": tag})
    account = AccountFactory()
    runs.start_run(playbook, account, cause="test", now=START)
    assert runs.advance_due(START) == {"done": 3, "skipped": 0, "failed": 0, "completed": 1}
    assert sorted(account.tags.values_list("name", flat=True)) == ["a", "b", "c"]


def test_no_reply_step_is_skipped_when_the_customer_answered():
    playbook, account = day0_email_day3_task()
    run = runs.start_run(playbook, account, cause="test", now=START)
    runs.advance_due(START)
    TouchFactory(account=account, outcome=TouchOutcome.NO_REACTION, occurred_at=START + dt.timedelta(hours=2))
    TouchFactory(account=account, outcome=TouchOutcome.QUESTION, occurred_at=START - dt.timedelta(days=3))
    other = runs.start_run(playbook, ContactFactory(is_primary=True).account, cause="other", now=START)
    runs.advance_due(START)
    TouchFactory(account=other.account, outcome=TouchOutcome.QUESTION, occurred_at=START + dt.timedelta(days=1))

    counts = runs.advance_due(dt.datetime(2026, 5, 8, 9, 0, tzinfo=TOKYO))

    assert RunStep.objects.get(run=run, position=2).outcome == StepOutcome.DONE  # no reaction / before the run
    skipped = RunStep.objects.get(run=other, position=2)
    assert skipped.outcome == StepOutcome.SKIPPED
    assert not Task.objects.filter(run=other).exists()
    assert counts["skipped"] == 1
    other.refresh_from_db()
    assert other.status == PlaybookRunStatus.COMPLETED


def test_tasks_open_condition_reads_the_runs_tasks():
    playbook = PlaybookFactory()
    StepFactory(playbook=playbook, position=1, params={"template_id": TaskTemplateFactory().pk})
    StepFactory(
        playbook=playbook,
        position=2,
        wait_days=1,
        condition=StepCondition.TASKS_OPEN,
        action=StepAction.ADD_TAG,
        params={"tag": "escalated"},
    )
    account = AccountFactory(owner=UserFactory())
    run = runs.start_run(playbook, account, cause="test", now=START)
    runs.advance_due(START)
    Task.objects.filter(run=run).update(status=TaskStatus.DONE)
    runs.advance_due(START + dt.timedelta(days=5))
    assert RunStep.objects.get(run=run, position=2).outcome == StepOutcome.SKIPPED
    assert not account.tags.exists()


def test_a_failed_step_stops_the_run_and_says_why():
    playbook, account = day0_email_day3_task()
    account.contacts.all().delete()
    run = runs.start_run(playbook, account, cause="test", now=START)

    assert runs.advance_due(START)["failed"] == 1

    run.refresh_from_db()
    assert run.status == PlaybookRunStatus.FAILED and run.next_due_at is None
    step = run.steps.get()
    assert step.outcome == StepOutcome.FAILED
    assert "アドレス" in step.detail or "address" in step.detail
    assert runs.advance_due(dt.datetime(2026, 6, 1, tzinfo=TOKYO))["done"] == 0
    assert not OutboxMessage.objects.exists()


def test_a_failing_step_leaves_nothing_half_written():
    playbook = PlaybookFactory()
    StepFactory(playbook=playbook, position=1, action=StepAction.SET_FIELD, params={"field": "tier", "value": "x"})
    account = AccountFactory(tier="low")
    run = runs.start_run(playbook, account, cause="test", now=START)
    runs.advance_due(START)
    account.refresh_from_db()
    assert account.tier == "low"
    assert run.steps.get().outcome == StepOutcome.FAILED


def test_a_step_is_done_once_when_two_workers_ask():
    playbook, account = day0_email_day3_task()
    run = runs.start_run(playbook, account, cause="test", now=START)
    assert runs.advance_run(run.pk, START) is not None
    assert runs.advance_run(run.pk, START) is None  # no longer due: the run moved on to step 2
    assert RunStep.objects.filter(run=run).count() == 1
    assert OutboxMessage.objects.filter(run=run).count() == 1


def test_cancelling_stops_the_run_and_is_audited():
    playbook, account = day0_email_day3_task()
    manager = UserFactory(role="ops_manager")
    run = runs.start_run(playbook, account, cause="test", now=START)
    runs.cancel_run(run, manager)
    assert runs.advance_due(START)["done"] == 0
    run.refresh_from_db()
    assert run.status == PlaybookRunStatus.CANCELLED
    entry = AuditEntry.objects.get(object_type="playbooks.playbookrun", action="update")
    assert entry.actor == manager and entry.changes["status"] == ["active", "cancelled"]
    with pytest.raises(ValidationError):
        runs.cancel_run(run, manager)


def test_manual_start_is_refused_while_a_run_is_going_or_the_playbook_is_off():
    playbook, account = day0_email_day3_task()
    user = UserFactory()
    runs.start_manually(playbook, account, user, now=START)
    with pytest.raises(ValidationError) as refused:
        runs.start_manually(playbook, account, user, now=START + dt.timedelta(minutes=1))
    assert "account_id" in refused.value.message_dict
    playbook.is_active = False
    with pytest.raises(ValidationError):
        runs.start_manually(playbook, AccountFactory(), user)


def test_scheduler_queues_the_advance_task_once_per_slot_and_only_when_steps_are_due():
    assert runs.scheduled_job(START) is None
    playbook, account = day0_email_day3_task()
    runs.start_run(playbook, account, cause="test", now=START)
    assert runs.scheduled_job(START) is not None
    assert runs.scheduled_job(START + dt.timedelta(seconds=30)) is None
    assert DBTaskResult.objects.count() == 1


def test_banso_playbooks_advance_carries_out_due_steps():
    playbook = PlaybookFactory()
    StepFactory(playbook=playbook, position=1, action=StepAction.ADD_TAG, params={"tag": "a"})
    runs.start_run(playbook, AccountFactory(), cause="test")
    out = io.StringIO()
    call_command("playbooks", "advance", stdout=out)
    assert out.getvalue().strip() == "steps done 1, skipped 0, failed 0; runs completed 1"


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_do_a_step_once():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (SQLite serialises writers)")
    playbook, account = day0_email_day3_task()
    run = runs.start_run(playbook, account, cause="test", now=START)
    barrier = threading.Barrier(4)
    results = []

    def worker():
        try:
            barrier.wait()
            results.append(runs.advance_run(run.pk, START))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(1 for r in results if r is not None) == 1 and len(results) == 4
    assert RunStep.objects.filter(run=run).count() == 1
    assert OutboxMessage.objects.filter(run=run).count() == 1
