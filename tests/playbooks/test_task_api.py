"""The tasks API: one's own list by default, managers may ask for a person or team; create, read, patch,
comment, tick, delegate; other people's tasks are 403; refusals are 422 naming the field."""

import datetime as dt

import pytest

from banso.core.choices import Role
from banso.core.models import AuditEntry, Team
from banso.playbooks.models import Task, TaskStatus
from banso.playbooks.worklist import today

from ..accounts.factories import AccountFactory
from .factories_tasks import ChecklistItemFactory, TaskFactory

pytestmark = pytest.mark.django_db
URL = "/api/playbooks/tasks"


def fields(response):
    return [e["field"] for e in response.json()["detail"]]


def test_list_is_mine_and_delegated_to_me_by_default(api_as):
    client = api_as(Role.CSM)
    mine = TaskFactory(owner=client.user, due_on=today() - dt.timedelta(days=2))
    delegated = TaskFactory(delegated_to=client.user)
    TaskFactory()
    body = client.get(URL).json()
    assert {t["id"] for t in body} == {mine.pk, delegated.pk}
    assert next(t for t in body if t["id"] == mine.pk)["overdue"] is True
    assert [t["id"] for t in client.get(URL, {"due": "overdue"}).json()] == [mine.pk]
    assert fields(client.get(URL, {"due": "yesterday"})) == ["due"]


def test_only_managers_may_list_someone_elses_or_a_teams_tasks(api_as):
    csm = api_as(Role.CSM)
    other = TaskFactory()
    assert csm.get(URL, {"owner_id": other.owner_id}).status_code == 403
    manager = api_as(Role.OPS_MANAGER)
    assert [t["id"] for t in manager.get(URL, {"owner_id": other.owner_id}).json()] == [other.pk]
    team = Team.objects.create(name="T")
    team.members.add(other.owner)
    assert [t["id"] for t in manager.get(URL, {"team_id": team.pk}).json()] == [other.pk]


def test_create_with_checklist_and_refusals_name_the_field(api_as):
    client = api_as(Role.CSM)
    account = AccountFactory()
    response = client.post(
        URL,
        {
            "title": "オンボーディング面談",
            "intent": "定着のため",
            "account_id": account.pk,
            "checklist": ["日程調整", "資料送付"],
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["owner_id"] == client.user.pk and [i["text"] for i in body["checklist"]] == ["日程調整", "資料送付"]
    assert AuditEntry.objects.filter(object_type="playbooks.task", via="api").exists()
    bad = client.post(URL, {"title": "", "account_id": 0}, content_type="application/json")
    assert bad.status_code == 422 and fields(bad) == ["account_id"]
    bad = client.post(URL, {"title": " "}, content_type="application/json")
    assert bad.status_code == 422 and fields(bad) == ["title"]
    someone = TaskFactory().owner
    bad = client.post(URL, {"title": "x", "owner_id": someone.pk}, content_type="application/json")
    assert bad.status_code == 422 and fields(bad) == ["owner_id"]


def test_patch_status_due_priority_title(api_as):
    client = api_as(Role.CSM)
    task = TaskFactory(owner=client.user)
    response = client.patch(
        f"{URL}/{task.pk}",
        {"status": "done", "due_on": "2026-12-01", "priority": "high", "title": "新しい題名"},
        content_type="application/json",
    )
    assert response.status_code == 200
    task.refresh_from_db()
    assert (task.status, task.due_on, task.priority, task.title) == ("done", dt.date(2026, 12, 1), "high", "新しい題名")
    assert task.completed_at is not None
    bad = client.patch(f"{URL}/{task.pk}", {"title": None}, content_type="application/json")
    assert bad.status_code == 422 and fields(bad) == ["title"]


def test_other_peoples_tasks_are_403_unless_manager(api_as):
    assistant = api_as(Role.ASSISTANT)
    task = TaskFactory()
    item = ChecklistItemFactory(task=task)
    assert assistant.get(f"{URL}/{task.pk}").status_code == 403
    assert assistant.patch(f"{URL}/{task.pk}", {"status": "done"}, content_type="application/json").status_code == 403
    assert (
        assistant.post(f"{URL}/{task.pk}/comments", {"body": "x"}, content_type="application/json").status_code == 403
    )
    assert assistant.post(f"{URL}/{task.pk}/checklist/{item.pk}/toggle").status_code == 403
    assert Task.objects.get(pk=task.pk).status == TaskStatus.OPEN
    assert api_as(Role.OPS_MANAGER).get(f"{URL}/{task.pk}").status_code == 200
    assert assistant.get(f"{URL}/999999").status_code == 404


def test_delegate_comment_and_toggle_as_the_delegate(api_as):
    owner = api_as(Role.CSM)
    assistant = api_as(Role.ASSISTANT)
    task = TaskFactory(owner=owner.user, intent="更新前の確認")
    item = ChecklistItemFactory(task=task)
    response = owner.post(
        f"{URL}/{task.pk}/delegate",
        {"to_user_id": assistant.user.pk, "note": "確認して報告"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["delegated_to_id"] == assistant.user.pk and response.json()["intent"] == "更新前の確認"
    assert [t["id"] for t in assistant.get(URL).json()] == [task.pk]

    assert assistant.post(f"{URL}/{task.pk}/checklist/{item.pk}/toggle").json()["done"] is True
    comment = assistant.post(f"{URL}/{task.pk}/comments", {"body": "報告"}, content_type="application/json")
    assert comment.status_code == 201 and comment.json()["author_id"] == assistant.user.pk
    again = assistant.post(f"{URL}/{task.pk}/delegate", {"to_user_id": owner.user.pk}, content_type="application/json")
    assert again.status_code == 403
    bad = owner.post(f"{URL}/{task.pk}/delegate", {"to_user_id": 0}, content_type="application/json")
    assert bad.status_code == 422 and fields(bad) == ["to_user_id"]
    empty = owner.post(f"{URL}/{task.pk}/comments", {"body": ""}, content_type="application/json")
    assert empty.status_code == 422 and fields(empty) == ["body"]
