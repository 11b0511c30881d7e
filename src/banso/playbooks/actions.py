"""What a playbook step does: one function per `StepAction`, each run inside the caller's transaction, each
raising `ActionError` with a message a person can act on when it cannot be done (the run then shows as failed).

Also the checks of a step's settings (`validate_params`), so the editor, the API and execution agree."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.accounts.choices import LifecycleStage, TouchTier
from banso.accounts.models import Account, Contact
from banso.accounts.services import update_account
from banso.core.calendar import add_business_days
from banso.core.choices import AuditAction
from banso.core.models import User
from banso.core.services import record_change, snapshot

from . import templating
from .models import (
    OPEN_TASK_STATUSES,
    AccountTag,
    ChecklistItem,
    EmailAudience,
    EmailTemplate,
    OutboxMessage,
    OwnerRule,
    Playbook,
    PlaybookRun,
    Step,
    StepAction,
    Task,
    TaskTemplate,
)

VIA = "playbook"
SETTABLE_FIELDS = ("tier", "lifecycle_stage", "owner")
TASK_AUDITED = ("title", "owner", "status", "due_on", "priority")
MAX_TAG = 50


class ActionError(Exception):
    """A step that cannot be carried out, with the reason shown on the run."""


@dataclass
class Outcome:
    detail: str
    task: Task | None = None
    message: OutboxMessage | None = None


# Tasks -----------------------------------------------------------------------------------------------


def _active(user: User | None) -> User | None:
    return user if user is not None and user.is_active else None


def choose_owner(template: TaskTemplate, account: Account, playbook: Playbook | None) -> User:
    """The person a task from `template` goes to. Round-robin locks the template row so two workers
    creating tasks at once hand them to different people."""
    rule = template.owner_rule
    owner: User | None = None
    if rule == OwnerRule.ACCOUNT_OWNER:
        owner = (
            _active(account.owner if account.owner_id else None)
            or _active(template.owner_user)
            or _active(playbook.created_by if playbook else None)
        )
    elif rule == OwnerRule.USER:
        owner = _active(template.owner_user)
    elif rule == OwnerRule.ROLE:
        owner = (
            User.objects.filter(is_active=True, role=template.owner_role)
            .annotate(open_tasks=Count("owned_tasks", filter=Q(owned_tasks__status__in=OPEN_TASK_STATUSES)))
            .order_by("open_tasks", "id")
            .first()
        )
    elif rule == OwnerRule.ROUND_ROBIN:
        locked = TaskTemplate.objects.select_for_update().get(pk=template.pk)
        members = (
            list(User.objects.filter(teams=locked.owner_team_id, is_active=True).order_by("id"))
            if locked.owner_team_id
            else []
        )
        if members:
            after = [m for m in members if locked.last_assigned_id is not None and m.pk > locked.last_assigned_id]
            owner = after[0] if after else members[0]
            locked.last_assigned = owner
            locked.save(update_fields=["last_assigned"])
            template.last_assigned = owner
    if owner is None:
        raise ActionError(_("Nobody to give the task to: check the task template's owner rule."))
    return owner


def create_task(
    template: TaskTemplate,
    account: Account,
    *,
    playbook: Playbook | None = None,
    run: PlaybookRun | None = None,
    today: dt.date | None = None,
) -> Task:
    """A task from a template for an account: merge fields in the title, the intent and checklist kept, the
    owner by the template's rule, due after its business days. Audited as created by the playbook."""
    today = today or timezone.localdate()
    owner = choose_owner(template, account, playbook)
    title = templating.render(template.title, templating.context_for(account, playbook=playbook)).strip()
    task = Task.objects.create(
        title=title[:200] or template.name,
        intent=template.intent,
        account=account,
        owner=owner,
        priority=template.priority,
        due_on=add_business_days(today, template.due_business_days),
        playbook=playbook,
        run=run,
        template=template,
    )
    ChecklistItem.objects.bulk_create(
        ChecklistItem(task=task, position=i, text=str(text)[:300])
        for i, text in enumerate((t for t in template.checklist if str(t).strip()), start=1)
    )
    record_change(
        actor=None,
        obj=task,
        action=AuditAction.CREATE,
        before=None,
        after=snapshot(task, TASK_AUDITED),
        account_id=account.pk,
        via=VIA,
    )
    return task


def _task(step: Step, run: PlaybookRun, now: dt.datetime) -> Outcome:
    template = TaskTemplate.objects.filter(pk=step.params.get("template_id")).first()
    if template is None:
        raise ActionError(_("The task template no longer exists."))
    task = create_task(template, run.account, playbook=run.playbook, run=run, today=timezone.localtime(now).date())
    return Outcome(_("Task for %(owner)s: %(title)s") % {"owner": task.owner, "title": task.title}, task=task)


# Mail and webhooks -----------------------------------------------------------------------------------


def recipients(account: Account, audience: str) -> list[tuple[str, Contact | None]]:
    """(address, contact) pairs the mail goes to; contacts who left are not written to."""
    if audience == EmailAudience.OWNER:
        owner = account.owner if account.owner_id else None
        return [(owner.email, None)] if owner and owner.email else []
    contacts = Contact.objects.filter(account=account, left_on__isnull=True).exclude(email="").order_by("id")
    if audience == EmailAudience.PRIMARY_CONTACT:
        contacts = contacts.filter(is_primary=True)[:1]
    seen: dict[str, Contact] = {}
    for contact in contacts:
        seen.setdefault(contact.email.lower(), contact)
    return [(contact.email, contact) for contact in seen.values()]


def render_email(
    template: EmailTemplate, account: Account, contact: Contact | None, playbook: Playbook | None
) -> tuple[str, str]:
    context = templating.context_for(account, contact=contact, playbook=playbook)
    subject = " ".join(templating.render(template.subject, context).split())
    return subject[:300], templating.render(template.body, context)


def _email(step: Step, run: PlaybookRun, now: dt.datetime) -> Outcome:
    from . import outbox

    template = EmailTemplate.objects.filter(pk=step.params.get("template_id")).first()
    if template is None:
        raise ActionError(_("The email template no longer exists."))
    audience = step.params.get("audience", EmailAudience.PRIMARY_CONTACT)
    to = recipients(run.account, audience)
    if not to:
        raise ActionError(_("No address to send to: the account has no such contact with an email address."))
    first = None
    for email, contact in to:
        subject, text = render_email(template, run.account, contact, run.playbook)
        message = outbox.enqueue_email(
            email,
            subject,
            text,
            source="playbooks",
            dedupe_key=f"run:{run.pk}:step:{step.position}:{email.lower()}",
            account=run.account,
            run=run,
            unsubscribable=template.tech_touch,
        )
        first = first or message
    return Outcome(
        _("Email “%(name)s” queued to %(to)s") % {"name": template.name, "to": ", ".join(e for e, _c in to)},
        message=first,
    )


def webhook_payload(step: Step, run: PlaybookRun) -> dict[str, Any]:
    """Slack incoming webhooks read "text"; other receivers get the account, playbook and run as well."""
    account = run.account
    text = templating.render(
        step.params.get("text", ""), templating.context_for(account, playbook=run.playbook)
    ).strip()
    return {
        "text": text,
        "account": {
            "id": account.pk,
            "name": account.name,
            "tier": account.tier,
            "lifecycle_stage": account.lifecycle_stage,
            "owner": str(account.owner) if account.owner_id else None,
        },
        "playbook": {"id": run.playbook_id, "name": run.playbook.name},
        "run": run.pk,
        "step": step.position,
    }


def _webhook(step: Step, run: PlaybookRun, now: dt.datetime) -> Outcome:
    from . import outbox

    message = outbox.enqueue_webhook(
        step.params["url"],
        webhook_payload(step, run),
        source="playbooks",
        dedupe_key=f"run:{run.pk}:step:{step.position}",
        account=run.account,
        run=run,
    )
    return Outcome(_("Webhook post queued"), message=message)


# Account changes -------------------------------------------------------------------------------------


def add_tag(account: Account, tag: str, actor: User | None = None, *, via: str = VIA) -> bool:
    """Tag an account (audited); False when it already had the tag."""
    row, created = AccountTag.objects.get_or_create(account=account, name=tag)
    if created:
        record_change(
            actor=actor,
            obj=row,
            action=AuditAction.CREATE,
            before=None,
            after={"name": tag},
            account_id=account.pk,
            via=via,
        )
    return created


def remove_tag(account: Account, tag: str, actor: User | None = None, *, via: str = VIA) -> bool:
    row = AccountTag.objects.filter(account=account, name=tag).first()
    if row is None:
        return False
    record_change(
        actor=actor,
        obj=row,
        action=AuditAction.DELETE,
        before={"name": tag},
        after=None,
        account_id=account.pk,
        via=via,
    )
    row.delete()
    return True


def _add_tag(step: Step, run: PlaybookRun, now: dt.datetime) -> Outcome:
    tag = step.params["tag"]
    added = add_tag(run.account, tag)
    return Outcome((_("Tag “%(tag)s” added") if added else _("Already tagged “%(tag)s”")) % {"tag": tag})


def _remove_tag(step: Step, run: PlaybookRun, now: dt.datetime) -> Outcome:
    tag = step.params["tag"]
    removed = remove_tag(run.account, tag)
    return Outcome((_("Tag “%(tag)s” removed") if removed else _("Tag “%(tag)s” was not set")) % {"tag": tag})


def field_change(account: Account, field: str, value: Any) -> dict[str, Any]:
    """The `update_account` changes that set `field` (tier, lifecycle_stage, owner or attributes.<key>)."""
    if field.startswith("attributes."):
        return {"attributes": {**(account.attributes or {}), field.removeprefix("attributes."): value}}
    return {field: value}


def _set_field(step: Step, run: PlaybookRun, now: dt.datetime) -> Outcome:
    field, value = step.params["field"], step.params.get("value")
    if field == "owner" and not User.objects.filter(pk=value, is_active=True).exists():
        raise ActionError(_("The new owner is no longer an active user."))
    try:
        update_account(run.account, None, via=VIA, **field_change(run.account, field, value))
    except ValidationError as exc:
        raise ActionError("; ".join(exc.messages)) from exc
    return Outcome(_("%(field)s set to %(value)s") % {"field": field, "value": value})


ACTIONS: dict[str, Callable[[Step, PlaybookRun, dt.datetime], Outcome]] = {
    StepAction.TASK: _task,
    StepAction.EMAIL: _email,
    StepAction.WEBHOOK: _webhook,
    StepAction.ADD_TAG: _add_tag,
    StepAction.REMOVE_TAG: _remove_tag,
    StepAction.SET_FIELD: _set_field,
}


def execute(step: Step, run: PlaybookRun, now: dt.datetime) -> Outcome:
    """Carry out one step for a run, inside the caller's transaction."""
    if transaction.get_autocommit():
        raise RuntimeError("execute() must run inside the caller's transaction")
    return ACTIONS[step.action](step, run, now)


# Checking settings -----------------------------------------------------------------------------------


def validate_params(action: str, params: dict[str, Any]) -> dict[str, Any]:
    """A step's settings cleaned for `action`; ValidationError naming `params.<key>` otherwise."""
    if action not in StepAction.values:
        raise ValidationError({"action": _("Choose an action.")})
    params = dict(params or {})
    if action == StepAction.TASK:
        template_id = _int(params.get("template_id"))
        if template_id is None or not TaskTemplate.objects.filter(pk=template_id).exists():
            raise ValidationError({"params.template_id": _("Choose a task template.")})
        return {"template_id": template_id}
    if action == StepAction.EMAIL:
        audience = params.get("audience") or EmailAudience.PRIMARY_CONTACT
        template_id = _int(params.get("template_id"))
        if template_id is None or not EmailTemplate.objects.filter(pk=template_id).exists():
            raise ValidationError({"params.template_id": _("Choose an email template.")})
        if audience not in EmailAudience.values:
            raise ValidationError({"params.audience": _("Choose who the mail goes to.")})
        return {"template_id": template_id, "audience": audience}
    if action == StepAction.WEBHOOK:
        url = str(params.get("url") or "").strip()
        if not url.startswith(("https://", "http://")) or len(url) > 1000:
            raise ValidationError({"params.url": _("Enter the webhook's http(s) URL.")})
        text = str(params.get("text") or "").strip()
        if not text:
            raise ValidationError({"params.text": _("Enter the text to post.")})
        templating.validate(text, "params.text")
        return {"url": url, "text": text}
    if action in (StepAction.ADD_TAG, StepAction.REMOVE_TAG):
        tag = str(params.get("tag") or "").strip()
        if not tag or len(tag) > MAX_TAG:
            raise ValidationError({"params.tag": _("Enter a tag of up to 50 characters.")})
        return {"tag": tag}
    return _validate_set_field(params)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _validate_set_field(params: dict[str, Any]) -> dict[str, Any]:
    field = str(params.get("field") or "").strip()
    value = params.get("value")
    if field == "tier":
        if value not in TouchTier.values:
            raise ValidationError({"params.value": _("Choose a touch tier.")})
    elif field == "lifecycle_stage":
        if value not in LifecycleStage.values:
            raise ValidationError({"params.value": _("Choose a lifecycle stage.")})
    elif field == "owner":
        value = _int(value)
        if value is None or not User.objects.filter(pk=value, is_active=True).exists():
            raise ValidationError({"params.value": _("Choose an active user.")})
    elif field.startswith("attributes.") and len(field) > len("attributes."):
        key = field.removeprefix("attributes.")
        if len(key) > 50 or not key.replace("_", "").isalnum():
            raise ValidationError({"params.field": _("An attribute key is letters, digits and _.")})
        if not isinstance(value, str | int | bool) and value is not None:
            raise ValidationError({"params.value": _("Enter a text, a number or true/false.")})
    else:
        raise ValidationError({"params.field": _("Choose tier, lifecycle_stage, owner or attributes.<key>.")})
    return {"field": field, "value": value}
