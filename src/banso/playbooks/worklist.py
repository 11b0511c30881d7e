"""Tasks tracked to completion: creating them by hand, moving them through their statuses, checklists,
comments, delegation to an assistant with the intent kept, who sees which tasks, and the numbers
(completion rate, time to complete, overdue) per playbook and per person."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, TypedDict

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, Count, DurationField, ExpressionWrapper, F, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.accounts.models import Account
from banso.core.choices import AuditAction
from banso.core.models import Team, User
from banso.core.permissions import Capability, has_capability
from banso.core.services import record_change, snapshot

from .models import OPEN_TASK_STATUSES, ChecklistItem, Task, TaskComment, TaskPriority, TaskStatus

AUDITED = (
    "title",
    "intent",
    "account",
    "owner",
    "delegated_to",
    "delegation_note",
    "status",
    "priority",
    "due_on",
    "started_at",
    "completed_at",
)
MAX_CHECKLIST = 50


class TaskStats(TypedDict):
    tasks: int
    done: int
    completion_rate: float | None
    median_hours_to_complete: float | None
    overdue: int


def today() -> dt.date:
    return timezone.localdate()


def _stats(group: str, ids: Iterable[int], day: dt.date | None) -> dict[int, TaskStats]:
    """Per value of `group` (a Task foreign key): tasks not cancelled, done, done / tasks, the median hours
    from creation to completion of the done ones, and open tasks past their due date."""
    wanted = list(dict.fromkeys(ids))
    day = day or today()
    out: dict[int, TaskStats] = {
        i: {"tasks": 0, "done": 0, "completion_rate": None, "median_hours_to_complete": None, "overdue": 0}
        for i in wanted
    }
    counted = Task.objects.filter(**{f"{group}__in": wanted}).exclude(status=TaskStatus.CANCELLED)
    for row in counted.values(group).annotate(
        n=Count("id"),
        done=Count("id", filter=Q(status=TaskStatus.DONE)),
        overdue=Count("id", filter=overdue_filter(day)),
    ):
        entry = out[row[group]]
        entry["tasks"], entry["done"], entry["overdue"] = row["n"], row["done"], row["overdue"]
    # Durations computed by the database: one timedelta per done task instead of two datetimes to convert.
    durations = (
        counted.filter(status=TaskStatus.DONE, completed_at__isnull=False)
        .annotate(took=ExpressionWrapper(F("completed_at") - F("created_at"), output_field=DurationField()))
        .values_list(group, "took")
    )
    hours: dict[int, list[float]] = defaultdict(list)
    for key, took in durations.iterator(chunk_size=5000):
        hours[key].append(took.total_seconds() / 3600)
    for key, entry in out.items():
        if entry["tasks"]:
            entry["completion_rate"] = entry["done"] / entry["tasks"]
        if hours[key]:
            entry["median_hours_to_complete"] = round(statistics.median(hours[key]), 1)
    return out


def playbook_task_stats(playbook_ids: Iterable[int], day: dt.date | None = None) -> dict[int, TaskStats]:
    """Per playbook id: {"tasks", "done", "completion_rate" (0..1, None without tasks),
    "median_hours_to_complete" (None before any is done), "overdue"}. Cancelled tasks do not count."""
    return _stats("playbook_id", playbook_ids, day)


def person_task_stats(user_ids: Iterable[int], day: dt.date | None = None) -> dict[int, TaskStats]:
    """The same numbers per task owner (the person accountable, whoever the task was delegated to)."""
    return _stats("owner_id", user_ids, day)


def overdue_filter(day: dt.date | None = None) -> Q:
    return Q(status__in=OPEN_TASK_STATUSES, due_on__lt=day or today())


# Who sees and changes what ---------------------------------------------------------------------------


def is_manager(user: User | AnonymousUser | None) -> bool:
    return has_capability(user, Capability.MANAGE_PLAYBOOKS)


def visible_tasks(user: User | AnonymousUser) -> QuerySet[Task]:
    """Managers see every task; everyone else the tasks they own and those delegated to them."""
    tasks = Task.objects.all()
    if is_manager(user):
        return tasks
    if not has_capability(user, Capability.WORK_TASKS):
        return tasks.none()
    return tasks.filter(Q(owner=user) | Q(delegated_to=user))


def mine(user: User) -> QuerySet[Task]:
    """One's own list: what one owns and what was delegated to one."""
    return Task.objects.filter(Q(owner=user) | Q(delegated_to=user))


def can_work(user: User | AnonymousUser | None, task: Task) -> bool:
    """Status, checklist and comments: the owner, the person it is delegated to, a manager."""
    if is_manager(user):
        return True
    if not has_capability(user, Capability.WORK_TASKS) or user is None:
        return False
    return user.pk in (task.owner_id, task.delegated_to_id)


def can_manage(user: User | AnonymousUser | None, task: Task) -> bool:
    """Delegating, taking back and reassigning: the accountable owner or a manager, never the delegate."""
    if is_manager(user):
        return True
    return has_capability(user, Capability.WORK_TASKS) and user is not None and user.pk == task.owner_id


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied(_("You may not change this task."))


def _audit(task: Task, by: User | None, before: dict[str, Any] | None, via: str) -> None:
    record_change(
        actor=by,
        obj=task,
        action=AuditAction.UPDATE if before is not None else AuditAction.CREATE,
        before=before,
        after=snapshot(task, AUDITED),
        account_id=task.account_id,
        via=via,
    )


def _locked(task: Task) -> Task:
    return Task.objects.select_for_update().get(pk=task.pk)


def _check_worker(user: User, field: str) -> None:
    if not user.is_active or not has_capability(user, Capability.WORK_TASKS):
        raise ValidationError({field: _("%(name)s cannot work on tasks.") % {"name": user}})


# Creating and changing tasks --------------------------------------------------------------------------


def create_task(
    *,
    title: str,
    owner: User,
    by: User | None,
    intent: str = "",
    account: Account | None = None,
    due_on: dt.date | None = None,
    priority: str = TaskPriority.NORMAL,
    checklist: Iterable[str] = (),
    via: str = "ui",
) -> Task:
    """A task made by hand, with its checklist (blank lines dropped). Refusals name the field."""
    title = (title or "").strip()
    items = [text.strip() for text in checklist if text and text.strip()]
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = _("Enter a title.")
    elif len(title) > 200:
        errors["title"] = _("Keep the title to 200 characters.")
    if priority not in TaskPriority.values:
        errors["priority"] = _("Choose a priority.")
    if len(items) > MAX_CHECKLIST:
        errors["checklist"] = _("Keep the checklist to %(n)d items.") % {"n": MAX_CHECKLIST}
    elif any(len(text) > 300 for text in items):
        errors["checklist"] = _("Keep each checklist item to 300 characters.")
    if errors:
        raise ValidationError(errors)
    _check_worker(owner, "owner")
    if by is not None and owner.pk != by.pk and not is_manager(by):
        raise ValidationError({"owner": _("Only a manager can create tasks for someone else.")})
    with transaction.atomic():
        task = Task.objects.create(
            title=title,
            intent=intent.strip(),
            account=account,
            owner=owner,
            due_on=due_on,
            priority=priority,
            created_by=by,
        )
        ChecklistItem.objects.bulk_create(
            ChecklistItem(task=task, position=i, text=text) for i, text in enumerate(items, start=1)
        )
        _audit(task, by, None, via)
    return task


def _apply_status(task: Task, status: str, now: dt.datetime) -> None:
    """Keep the timestamps true to the status: started when work first begins, completed only while done
    (reopening clears it); cancelling keeps neither a completion."""
    if status not in TaskStatus.values:
        raise ValidationError({"status": _("Choose a status.")})
    task.status = status
    if status in (TaskStatus.IN_PROGRESS, TaskStatus.WAITING, TaskStatus.DONE) and task.started_at is None:
        task.started_at = now
    if status == TaskStatus.DONE:
        task.completed_at = task.completed_at or now
    else:
        task.completed_at = None


def set_status(task: Task, status: str, by: User | None, *, via: str = "ui") -> Task:
    return update_task(task, by, {"status": status}, via=via)


def update_task(task: Task, by: User | None, changes: dict[str, Any], *, via: str = "ui") -> Task:
    """Change any of status, title, due date and priority in one audited step."""
    _require(can_work(by, task))
    unknown = set(changes) - {"status", "title", "due_on", "priority"}
    if unknown:
        raise ValidationError({sorted(unknown)[0]: _("This field cannot be changed here.")})
    with transaction.atomic():
        locked = _locked(task)
        before = snapshot(locked, AUDITED)
        if "title" in changes:
            title = (changes["title"] or "").strip()
            if not title or len(title) > 200:
                raise ValidationError({"title": _("Enter a title of up to 200 characters.")})
            locked.title = title
        if "priority" in changes:
            if changes["priority"] not in TaskPriority.values:
                raise ValidationError({"priority": _("Choose a priority.")})
            locked.priority = changes["priority"]
        if "due_on" in changes:
            locked.due_on = changes["due_on"]
        if "status" in changes and changes["status"] != locked.status:
            _apply_status(locked, changes["status"], timezone.now())
        locked.save()
        _audit(locked, by, before, via)
    return locked


def toggle_item(
    task: Task, item_id: int, by: User | None, *, done: bool | None = None, via: str = "ui"
) -> ChecklistItem:
    """Tick (or untick) one checklist item; `done=None` flips it."""
    _require(can_work(by, task))
    with transaction.atomic():
        try:
            item = ChecklistItem.objects.select_for_update().get(pk=item_id, task=task)
        except ChecklistItem.DoesNotExist:
            raise ValidationError({"item": _("No such checklist item on this task.")}) from None
        new = (not item.done) if done is None else done
        if new == item.done:
            return item
        item.done = new
        item.done_at = timezone.now() if new else None
        item.done_by = by if new else None
        item.save(update_fields=["done", "done_at", "done_by"])
        record_change(
            actor=by,
            obj=item,
            action=AuditAction.UPDATE,
            before={"done": not new},
            after={"done": new},
            account_id=task.account_id,
            via=via,
        )
    return item


def checklist_progress(items: Iterable[ChecklistItem]) -> tuple[int, int, int]:
    """(done, total, percent) of a checklist."""
    rows = list(items)
    done = sum(1 for item in rows if item.done)
    return done, len(rows), round(100 * done / len(rows)) if rows else 0


def add_comment(task: Task, by: User | None, body: str, *, via: str = "ui") -> TaskComment:
    _require(can_work(by, task))
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write a comment.")})
    if len(body) > 5000:
        raise ValidationError({"body": _("Keep a comment to 5,000 characters.")})
    with transaction.atomic():
        comment = TaskComment.objects.create(task=task, author=by, body=body)
        record_change(
            actor=by,
            obj=comment,
            action=AuditAction.CREATE,
            before=None,
            after={"task": task.pk, "body": body},
            account_id=task.account_id,
            via=via,
        )
    return comment


def delegate(task: Task, to_user: User, note: str, by: User | None, *, via: str = "ui") -> Task:
    """Hand the work to someone (an assistant) with a note; the intent stays on the task and the owner stays
    accountable. Only the owner or a manager may delegate."""
    _require(can_manage(by, task))
    note = (note or "").strip()
    if to_user.pk == task.owner_id:
        raise ValidationError({"delegated_to": _("The owner already has this task; take it back instead.")})
    _check_worker(to_user, "delegated_to")
    if len(note) > 2000:
        raise ValidationError({"note": _("Keep the note to 2,000 characters.")})
    with transaction.atomic():
        locked = _locked(task)
        before = snapshot(locked, AUDITED)
        locked.delegated_to = to_user
        locked.delegation_note = note
        locked.save(update_fields=["delegated_to", "delegation_note"])
        _audit(locked, by, before, via)
    return locked


def take_back(task: Task, by: User | None, *, via: str = "ui") -> Task:
    """The owner (or a manager) takes a delegated task back."""
    _require(can_manage(by, task))
    with transaction.atomic():
        locked = _locked(task)
        before = snapshot(locked, AUDITED)
        locked.delegated_to = None
        locked.delegation_note = ""
        locked.save(update_fields=["delegated_to", "delegation_note"])
        _audit(locked, by, before, via)
    return locked


def reassign(task: Task, to_user: User, by: User | None, *, via: str = "ui") -> Task:
    """Make someone else the accountable owner (a delegation to them ends: they now own it)."""
    _require(can_manage(by, task))
    _check_worker(to_user, "owner")
    with transaction.atomic():
        locked = _locked(task)
        before = snapshot(locked, AUDITED)
        locked.owner = to_user
        if locked.delegated_to_id == to_user.pk:
            locked.delegated_to = None
            locked.delegation_note = ""
        locked.save(update_fields=["owner", "delegated_to", "delegation_note"])
        _audit(locked, by, before, via)
    return locked


# Lists ------------------------------------------------------------------------------------------------

DUE_FILTERS = ("overdue", "today", "week")
SORTS = {
    "due": ("due_on", "id"),
    "-due": ("-due_on", "-id"),
    "priority": ("priority_rank", "due_on", "id"),
    "created": ("-created_at", "-id"),
    "title": ("title", "id"),
}


def filter_tasks(
    tasks: QuerySet[Task],
    *,
    status: str = "",
    due: str = "",
    playbook_id: int | None = None,
    account_id: int | None = None,
    owner_id: int | None = None,
    team: Team | None = None,
    sort: str = "due",
    day: dt.date | None = None,
) -> QuerySet[Task]:
    """The list's filters. `status` "" means open ones, "all" every status; `due` overdue / today / week
    (through Sunday); an owner or team matches the owner or the delegate."""
    day = day or today()
    if status == "all":
        pass
    elif status:
        tasks = tasks.filter(status=status)
    else:
        tasks = tasks.filter(status__in=OPEN_TASK_STATUSES)
    if due == "overdue":
        tasks = tasks.filter(overdue_filter(day))
    elif due == "today":
        tasks = tasks.filter(due_on=day)
    elif due == "week":
        tasks = tasks.filter(due_on__gte=day, due_on__lte=day + dt.timedelta(days=6 - day.weekday()))
    if playbook_id:
        tasks = tasks.filter(playbook_id=playbook_id)
    if account_id:
        tasks = tasks.filter(account_id=account_id)
    if owner_id:
        tasks = tasks.filter(Q(owner_id=owner_id) | Q(delegated_to_id=owner_id))
    if team is not None:
        members = team.members.values("pk")
        tasks = tasks.filter(Q(owner__in=members) | Q(delegated_to__in=members))
    if sort == "priority":
        tasks = tasks.annotate(
            priority_rank=Case(
                When(priority=TaskPriority.HIGH, then=Value(0)),
                When(priority=TaskPriority.NORMAL, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
    return tasks.order_by(*SORTS.get(sort, SORTS["due"]))


def overdue_count(user: User, day: dt.date | None = None) -> int:
    return mine(user).filter(overdue_filter(day)).count()
