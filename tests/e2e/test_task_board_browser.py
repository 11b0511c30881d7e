"""End to end in Chromium: a CSM drags a task card from 未着手 to 対応中 on the task board; the card moves
column and the task is saved in progress."""

import pytest
from playwright.sync_api import Page, expect

from banso.core.choices import Role
from banso.playbooks.models import TaskStatus

from ..core.factories import UserFactory
from ..playbooks.factories_tasks import TaskFactory
from .test_browser import sign_in, snap

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_csm_drags_a_task_card_to_in_progress(page: Page, live_server):
    csm = UserFactory(username="csm-board", role=Role.CSM)
    task = TaskFactory(owner=csm, title="解約予兆の確認")

    page.goto("/playbooks/tasks/board/")
    sign_in(page, "csm-board")
    card = page.locator(f".board-column[data-status='open'] .task-card[data-task='{task.pk}']")
    expect(card).to_contain_text("解約予兆の確認")

    card.drag_to(page.locator(".board-column[data-status='in_progress']"))

    moved = page.locator(f".board-column[data-status='in_progress'] .task-card[data-task='{task.pk}']")
    expect(moved).to_be_visible()
    expect(page.locator(f".board-column[data-status='open'] .task-card[data-task='{task.pk}']")).to_have_count(0)
    snap(page, "playbooks-task-dragged")
    task.refresh_from_db()
    assert task.status == TaskStatus.IN_PROGRESS and task.started_at is not None
