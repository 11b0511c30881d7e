"""Playbooks, their steps, task and email templates, and runs in the JSON API (mounted under /api/playbooks).
Writes go through `editor`, the template forms and `runs`, the same checks as the pages; refusals are 422
with `detail`, a list of {field, message} naming the request's field ("steps.1.params.tag")."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.forms import ModelForm
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from banso.accounts.models import Account
from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused, validation_errors
from banso.core.models import User
from banso.core.permissions import Capability

from . import editor, runs
from .forms import EmailTemplateForm, TaskTemplateForm
from .models import EmailTemplate, Playbook, PlaybookRun, RunStep, TaskTemplate

router = Router(tags=["playbooks"])
VIEW = role(Capability.VIEW_ACCOUNTS)
MANAGE = role(Capability.MANAGE_PLAYBOOKS)
START = role(Capability.WORK_TASKS)
MAX_LIMIT = 200


def _actor(request: HttpRequest) -> User | None:
    user = getattr(request, "auth", None) or request.user
    return user if isinstance(user, User) else None


# Playbooks -------------------------------------------------------------------------------------------


class StepIn(Schema):
    wait_days: int = Field(0, description="days after the previous step (0: at once)")
    business_days: bool = Field(True, description="count Japanese business days; steps land at 9:00 Tokyo")
    condition: str = Field("always", description="always, no_reply or tasks_open")
    action: str = Field(description="task, email, webhook, add_tag, remove_tag or set_field")
    params: dict[str, Any] = Field(
        default_factory=dict,
        description='task {"template_id"}; email {"template_id", "audience"}; webhook {"url", "text"}; '
        'add_tag/remove_tag {"tag"}; set_field {"field", "value"}',
    )


class StepOut(Schema):
    position: int
    wait_days: int
    business_days: bool
    condition: str
    action: str
    params: dict[str, Any]


class PlaybookIn(Schema):
    name: str
    description: str = ""
    is_active: bool = True
    trigger: str = "manual"
    trigger_params: Any = Field(default_factory=dict)
    conditions: Any = Field(default_factory=list)
    cooldown_days: int = 30
    steps: list[StepIn] | None = Field(None, description="replaces the steps when given; numbered from 1")


class PlaybookOut(Schema):
    id: int
    name: str
    description: str
    is_active: bool
    trigger: str
    trigger_params: dict[str, Any]
    conditions: list[Any]
    cooldown_days: int
    created_at: dt.datetime
    updated_at: dt.datetime
    steps: list[StepOut]


def _playbook_out(playbook: Playbook) -> dict[str, Any]:
    out = {name: getattr(playbook, name) for name in (*editor.PLAYBOOK_FIELDS, "id", "created_at", "updated_at")}
    out["steps"] = list(playbook.steps.order_by("position"))
    return out


@router.get("", response=list[PlaybookOut], auth=VIEW)
def list_playbooks(request: HttpRequest) -> list[dict[str, Any]]:
    return [_playbook_out(p) for p in Playbook.objects.prefetch_related("steps").order_by("name")]


def _save(request: HttpRequest, playbook: Playbook | None, payload: PlaybookIn) -> Status[Any]:
    values = payload.dict(exclude={"steps"})
    steps = [s.dict() for s in payload.steps] if payload.steps is not None else None
    try:
        saved = editor.save_playbook(playbook, values, _actor(request), steps=steps, via="api")
    except ValidationError as exc:
        return refused(validation_errors(exc))
    return Status(201 if playbook is None else 200, _playbook_out(saved))


@router.post("", response={201: PlaybookOut, 422: ErrorOut}, auth=MANAGE)
def create_playbook(request: HttpRequest, payload: PlaybookIn) -> Status[Any]:
    """A playbook with its steps."""
    return _save(request, None, payload)


@router.get("/{int:playbook_id}", response=PlaybookOut, auth=VIEW)
def get_playbook(request: HttpRequest, playbook_id: int) -> dict[str, Any]:
    return _playbook_out(get_object_or_404(Playbook, pk=playbook_id))


@router.put("/{int:playbook_id}", response={200: PlaybookOut, 422: ErrorOut}, auth=MANAGE)
def update_playbook(request: HttpRequest, playbook_id: int, payload: PlaybookIn) -> Status[Any]:
    """Replace the playbook's settings, and its steps when `steps` is given."""
    return _save(request, get_object_or_404(Playbook, pk=playbook_id), payload)


@router.delete("/{int:playbook_id}", response={204: None}, auth=MANAGE)
def delete_playbook(request: HttpRequest, playbook_id: int) -> Status[None]:
    """Delete a playbook with its runs' records; its tasks stay, without the playbook."""
    get_object_or_404(Playbook, pk=playbook_id).delete()
    return Status(204, None)


# Runs ------------------------------------------------------------------------------------------------


class RunStepOut(Schema):
    position: int
    action: str
    outcome: str
    detail: str
    executed_at: dt.datetime
    task_id: int | None
    message_id: int | None


class RunOut(Schema):
    id: int
    playbook_id: int
    account_id: int
    cause: str
    status: str = Field(description="active, completed, cancelled or failed")
    next_position: int
    next_due_at: dt.datetime | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    started_by_id: int | None


class RunDetailOut(RunOut):
    steps: list[RunStepOut]


class StartIn(Schema):
    account_id: int


@router.get("/runs", response=list[RunOut], auth=VIEW)
def list_runs(
    request: HttpRequest,
    playbook_id: int | None = None,
    account_id: int | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[PlaybookRun]:
    """Runs, newest first."""
    rows = PlaybookRun.objects.all()
    if playbook_id is not None:
        rows = rows.filter(playbook_id=playbook_id)
    if account_id is not None:
        rows = rows.filter(account_id=account_id)
    if status:
        rows = rows.filter(status=status)
    return list(rows.order_by("-started_at", "-id")[offset : offset + max(1, min(limit, MAX_LIMIT))])


def _run_out(run: PlaybookRun) -> dict[str, Any]:
    out = {name: getattr(run, name) for name in RunOut.model_fields}
    out["steps"] = list(RunStep.objects.filter(run=run).order_by("position"))
    return out


@router.get("/runs/{int:run_id}", response=RunDetailOut, auth=VIEW)
def get_run(request: HttpRequest, run_id: int) -> dict[str, Any]:
    """A run with the log of what each step did."""
    return _run_out(get_object_or_404(PlaybookRun, pk=run_id))


@router.post("/{int:playbook_id}/start", response={201: RunDetailOut, 422: ErrorOut}, auth=START)
def start_playbook(request: HttpRequest, playbook_id: int, payload: StartIn) -> Status[Any]:
    """Start a playbook by hand on an account (refused within its cool-down or while a run is going)."""
    from . import triggers

    playbook = get_object_or_404(Playbook, pk=playbook_id)
    account = Account.objects.filter(pk=payload.account_id).first()
    if account is None:
        return refused([("account_id", _("No such account."))])
    try:
        run = triggers.start_manually(playbook, account, _actor(request), via="api")
    except ValidationError as exc:
        return refused(validation_errors(exc, {"playbook": ""}))
    return Status(201, _run_out(run))


@router.post("/runs/{int:run_id}/cancel", response={200: RunDetailOut, 422: ErrorOut}, auth=MANAGE)
def cancel_run(request: HttpRequest, run_id: int) -> Status[Any]:
    try:
        run = runs.cancel_run(get_object_or_404(PlaybookRun, pk=run_id), _actor(request), via="api")
    except ValidationError as exc:
        return refused(validation_errors(exc))
    return Status(200, _run_out(run))


# Templates -------------------------------------------------------------------------------------------


class TaskTemplateIn(Schema):
    name: str
    title: str = Field(description="merge fields such as {{ account.name }} allowed")
    intent: str = ""
    checklist: list[str] = Field(default_factory=list)
    owner_rule: str = Field("account_owner", description="account_owner, role, round_robin or user")
    owner_role: str = ""
    owner_team_id: int | None = None
    owner_user_id: int | None = None
    due_business_days: int = 3
    priority: str = "normal"


class TaskTemplateOut(TaskTemplateIn):
    id: int


class EmailTemplateIn(Schema):
    name: str
    subject: str
    body: str
    tech_touch: bool = True


class EmailTemplateOut(EmailTemplateIn):
    id: int


TASK_NAMES = {"owner_team": "owner_team_id", "owner_user": "owner_user_id"}


def _form_refusal(form: ModelForm[Any], names: dict[str, str]) -> Status[Any]:
    return refused(
        (names.get(field, "" if field == "__all__" else field), str(message))
        for field, messages in form.errors.items()
        for message in messages
    )


def _save_task_template(template: TaskTemplate | None, payload: TaskTemplateIn) -> Status[Any]:
    data = payload.dict()
    data["checklist"] = "\n".join(data["checklist"])
    data["owner_team"], data["owner_user"] = data.pop("owner_team_id"), data.pop("owner_user_id")
    form = TaskTemplateForm(data={k: v for k, v in data.items() if v is not None}, instance=template)
    if not form.is_valid():
        return _form_refusal(form, TASK_NAMES)
    return Status(201 if template is None else 200, form.save())


def _save_email_template(template: EmailTemplate | None, payload: EmailTemplateIn) -> Status[Any]:
    data = payload.dict()
    if not data["tech_touch"]:
        data.pop("tech_touch")  # an unchecked box is an absent one
    form = EmailTemplateForm(data=data, instance=template)
    if not form.is_valid():
        return _form_refusal(form, {})
    return Status(201 if template is None else 200, form.save())


@router.get("/task-templates", response=list[TaskTemplateOut], auth=VIEW)
def list_task_templates(request: HttpRequest) -> list[TaskTemplate]:
    return list(TaskTemplate.objects.order_by("name"))


@router.post("/task-templates", response={201: TaskTemplateOut, 422: ErrorOut}, auth=MANAGE)
def create_task_template(request: HttpRequest, payload: TaskTemplateIn) -> Status[Any]:
    return _save_task_template(None, payload)


@router.put("/task-templates/{int:template_id}", response={200: TaskTemplateOut, 422: ErrorOut}, auth=MANAGE)
def update_task_template(request: HttpRequest, template_id: int, payload: TaskTemplateIn) -> Status[Any]:
    return _save_task_template(get_object_or_404(TaskTemplate, pk=template_id), payload)


@router.get("/email-templates", response=list[EmailTemplateOut], auth=VIEW)
def list_email_templates(request: HttpRequest) -> list[EmailTemplate]:
    return list(EmailTemplate.objects.order_by("name"))


@router.post("/email-templates", response={201: EmailTemplateOut, 422: ErrorOut}, auth=MANAGE)
def create_email_template(request: HttpRequest, payload: EmailTemplateIn) -> Status[Any]:
    """Unknown merge fields in the subject or body are refused here, not when the mail is sent."""
    return _save_email_template(None, payload)


@router.put("/email-templates/{int:template_id}", response={200: EmailTemplateOut, 422: ErrorOut}, auth=MANAGE)
def update_email_template(request: HttpRequest, template_id: int, payload: EmailTemplateIn) -> Status[Any]:
    return _save_email_template(get_object_or_404(EmailTemplate, pk=template_id), payload)
