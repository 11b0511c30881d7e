"""Task services: statuses keep their timestamps true, checklists, comments, delegation keeps the intent and the
owner accountable, who may see and change what; every change is audited."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from banso.core.choices import Role
from banso.core.models import AuditEntry
from banso.playbooks import worklist
from banso.playbooks.models import TaskStatus

from ..accounts.factories import AccountFactory
from .factories_tasks import ChecklistItemFactory, TaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def csm(user_with_role):
    return user_with_role(Role.CSM)


@pytest.fixture
def assistant(user_with_role):
    return user_with_role(Role.ASSISTANT)


def test_create_task_with_checklist_is_audited(csm):
    account = AccountFactory()
    task = worklist.create_task(
        title=" 更新提案の準備 ",
        intent="契約更新の3か月前なので",
        account=account,
        owner=csm,
        by=csm,
        checklist=["利用状況を確認", "", "  提案書を作成  "],
    )
    assert task.title == "更新提案の準備"
    assert [(i.position, i.text) for i in task.checklist.all()] == [(1, "利用状況を確認"), (2, "提案書を作成")]
    entry = AuditEntry.objects.get(object_type="playbooks.task", object_id=str(task.pk))
    assert entry.account_id == account.pk and entry.action == "create"


def test_create_task_refusals_name_the_field(csm, user_with_role):
    with pytest.raises(ValidationError) as exc:
        worklist.create_task(title="  ", owner=csm, by=csm, priority="urgent")
    assert set(exc.value.message_dict) == {"title", "priority"}
    with pytest.raises(ValidationError) as exc:
        worklist.create_task(title="x", owner=user_with_role(Role.VIEWER), by=None)
    assert "owner" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        worklist.create_task(title="x", owner=user_with_role(Role.CSM), by=csm)
    assert "owner" in exc.value.message_dict


def test_status_transitions_keep_started_and_completed_right(csm):
    task = TaskFactory(owner=csm)
    task = worklist.set_status(task, TaskStatus.IN_PROGRESS, csm)
    started = task.started_at
    assert started is not None and task.completed_at is None
    task = worklist.set_status(task, TaskStatus.WAITING, csm)
    task = worklist.set_status(task, TaskStatus.DONE, csm)
    assert task.started_at == started and task.completed_at is not None
    task = worklist.set_status(task, TaskStatus.OPEN, csm)  # reopened
    assert task.completed_at is None and task.started_at == started
    task = worklist.set_status(task, TaskStatus.CANCELLED, csm)
    assert task.completed_at is None
    assert AuditEntry.objects.filter(object_type="playbooks.task", action="update").count() == 5


def test_done_straight_from_open_counts_as_started(csm):
    task = worklist.set_status(TaskFactory(owner=csm), TaskStatus.DONE, csm)
    assert task.started_at == task.completed_at


def test_unknown_status_is_refused_naming_status(csm):
    with pytest.raises(ValidationError) as exc:
        worklist.set_status(TaskFactory(owner=csm), "finished", csm)
    assert list(exc.value.message_dict) == ["status"]


def test_checklist_progress_follows_ticks(csm):
    task = TaskFactory(owner=csm)
    first, second, _third = (ChecklistItemFactory(task=task) for _ in range(3))
    worklist.toggle_item(task, first.pk, csm)
    worklist.toggle_item(task, second.pk, csm)
    assert worklist.checklist_progress(task.checklist.all()) == (2, 3, 67)
    item = worklist.toggle_item(task, second.pk, csm)
    assert not item.done and item.done_at is None and item.done_by is None
    assert worklist.checklist_progress(task.checklist.all()) == (1, 3, 33)
    with pytest.raises(ValidationError):
        worklist.toggle_item(task, ChecklistItemFactory().pk, csm)  # another task's item


def test_delegation_keeps_intent_shows_in_assistants_list_and_owner_stays_accountable(csm, assistant):
    task = TaskFactory(owner=csm, intent="解約リスクが高いため")
    task = worklist.delegate(task, assistant, "過去3か月のログイン数を調べてコメントで報告してください", csm)

    assert task.intent == "解約リスクが高いため"
    assert task.owner == csm and task.delegated_to == assistant
    assert task.delegation_note.startswith("過去3か月")
    assert list(worklist.mine(assistant)) == [task]
    assert list(worklist.mine(csm)) == [task]
    assert worklist.person_task_stats([csm.pk])[csm.pk]["tasks"] == 1
    # The assistant works it but may not hand it on or take it over.
    worklist.set_status(task, TaskStatus.IN_PROGRESS, assistant)
    worklist.add_comment(task, assistant, "ログイン数は半減していました")
    with pytest.raises(PermissionDenied):
        worklist.delegate(task, assistant, "", assistant)
    with pytest.raises(PermissionDenied):
        worklist.reassign(task, assistant, assistant)
    task = worklist.take_back(task, csm)
    assert task.delegated_to is None and list(worklist.mine(assistant)) == []


def test_delegating_to_someone_who_cannot_work_tasks_is_refused(csm, user_with_role):
    with pytest.raises(ValidationError) as exc:
        worklist.delegate(TaskFactory(owner=csm), user_with_role(Role.VIEWER), "", csm)
    assert list(exc.value.message_dict) == ["delegated_to"]


def test_assistant_cannot_see_or_change_others_tasks(assistant, csm):
    task = TaskFactory(owner=csm)
    assert list(worklist.visible_tasks(assistant)) == []
    with pytest.raises(PermissionDenied):
        worklist.set_status(task, TaskStatus.DONE, assistant)
    with pytest.raises(PermissionDenied):
        worklist.add_comment(task, assistant, "x")


def test_manager_sees_all_and_may_reassign(user_with_role, csm):
    manager = user_with_role(Role.OPS_MANAGER)
    task = TaskFactory(owner=csm)
    assert list(worklist.visible_tasks(manager)) == [task]
    other = user_with_role(Role.CSM)
    task = worklist.reassign(task, other, manager)
    assert task.owner == other


def test_comment_must_say_something(csm):
    with pytest.raises(ValidationError) as exc:
        worklist.add_comment(TaskFactory(owner=csm), csm, "   ")
    assert list(exc.value.message_dict) == ["body"]
