"""Playbooks test data shared by the runs, actions, tasks, outbox and trigger tests: playbooks and their
steps, task and email templates, runs."""

import factory
from django.utils import timezone

from banso.playbooks.models import (
    EmailTemplate,
    OwnerRule,
    Playbook,
    PlaybookRun,
    Step,
    StepAction,
    TaskTemplate,
    TriggerKind,
)

from ..accounts.factories import AccountFactory
from ..core.factories import UserFactory


class PlaybookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Playbook

    name = factory.Sequence(lambda n: f"プレイブック{n}")
    trigger = TriggerKind.MANUAL
    cooldown_days = 30
    created_by = factory.SubFactory(UserFactory)


class TaskTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaskTemplate

    name = factory.Sequence(lambda n: f"タスクひな形{n}")
    title = "{{ account.name }}に連絡する"
    intent = "解約の兆候を早めに確かめるため"
    checklist = factory.LazyFunction(lambda: ["利用状況を確認", "電話する"])
    owner_rule = OwnerRule.ACCOUNT_OWNER
    due_business_days = 3


class EmailTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailTemplate

    name = factory.Sequence(lambda n: f"メールひな形{n}")
    subject = "{{ account.name }}様 ご利用状況のご案内"
    body = "{{ contact.name }}様\n\nいつもご利用ありがとうございます。\n{{ owner.name }}"
    tech_touch = True


class StepFactory(factory.django.DjangoModelFactory):
    """A task step by default (with its own template); pass action/params for others."""

    class Meta:
        model = Step

    playbook = factory.SubFactory(PlaybookFactory)
    position = factory.Sequence(lambda n: n + 1)
    wait_days = 0
    business_days = True
    action = StepAction.TASK
    params = factory.LazyFunction(lambda: {"template_id": TaskTemplateFactory().pk})


class RunFactory(factory.django.DjangoModelFactory):
    """An active run due now at its first step."""

    class Meta:
        model = PlaybookRun

    playbook = factory.SubFactory(PlaybookFactory)
    account = factory.SubFactory(AccountFactory)
    cause = factory.Sequence(lambda n: f"manual:{n}")
    next_position = 1
    started_at = factory.LazyFunction(timezone.now)
    next_due_at = factory.LazyFunction(timezone.now)
