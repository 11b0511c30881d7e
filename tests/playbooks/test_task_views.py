"""Task pages: my list with its filters, the board and its drag endpoint, the detail page's actions, the
new-task form from an account, the figures page; other people's tasks are refused."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from banso.core.choices import Role
from banso.core.models import Team
from banso.playbooks.models import Task, TaskStatus
from banso.playbooks.worklist import today

from ..accounts.factories import AccountFactory
from .factories_tasks import ChecklistItemFactory, TaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def csm(user_with_role):
    return user_with_role(Role.CSM)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_my_tasks_lists_mine_and_delegated_to_me_and_flags_overdue(csm, user_with_role):
    other = user_with_role(Role.CSM)
    late = TaskFactory(owner=csm, title="期限切れのタスク", due_on=today() - dt.timedelta(days=1))
    TaskFactory(owner=other, title="委任されたタスク", delegated_to=csm)
    TaskFactory(owner=other, title="他人のタスク")
    TaskFactory(owner=csm, title="完了済み", status=TaskStatus.DONE)

    page = signed_in(csm).get(reverse("playbooks:tasks")).content.decode()

    assert "期限切れのタスク" in page and "委任されたタスク" in page
    assert "他人のタスク" not in page and "完了済み" not in page
    assert 'class="overdue"' in page
    overdue_only = signed_in(csm).get(reverse("playbooks:tasks"), {"due": "overdue"}).content.decode()
    assert "期限切れのタスク" in overdue_only and "委任されたタスク" not in overdue_only
    assert late.pk


def test_manager_sees_a_person_and_a_team(user_with_role, csm):
    manager = user_with_role(Role.OPS_MANAGER)
    team = Team.objects.create(name="CS1")
    team.members.add(csm)
    TaskFactory(owner=csm, title="メンバーのタスク")
    TaskFactory(title="チーム外のタスク")
    client = signed_in(manager)
    assert "メンバーのタスク" in client.get(reverse("playbooks:tasks"), {"owner": csm.pk}).content.decode()
    page = client.get(reverse("playbooks:tasks"), {"team": team.pk}).content.decode()
    assert "メンバーのタスク" in page and "チーム外のタスク" not in page
    # A CSM's owner filter is ignored: they only ever see their own.
    assert "チーム外のタスク" not in signed_in(csm).get(reverse("playbooks:tasks"), {"team": team.pk}).content.decode()


def test_board_drop_changes_the_status_and_redraws_the_board(csm):
    task = TaskFactory(owner=csm, title="ドラッグするタスク")
    client = signed_in(csm)
    board = client.get(reverse("playbooks:task_board")).content.decode()
    assert f'data-task="{task.pk}" data-status="open"' in board

    response = client.post(
        reverse("playbooks:task_move", args=[task.pk]), {"status": "in_progress"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert f'data-task="{task.pk}" data-status="in_progress"' in response.content.decode()
    task.refresh_from_db()
    assert task.status == TaskStatus.IN_PROGRESS and task.started_at is not None


def test_board_fallback_post_redirects_and_bad_status_is_refused(csm):
    task = TaskFactory(owner=csm)
    client = signed_in(csm)
    assert client.post(reverse("playbooks:task_move", args=[task.pk]), {"status": "done"}).status_code == 302
    assert Task.objects.get(pk=task.pk).status == TaskStatus.DONE
    assert client.post(reverse("playbooks:task_move", args=[task.pk]), {"status": "nope"}).status_code == 422


def test_someone_elses_task_is_forbidden_to_an_assistant(user_with_role):
    task = TaskFactory()
    assistant = signed_in(user_with_role(Role.ASSISTANT))
    assert assistant.get(reverse("playbooks:task", args=[task.pk])).status_code == 403
    assert assistant.post(reverse("playbooks:task_move", args=[task.pk]), {"status": "done"}).status_code == 403
    assert Task.objects.get(pk=task.pk).status == TaskStatus.OPEN


def test_detail_shows_intent_checklist_and_toggles_by_htmx(csm):
    task = TaskFactory(owner=csm, intent="なぜこのタスクが必要か")
    item = ChecklistItemFactory(task=task, text="最初の確認")
    ChecklistItemFactory(task=task)
    client = signed_in(csm)
    page = client.get(reverse("playbooks:task", args=[task.pk])).content.decode()
    assert "なぜこのタスクが必要か" in page and "最初の確認" in page and 'aria-valuenow="0"' in page

    fragment = client.post(reverse("playbooks:task_toggle", args=[task.pk, item.pk]), HTTP_HX_REQUEST="true")

    assert 'aria-valuenow="50"' in fragment.content.decode()
    assert 'id="checklist-count">1/2<' in fragment.content.decode()


def test_delegate_and_comment_from_the_detail_page(csm, user_with_role):
    assistant = user_with_role(Role.ASSISTANT)
    task = TaskFactory(owner=csm, intent="意図")
    client = signed_in(csm)
    response = client.post(
        reverse("playbooks:task_delegate", args=[task.pk]), {"delegated_to": assistant.pk, "note": "調べてください"}
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.delegated_to == assistant and task.intent == "意図"

    assistant_client = signed_in(assistant)
    page = assistant_client.get(reverse("playbooks:task", args=[task.pk])).content.decode()
    assert "調べてください" in page and "意図" in page
    assert reverse("playbooks:task_delegate", args=[task.pk]) not in page  # only the owner delegates
    assistant_client.post(reverse("playbooks:task_comment", args=[task.pk]), {"body": "報告です"})
    assert task.comments.get().body == "報告です"
    refused = assistant_client.post(reverse("playbooks:task_delegate", args=[task.pk]), {"delegated_to": csm.pk})
    assert refused.status_code == 403


def test_new_task_from_an_account(csm):
    account = AccountFactory(name="株式会社伴走")
    client = signed_in(csm)
    assert "株式会社伴走" in client.get(reverse("playbooks:task_create"), {"account": account.pk}).content.decode()
    response = client.post(
        reverse("playbooks:task_create"),
        {"title": "電話する", "intent": "理由", "account": account.pk, "priority": "high", "checklist": "a\nb"},
    )
    task = Task.objects.get()
    assert response.status_code == 302 and task.account == account and task.owner == csm
    assert task.checklist.count() == 2
    refused = client.post(reverse("playbooks:task_create"), {"title": "", "priority": "high"})
    assert refused.status_code == 422 and 'id="field-title"' in refused.content.decode()


def test_stats_page_shows_the_numbers_beside_the_chart(user_with_role):
    manager = user_with_role(Role.OPS_MANAGER)
    owner = TaskFactory(status=TaskStatus.DONE).owner
    TaskFactory(owner=owner)
    page = signed_in(manager).get(reverse("playbooks:task_stats")).content.decode()
    assert 'data-chart="chart-people"' in page and "50%" in page


def test_account_360_links_to_a_new_task_for_the_account(csm, user_with_role):
    account = AccountFactory()
    page = signed_in(csm).get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert f"{reverse('playbooks:task_create')}?account={account.pk}" in page
    viewer_page = signed_in(user_with_role(Role.VIEWER)).get(reverse("accounts:detail", args=[account.pk]))
    assert reverse("playbooks:task_create") not in viewer_page.content.decode()


@pytest.mark.parametrize("name", ["playbooks:tasks", "playbooks:task_board"])
def test_list_and_board_queries_do_not_grow_with_the_tasks(csm, name, django_assert_max_num_queries):
    account = AccountFactory()
    for i in range(30):
        task = TaskFactory(owner=csm, account=account, due_on=today() + dt.timedelta(days=i - 5))
        ChecklistItemFactory(task=task)
    client = signed_in(csm)
    with django_assert_max_num_queries(12):
        assert client.get(reverse(name)).status_code == 200


def test_owner_takes_back_and_manager_reassigns(csm, user_with_role):
    assistant, manager, other = (
        user_with_role(Role.ASSISTANT),
        user_with_role(Role.OPS_MANAGER),
        user_with_role(Role.CSM),
    )
    task = TaskFactory(owner=csm, delegated_to=assistant, delegation_note="メモ")
    assert signed_in(assistant).post(reverse("playbooks:task_take_back", args=[task.pk])).status_code == 403
    assert signed_in(csm).post(reverse("playbooks:task_take_back", args=[task.pk])).status_code == 302
    task.refresh_from_db()
    assert task.delegated_to is None and task.delegation_note == ""
    response = signed_in(manager).post(reverse("playbooks:task_reassign", args=[task.pk]), {"owner": other.pk})
    assert response.status_code == 302
    assert Task.objects.get(pk=task.pk).owner == other
