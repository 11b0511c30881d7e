"""What each step action does: tasks by owner rule with merge fields and business-day due dates, templated
mail through the outbox, webhook payloads, tags, audited field changes, and settings checked at save time."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from banso.core.choices import Role
from banso.core.models import AuditEntry
from banso.playbooks import actions, templating
from banso.playbooks.models import OutboxMessage, OwnerRule, Step, StepAction, TaskStatus

from ..accounts.factories import AccountFactory, ContactFactory
from ..core.factories import TeamFactory, UserFactory
from .factories import EmailTemplateFactory, PlaybookFactory, RunFactory, TaskTemplateFactory
from .factories_tasks import TaskFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 4, 28, 1, 0, tzinfo=dt.UTC)  # Tuesday 10:00 in Tokyo


def do(action, params, run):
    step = Step(playbook=run.playbook, position=1, action=action, params=params)
    with transaction.atomic():
        return actions.execute(step, run, NOW)


def test_task_has_merged_title_intent_checklist_and_a_due_date_in_business_days():
    owner = UserFactory()
    run = RunFactory(account=AccountFactory(name="株式会社ひまわり", owner=owner))
    template = TaskTemplateFactory(title="{{ account.name }}の利用状況を確認", due_business_days=3)

    task = do(StepAction.TASK, {"template_id": template.pk}, run).task

    assert task.title == "株式会社ひまわりの利用状況を確認"
    assert task.intent == template.intent and task.owner == owner
    assert (task.run, task.playbook, task.account) == (run, run.playbook, run.account)
    assert list(task.checklist.values_list("text", flat=True)) == ["利用状況を確認", "電話する"]
    assert task.due_on == dt.date(2026, 5, 7)  # 4/29 and 5/4–5/6 are holidays
    assert AuditEntry.objects.get(object_type="playbooks.task").via == "playbook"


def test_account_owner_rule_falls_back_to_the_templates_person_then_the_playbook_creator():
    account = AccountFactory(owner=None)
    playbook = PlaybookFactory()
    person = UserFactory()
    assert actions.choose_owner(TaskTemplateFactory(owner_user=person), account, playbook) == person
    assert actions.choose_owner(TaskTemplateFactory(), account, playbook) == playbook.created_by
    with pytest.raises(actions.ActionError):
        actions.choose_owner(TaskTemplateFactory(), account, None)


def test_role_rule_picks_the_active_person_with_the_fewest_open_tasks():
    busy, free, gone = (UserFactory(role=Role.ASSISTANT) for _ in range(3))
    TaskFactory(owner=busy)
    TaskFactory(owner=free, status=TaskStatus.DONE)
    TaskFactory(owner=free, status=TaskStatus.DONE)
    gone.is_active = False
    gone.save()
    template = TaskTemplateFactory(owner_rule=OwnerRule.ROLE, owner_role=Role.ASSISTANT)
    assert actions.choose_owner(template, AccountFactory(), None) == free


def test_round_robin_goes_through_the_team_in_order_and_wraps():
    team = TeamFactory()
    members = [UserFactory() for _ in range(3)]
    team.members.set(members)
    template = TaskTemplateFactory(owner_rule=OwnerRule.ROUND_ROBIN, owner_team=team)
    account = AccountFactory()
    with transaction.atomic():
        chosen = [actions.choose_owner(template, account, None) for _ in range(4)]
    assert chosen == [*members, members[0]]
    template.refresh_from_db()
    assert template.last_assigned == members[0]


def test_email_goes_through_the_outbox_with_merge_fields_once_per_address():
    owner = UserFactory(display_name="佐藤 花子")
    account = AccountFactory(name="株式会社ひまわり", owner=owner)
    ContactFactory(account=account, name="田中 一郎", email="tanaka@example.jp", is_primary=True)
    ContactFactory(account=account, email="suzuki@example.jp")
    ContactFactory(account=account, email="left@example.jp", left_on=dt.date(2026, 1, 1))
    template = EmailTemplateFactory(tech_touch=True)
    run = RunFactory(account=account)

    do(StepAction.EMAIL, {"template_id": template.pk, "audience": "primary"}, run)
    do(StepAction.EMAIL, {"template_id": template.pk, "audience": "primary"}, run)  # a retry adds nothing

    message = OutboxMessage.objects.get()
    assert message.to_email == "tanaka@example.jp" and message.unsubscribable
    assert message.subject == "株式会社ひまわり様 ご利用状況のご案内"
    assert message.body_text.startswith("田中 一郎様") and "佐藤 花子" in message.body_text
    assert message.dedupe_key == f"run:{run.pk}:step:1:tanaka@example.jp"

    do(StepAction.EMAIL, {"template_id": template.pk, "audience": "contacts"}, RunFactory(account=account))
    assert OutboxMessage.objects.count() == 3  # the other current contact too, not the one who left


def test_webhook_payload_carries_slack_text_and_the_account():
    account = AccountFactory(name="株式会社ひまわり", tier="high")
    run = RunFactory(account=account)
    do(StepAction.WEBHOOK, {"url": "https://hooks.example.jp/x", "text": "{{ account.name }}が赤になりました"}, run)
    message = OutboxMessage.objects.get(kind="webhook")
    assert message.url == "https://hooks.example.jp/x"
    assert message.payload["text"] == "株式会社ひまわりが赤になりました"
    assert message.payload["account"]["name"] == "株式会社ひまわり"
    assert (message.payload["run"], message.payload["playbook"]["id"]) == (run.pk, run.playbook_id)


def test_tags_are_added_and_removed_with_an_audit_entry():
    run = RunFactory()
    do(StepAction.ADD_TAG, {"tag": "要フォロー"}, run)
    do(StepAction.ADD_TAG, {"tag": "要フォロー"}, run)
    assert list(run.account.tags.values_list("name", flat=True)) == ["要フォロー"]
    do(StepAction.REMOVE_TAG, {"tag": "要フォロー"}, run)
    assert not run.account.tags.exists()
    assert sorted(AuditEntry.objects.filter(account_id=run.account_id).values_list("action", flat=True)) == [
        "create",
        "delete",
    ]


def test_set_field_changes_the_account_through_its_audited_service():
    account = AccountFactory(tier="low", attributes={"plan": "A"})
    run = RunFactory(account=account)
    do(StepAction.SET_FIELD, {"field": "tier", "value": "tech"}, run)
    do(StepAction.SET_FIELD, {"field": "attributes.onboarded", "value": True}, run)
    account.refresh_from_db()
    assert account.tier == "tech" and account.attributes == {"plan": "A", "onboarded": True}
    entries = AuditEntry.objects.filter(object_type="accounts.account", account_id=account.pk).order_by("id")
    assert [e.via for e in entries] == ["playbook", "playbook"]
    assert entries[0].changes["tier"] == ["low", "tech"]


@pytest.mark.parametrize(
    ("action", "params", "field"),
    [
        (StepAction.SET_FIELD, {"field": "name", "value": "x"}, "params.field"),
        (StepAction.SET_FIELD, {"field": "tier", "value": "gold"}, "params.value"),
        (StepAction.SET_FIELD, {"field": "owner", "value": 999999}, "params.value"),
        (StepAction.WEBHOOK, {"url": "ftp://x", "text": "a"}, "params.url"),
        (StepAction.WEBHOOK, {"url": "https://x.jp", "text": "{{ acount.name }}"}, "params.text"),
        (StepAction.TASK, {"template_id": 999999}, "params.template_id"),
        (StepAction.EMAIL, {"template_id": None}, "params.template_id"),
        (StepAction.ADD_TAG, {"tag": ""}, "params.tag"),
    ],
)
def test_step_settings_are_refused_naming_the_field(action, params, field):
    with pytest.raises(ValidationError) as refused:
        actions.validate_params(action, params)
    assert field in refused.value.message_dict


def test_unknown_merge_fields_and_unsafe_tags_are_refused_at_save_time():
    assert templating.check("{{ account.name }}様 {{ account.attributes.plan }}") == []
    assert "{{ contact.nmae }}" in templating.check("{% if account.tier %}{{ contact.nmae }}{% endif %}")[0]
    assert "{{ acount }}" in templating.check("{{ acount.name }}")[0]
    assert "include" in templating.check("{% include 'base.html' %}")[0]
    assert templating.check("{% load static %}")
    with pytest.raises(ValidationError) as refused:
        templating.validate("{{ owner.phone }}", "body")
    assert "body" in refused.value.message_dict
