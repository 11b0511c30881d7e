"""Tasks in the JSON API (mounted under /api/playbooks/tasks): one's own list (a manager may ask for a person's
or a team's), creating, reading and changing a task, comments, checklist ticks and delegation. Another
person's task is 403 unless the caller manages playbooks; refusals are 422 naming the request's field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from banso.accounts.models import Account
from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused, validation_errors
from banso.core.models import Team, User
from banso.core.permissions import Capability

from . import worklist
from .models import OPEN_TASK_STATUSES, ChecklistItem, Task, TaskComment, TaskPriority, TaskStatus

router = Router(tags=["playbooks"])
WORK = role(Capability.WORK_TASKS)
MAX_LIMIT = 200
NAMES = {"account": "account_id", "owner": "owner_id", "delegated_to": "to_user_id", "note": "note", "item": "item_id"}


class ChecklistItemOut(Schema):
    id: int
    position: int
    text: str
    done: bool
    done_at: dt.datetime | None


class CommentOut(Schema):
    id: int
    author_id: int | None
    body: str
    created_at: dt.datetime


class TaskOut(Schema):
    id: int
    title: str
    intent: str
    account_id: int | None
    owner_id: int
    delegated_to_id: int | None
    delegation_note: str
    status: str
    priority: str
    due_on: dt.date | None
    overdue: bool
    playbook_id: int | None
    run_id: int | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    completed_at: dt.datetime | None

    @staticmethod
    def resolve_overdue(obj: Task) -> bool:
        return obj.status in OPEN_TASK_STATUSES and obj.due_on is not None and obj.due_on < worklist.today()


class TaskDetailOut(TaskOut):
    checklist: list[ChecklistItemOut]
    comments: list[CommentOut]

    @staticmethod
    def resolve_checklist(obj: Task) -> list[ChecklistItem]:
        return list(obj.checklist.all())

    @staticmethod
    def resolve_comments(obj: Task) -> list[TaskComment]:
        return list(obj.comments.all())


class TaskIn(Schema):
    title: str
    intent: str = ""
    account_id: int | None = None
    owner_id: int | None = Field(None, description="default: the caller; someone else only for managers")
    due_on: dt.date | None = None
    priority: TaskPriority = TaskPriority.NORMAL
    checklist: list[str] = Field(default_factory=list)


class TaskPatch(Schema):
    title: str | None = None
    status: TaskStatus | None = None
    priority: TaskPriority | None = None
    due_on: dt.date | None = None


class CommentIn(Schema):
    body: str


class DelegateIn(Schema):
    to_user_id: int
    note: str = ""


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _refused(exc: ValidationError) -> Status[dict[str, Any]]:
    return refused(validation_errors(exc, NAMES))


def _forbidden() -> Status[dict[str, Any]]:
    return Status(403, {"detail": [{"field": "", "message": _("This task is someone else's.")}]})


def _task(request: HttpRequest, task_id: int) -> Task | Status[dict[str, Any]]:
    task = Task.objects.filter(pk=task_id).first()
    if task is None:
        return Status(404, {"detail": [{"field": "task_id", "message": _("No such task.")}]})
    if not worklist.can_work(request.user, task):
        return _forbidden()
    return task


@router.get("", response={200: list[TaskOut], 403: ErrorOut, 422: ErrorOut}, auth=WORK)
def list_tasks(
    request: HttpRequest,
    status: str = "",
    due: str = "",
    playbook_id: int | None = None,
    account_id: int | None = None,
    owner_id: int | None = None,
    team_id: int | None = None,
    sort: str = "due",
    limit: int = 50,
    offset: int = 0,
) -> Status[Any]:
    """Open tasks the caller owns or was delegated, by due date. `status`: one status or "all"; `due`: overdue,
    today or week. Managers may pass `owner_id` (owned or delegated) or `team_id`."""
    user = _user(request)
    if (owner_id is not None or team_id is not None) and not worklist.is_manager(user) and owner_id != user.pk:
        return Status(403, {"detail": [{"field": "owner_id", "message": _("Only managers see others' tasks.")}]})
    if status not in ("", "all", *TaskStatus.values):
        return refused([("status", _("Choose a status."))])
    if due not in ("", *worklist.DUE_FILTERS):
        return refused([("due", _("Choose overdue, today or week."))])
    team = None
    if team_id is not None:
        team = Team.objects.filter(pk=team_id).first()
        if team is None:
            return refused([("team_id", _("No such team."))])
    base = Task.objects.all() if owner_id is not None or team is not None else worklist.mine(user)
    tasks = worklist.filter_tasks(
        base,
        status=status,
        due=due,
        playbook_id=playbook_id,
        account_id=account_id,
        owner_id=owner_id,
        team=team,
        sort=sort,
    )
    limit = max(1, min(limit, MAX_LIMIT))
    return Status(200, list(tasks[offset : offset + limit]))


@router.post("", response={201: TaskDetailOut, 422: ErrorOut}, auth=WORK)
def create_task(request: HttpRequest, payload: TaskIn) -> Status[Any]:
    """A task by hand, for oneself (managers: for anyone who works tasks)."""
    user = _user(request)
    account = None
    if payload.account_id is not None:
        account = Account.objects.filter(pk=payload.account_id).first()
        if account is None:
            return refused([("account_id", _("No such account."))])
    owner = user
    if payload.owner_id is not None:
        found = User.objects.filter(pk=payload.owner_id).first()
        if found is None:
            return refused([("owner_id", _("No such person."))])
        owner = found
    try:
        task = worklist.create_task(
            title=payload.title,
            intent=payload.intent,
            account=account,
            owner=owner,
            due_on=payload.due_on,
            priority=payload.priority,
            checklist=payload.checklist,
            by=user,
            via="api",
        )
    except ValidationError as exc:
        return _refused(exc)
    return Status(201, task)


@router.get("/{int:task_id}", response={200: TaskDetailOut, 403: ErrorOut, 404: ErrorOut}, auth=WORK)
def get_task(request: HttpRequest, task_id: int) -> Status[Any]:
    task = _task(request, task_id)
    if isinstance(task, Status):
        return task
    return Status(200, task)


@router.patch("/{int:task_id}", response={200: TaskDetailOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}, auth=WORK)
def update_task(request: HttpRequest, task_id: int, payload: TaskPatch) -> Status[Any]:
    """Change the status, title, priority or due date (send due_on: null to clear it)."""
    task = _task(request, task_id)
    if isinstance(task, Status):
        return task
    changes = payload.dict(exclude_unset=True)
    for key in ("title", "status", "priority"):
        if key in changes and changes[key] is None:
            return refused([(key, _("This field cannot be empty."))])
    try:
        task = worklist.update_task(task, _user(request), changes, via="api")
    except ValidationError as exc:
        return _refused(exc)
    return Status(200, task)


@router.post(
    "/{int:task_id}/comments", response={201: CommentOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}, auth=WORK
)
def add_comment(request: HttpRequest, task_id: int, payload: CommentIn) -> Status[Any]:
    task = _task(request, task_id)
    if isinstance(task, Status):
        return task
    try:
        comment = worklist.add_comment(task, _user(request), payload.body, via="api")
    except ValidationError as exc:
        return _refused(exc)
    return Status(201, comment)


@router.post(
    "/{int:task_id}/checklist/{int:item_id}/toggle",
    response={200: ChecklistItemOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    auth=WORK,
)
def toggle_item(request: HttpRequest, task_id: int, item_id: int) -> Status[Any]:
    """Tick an unticked item, untick a ticked one."""
    task = _task(request, task_id)
    if isinstance(task, Status):
        return task
    try:
        item = worklist.toggle_item(task, item_id, _user(request), via="api")
    except ValidationError as exc:
        return _refused(exc)
    return Status(200, item)


@router.post(
    "/{int:task_id}/delegate", response={200: TaskDetailOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}, auth=WORK
)
def delegate_task(request: HttpRequest, task_id: int, payload: DelegateIn) -> Status[Any]:
    """Hand the task to someone (an assistant) with a note; only the owner or a manager may."""
    task = _task(request, task_id)
    if isinstance(task, Status):
        return task
    to_user = User.objects.filter(pk=payload.to_user_id).first()
    if to_user is None:
        return refused([("to_user_id", _("No such person."))])
    try:
        task = worklist.delegate(task, to_user, payload.note, _user(request), via="api")
    except PermissionDenied:
        return Status(403, {"detail": [{"field": "", "message": _("Only the owner or a manager can delegate.")}]})
    except ValidationError as exc:
        return _refused(exc)
    return Status(200, task)
