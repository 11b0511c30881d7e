"""Designing playbooks: saving a playbook with its trigger, conditions and steps, and changing steps one at
a time. Pages and the API both come here, so a playbook is checked the same way whichever path saves it.
Refusals are ValidationErrors keyed by the part at fault ("name", "trigger_params.days", "steps.1.params.tag").

Steps keep their positions when one is removed, so a run waiting for step 3 still does step 3 next."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.core.choices import AuditAction
from banso.core.models import User
from banso.core.services import record_change, snapshot

from . import actions
from .models import Playbook, Step, StepAction, StepCondition, TriggerKind

PLAYBOOK_FIELDS = ("name", "description", "is_active", "trigger", "trigger_params", "conditions", "cooldown_days")
MAX_STEPS = 30
MAX_WAIT = 365


def _merge(errors: dict[str, list[str]], exc: ValidationError, prefix: str = "") -> None:
    for key, messages in exc.message_dict.items():
        errors.setdefault(f"{prefix}{key}", []).extend(messages)


def clean_playbook(values: dict[str, Any]) -> dict[str, Any]:
    """The playbook's own fields checked and normalised (trigger settings and conditions by `triggers`)."""
    from . import triggers

    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    name = str(values.get("name") or "").strip()
    if not name:
        errors["name"] = [_("Enter a name.")]
    elif len(name) > 200:
        errors["name"] = [_("Keep the name to 200 characters.")]
    cleaned["name"] = name
    cleaned["description"] = str(values.get("description") or "").strip()
    cleaned["is_active"] = bool(values.get("is_active", True))
    trigger = values.get("trigger") or TriggerKind.MANUAL
    try:
        cleaned["trigger_params"] = triggers.validate_params(trigger, values.get("trigger_params") or {})
    except ValidationError as exc:
        _merge(errors, exc)
    cleaned["trigger"] = trigger
    try:
        cleaned["conditions"] = triggers.validate_conditions(values.get("conditions") or [])
    except ValidationError as exc:
        _merge(errors, exc)
    cooldown = values.get("cooldown_days", 30)
    if isinstance(cooldown, bool) or not isinstance(cooldown, int) or not 0 <= cooldown <= 3650:
        errors["cooldown_days"] = [_("Enter a number of days from 0 to 3650.")]
    cleaned["cooldown_days"] = cooldown
    if errors:
        raise ValidationError(errors)
    return cleaned


def clean_step(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """One step's wait, condition, action and settings; error keys carry `prefix` ("steps.2.")."""
    errors: dict[str, list[str]] = {}
    wait = values.get("wait_days", 0)
    if isinstance(wait, bool) or not isinstance(wait, int) or not 0 <= wait <= MAX_WAIT:
        errors[f"{prefix}wait_days"] = [_("Enter a wait from 0 to 365 days.")]
    condition = values.get("condition") or StepCondition.ALWAYS
    if condition not in StepCondition.values:
        errors[f"{prefix}condition"] = [_("Choose a condition.")]
    action = values.get("action")
    params: dict[str, Any] = {}
    if action not in StepAction.values:
        errors[f"{prefix}action"] = [_("Choose an action.")]
    else:
        raw = values.get("params") or {}
        if not isinstance(raw, dict):
            errors[f"{prefix}params"] = [_("Step settings must be an object.")]
        else:
            try:
                params = actions.validate_params(action, raw)
            except ValidationError as exc:
                _merge(errors, exc, prefix)
    if errors:
        raise ValidationError(errors)
    return {
        "wait_days": wait,
        "business_days": bool(values.get("business_days", True)),
        "condition": condition,
        "action": action,
        "params": params,
    }


def clean_steps(steps: Any) -> list[dict[str, Any]]:
    if not isinstance(steps, list):
        raise ValidationError({"steps": _("Steps must be a list.")})
    if len(steps) > MAX_STEPS:
        raise ValidationError({"steps": _("At most %(n)s steps.") % {"n": MAX_STEPS}})
    errors: dict[str, list[str]] = {}
    cleaned = []
    for index, step in enumerate(steps):
        try:
            cleaned.append(clean_step(step if isinstance(step, dict) else {}, f"steps.{index}."))
        except ValidationError as exc:
            _merge(errors, exc)
    if errors:
        raise ValidationError(errors)
    return cleaned


def save_playbook(
    playbook: Playbook | None,
    values: dict[str, Any],
    actor: User | None,
    *,
    steps: list[dict[str, Any]] | None = None,
    via: str = "ui",
) -> Playbook:
    """Create (`playbook` None) or update a playbook; with `steps`, replace its steps by these, numbered
    from 1 (runs under way go on at the position they had reached). All checked first; nothing half-written."""
    cleaned = clean_playbook(values)
    step_rows = clean_steps(steps) if steps is not None else None
    with transaction.atomic():
        if playbook is None:
            target = Playbook(created_by=actor)
            before = None
        else:
            target = Playbook.objects.select_for_update().get(pk=playbook.pk)
            before = snapshot(target, PLAYBOOK_FIELDS)
        for name, value in cleaned.items():
            setattr(target, name, value)
        target.updated_at = timezone.now()
        target.save()
        if step_rows is not None:
            target.steps.all().delete()
            Step.objects.bulk_create(
                Step(playbook=target, position=i, **row) for i, row in enumerate(step_rows, start=1)
            )
        record_change(
            actor=actor,
            obj=target,
            action=AuditAction.CREATE if before is None else AuditAction.UPDATE,
            before=before,
            after=snapshot(target, PLAYBOOK_FIELDS),
            account_id=None,
            via=via,
        )
    return target


def add_step(playbook: Playbook, values: dict[str, Any]) -> Step:
    row = clean_step(values)
    with transaction.atomic():
        locked = Playbook.objects.select_for_update().get(pk=playbook.pk)
        if locked.steps.count() >= MAX_STEPS:
            raise ValidationError({"action": _("At most %(n)s steps.") % {"n": MAX_STEPS}})
        last = locked.steps.aggregate(last=Max("position"))["last"] or 0
        return Step.objects.create(playbook=locked, position=last + 1, **row)


def update_step(step: Step, values: dict[str, Any]) -> Step:
    row = clean_step(values)
    for name, value in row.items():
        setattr(step, name, value)
    step.save()
    return step


def remove_step(step: Step) -> None:
    step.delete()


def move_step(step: Step, direction: int) -> None:
    """Swap `step` with its neighbour before (-1) or after (+1); at either end nothing moves."""
    with transaction.atomic():
        Playbook.objects.select_for_update().filter(pk=step.playbook_id).first()
        siblings = Step.objects.filter(playbook_id=step.playbook_id)
        neighbour = (
            siblings.filter(position__lt=step.position).order_by("-position").first()
            if direction < 0
            else siblings.filter(position__gt=step.position).order_by("position").first()
        )
        if neighbour is None:
            return
        mine, theirs = step.position, neighbour.position
        Step.objects.filter(pk=step.pk).update(position=0)
        Step.objects.filter(pk=neighbour.pk).update(position=mine)
        Step.objects.filter(pk=step.pk).update(position=theirs)
        step.position = theirs
