"""Playbook pages: the list, the editor and its steps, the detail with runs and effect, the run's step log,
the template pages with preview and test send, and the Account 360 card that starts a manual playbook."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from banso.core.choices import Role
from banso.playbooks.models import (
    EmailTemplate,
    OutboxMessage,
    Playbook,
    PlaybookRun,
    PlaybookRunStatus,
    RunStep,
    StepAction,
    StepOutcome,
    TaskTemplate,
)

from ..accounts.factories import AccountFactory, ContactFactory
from .factories import EmailTemplateFactory, PlaybookFactory, RunFactory, StepFactory, TaskTemplateFactory

pytestmark = pytest.mark.django_db


def test_list_shows_each_playbook_with_its_runs_to_anyone_who_sees_accounts(client_as):
    playbook = PlaybookFactory(name="更新90日前フォロー")
    RunFactory(playbook=playbook)
    RunFactory(playbook=playbook, status=PlaybookRunStatus.COMPLETED)
    response = client_as(Role.VIEWER).get(reverse("playbooks:playbooks"))
    assert response.status_code == 200
    row = response.content.decode().split("更新90日前フォロー")[1].split("</tr>")[0]
    assert '<td class="num">1</td><td class="num">1</td><td class="num">0</td>' in row
    assert reverse("playbooks:playbook_new") not in response.content.decode()


def test_a_manager_creates_a_playbook_and_refusals_name_the_field(client_as):
    client = client_as(Role.OPS_MANAGER)
    data = {"name": "赤になったら", "trigger": "manual", "cooldown_days": 30, "is_active": "on"}
    response = client.post(reverse("playbooks:playbook_new"), {**data, "trigger_params": '{"days": 3}'})
    assert response.status_code == 200
    assert "trigger_params" in response.context["form"].errors
    assert not Playbook.objects.exists()

    response = client.post(reverse("playbooks:playbook_new"), {**data, "conditions": "[{"})
    assert "conditions" in response.context["form"].errors

    response = client.post(reverse("playbooks:playbook_new"), data)
    playbook = Playbook.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("playbooks:playbook", args=[playbook.pk])
    assert playbook.created_by is not None and playbook.is_active


def test_steps_are_added_checked_moved_and_removed(client_as):
    client = client_as(Role.ADMIN)
    playbook = PlaybookFactory()
    template = TaskTemplateFactory()
    url = reverse("playbooks:step_add", args=[playbook.pk])

    refused = client.post(url, {"wait_days": 0, "condition": "always", "action": StepAction.EMAIL})
    assert refused.status_code == 200 and "email_template" in refused.context["form"].errors

    base = {"condition": "always", "business_days": "on"}
    client.post(url, {**base, "wait_days": 0, "action": StepAction.TASK, "task_template": template.pk})
    client.post(url, {**base, "wait_days": 3, "action": StepAction.ADD_TAG, "tag": "要フォロー"})
    first, second = playbook.steps.order_by("position")
    assert (first.action, first.params) == (StepAction.TASK, {"template_id": template.pk})
    assert (second.wait_days, second.params) == (3, {"tag": "要フォロー"})

    client.post(reverse("playbooks:step_move", args=[second.pk]), {"direction": "up"})
    assert list(playbook.steps.order_by("position").values_list("action", flat=True)) == ["add_tag", "task"]

    client.post(reverse("playbooks:step_delete", args=[first.pk]))
    assert list(playbook.steps.values_list("action", flat=True)) == ["add_tag"]


def test_editing_pages_are_for_managers_only(client_as):
    playbook = PlaybookFactory()
    csm = client_as(Role.CSM)
    assert csm.get(reverse("playbooks:playbook_edit", args=[playbook.pk])).status_code == 403
    assert csm.post(reverse("playbooks:step_add", args=[playbook.pk]), {}).status_code == 403
    assert csm.get(reverse("playbooks:playbook", args=[playbook.pk])).status_code == 200


def test_detail_shows_steps_runs_and_effect_and_the_run_page_its_step_log(client_as):
    playbook = PlaybookFactory()
    StepFactory(playbook=playbook, action=StepAction.ADD_TAG, params={"tag": "x"}, position=1)
    run = RunFactory(playbook=playbook, account=AccountFactory(name="株式会社ひまわり"), status="failed")
    RunStep.objects.create(
        run=run, position=1, action=StepAction.ADD_TAG, outcome=StepOutcome.FAILED, detail="宛先がありません"
    )
    client = client_as(Role.CSM)
    page = client.get(reverse("playbooks:playbook", args=[playbook.pk])).content.decode()
    assert "株式会社ひまわり" in page and 'id="effect-table"' in page and 'id="effect-too-small"' in page
    log = client.get(reverse("playbooks:run", args=[run.pk])).content.decode()
    assert "宛先がありません" in log and "step-failed" in log


def test_cancelling_a_run_from_its_page_needs_a_manager(client_as):
    run = RunFactory()
    assert client_as(Role.CSM).post(reverse("playbooks:run_cancel", args=[run.pk])).status_code == 403
    client_as(Role.OPS_MANAGER).post(reverse("playbooks:run_cancel", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == PlaybookRunStatus.CANCELLED


def test_email_template_with_an_unknown_merge_field_is_refused_at_save(client_as):
    client = client_as(Role.OPS_MANAGER)
    response = client.post(
        reverse("playbooks:email_template_new"),
        {"name": "案内", "subject": "{{ acount.name }}様", "body": "本文", "tech_touch": "on"},
    )
    assert response.status_code == 200 and "subject" in response.context["form"].errors
    assert "{{ acount }}" in str(response.context["form"].errors["subject"])
    assert not EmailTemplate.objects.exists()


def test_preview_renders_the_mail_for_a_chosen_account(client_as):
    account = AccountFactory(name="株式会社ひまわり")
    ContactFactory(account=account, name="田中 一郎", is_primary=True)
    response = client_as(Role.ADMIN).post(
        reverse("playbooks:email_template_preview"),
        {"subject": "{{ account.name }}様へ", "body": "{{ contact.name }}様", "preview_account": account.pk},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert "株式会社ひまわり様へ" in body and "田中 一郎様" in body


def test_test_send_goes_to_my_own_address_marked_as_a_test(client_as):
    client = client_as(Role.OPS_MANAGER)
    template = EmailTemplateFactory()
    client.post(reverse("playbooks:email_template_test", args=[template.pk]))
    message = OutboxMessage.objects.get()
    user = client.get(reverse("playbooks:templates")).context["user"]
    assert message.to_email == user.email
    assert message.subject.startswith("[テスト]") or message.subject.startswith("[Test]")
    assert "株式会社サンプル" in message.subject


def test_task_template_needs_the_team_for_round_robin(client_as):
    client = client_as(Role.ADMIN)
    data = {"name": "初回連絡", "title": "{{ account.name }}に電話", "owner_rule": "round_robin"}
    response = client.post(
        reverse("playbooks:task_template_new"), {**data, "due_business_days": 3, "priority": "normal"}
    )
    assert "owner_team" in response.context["form"].errors
    response = client.post(
        reverse("playbooks:task_template_new"),
        {**data, "owner_rule": "account_owner", "due_business_days": 3, "priority": "normal", "checklist": "a\n\nb"},
    )
    assert response.status_code == 302
    assert TaskTemplate.objects.get().checklist == ["a", "b"]


def test_account_card_lists_runs_and_starts_a_manual_playbook(client_as):
    account = AccountFactory()
    manual = PlaybookFactory(name="手動オンボーディング")
    StepFactory(playbook=manual, position=1, action=StepAction.ADD_TAG, params={"tag": "x"})
    RunFactory(account=account, started_at=timezone.now() - dt.timedelta(days=40))
    client = client_as(Role.CSM)
    page = client.get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert 'id="playbooks-card"' in page and 'id="account-runs"' in page
    form = client.get(reverse("playbooks:playbook_start_form", args=[account.pk])).content.decode()
    assert 'id="start-playbook"' in form and "手動オンボーディング" in form

    response = client.post(reverse("playbooks:playbook_start"), {"playbook": manual.pk, "account_id": account.pk})
    run = PlaybookRun.objects.get(playbook=manual)
    assert response["Location"] == reverse("playbooks:run", args=[run.pk])
    assert run.started_by is not None and run.account == account
    assert client_as(Role.VIEWER).post(reverse("playbooks:playbook_start"), {}).status_code == 403
