"""Task pages: My tasks (and a manager's per-person and per-team lists), the board, a task's detail with its
checklist, comments and delegation, the new-task form and the numbers per playbook and per person. Every
change goes through `worklist`; htmx requests get the partial they swap in."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.accounts.models import Account
from banso.core.charts import bar_chart, series
from banso.core.models import User
from banso.core.permissions import Capability, requires

from . import worklist
from .models import OPEN_TASK_STATUSES, ChecklistItem, Playbook, Task, TaskStatus
from .task_forms import CommentForm, DelegateForm, ReassignForm, TaskFilterForm, TaskForm, workers

PAGE = 50
BOARD_LIMIT = 100
BOARD_STATUSES = (*OPEN_TASK_STATUSES, TaskStatus.DONE)
DONE_ON_BOARD_DAYS = 14


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _visible_task(request: HttpRequest, pk: int) -> Task:
    """The task if the user may work on it; 404 when it does not exist, 403 when it is someone else's."""
    task = get_object_or_404(Task.objects.select_related("owner", "delegated_to", "account", "playbook", "run"), pk=pk)
    if not worklist.can_work(request.user, task):
        raise PermissionDenied(_("This task is someone else's."))
    return task


def _listed(request: HttpRequest, **overrides: Any) -> tuple[TaskFilterForm, QuerySet[Task], bool]:
    """The filter form and the tasks it selects: one's own, or for a manager the chosen person's or team's."""
    user = _user(request)
    manager = worklist.is_manager(user)
    form = TaskFilterForm(request.GET, manager=manager)
    filters = form.filters() | overrides
    base = Task.objects.all() if manager and (filters["owner_id"] or filters["team"]) else worklist.mine(user)
    tasks = worklist.filter_tasks(base, **filters).select_related("owner", "delegated_to", "account", "playbook")
    return form, tasks, manager


def _progress(tasks: list[Task]) -> None:
    """Checklist progress per task in one query, and whether each is overdue."""
    today = worklist.today()
    counts = {
        row["task_id"]: row
        for row in ChecklistItem.objects.filter(task__in=[t.pk for t in tasks])
        .values("task_id")
        .annotate(total=Count("id"), done=Count("id", filter=Q(done=True)))
    }
    for task in tasks:
        row = counts.get(task.pk, {"total": 0, "done": 0})
        task.items_total, task.items_done = row["total"], row["done"]  # type: ignore[attr-defined]
        task.is_overdue = _is_overdue(task, today)  # type: ignore[attr-defined]


def _is_overdue(task: Task, day: dt.date) -> bool:
    return task.status in OPEN_TASK_STATUSES and task.due_on is not None and task.due_on < day


def _link(name: str, pk: int | None) -> str:
    """The page of a playbook or run, once the playbook pages exist ("" until then)."""
    if pk is None:
        return ""
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return ""


@requires(Capability.WORK_TASKS)
def task_list(request: HttpRequest) -> HttpResponse:
    form, tasks, manager = _listed(request)
    page = Paginator(tasks, PAGE).get_page(request.GET.get("page"))
    rows = list(page)
    _progress(rows)
    today = worklist.today()
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "today": today,
        "manager": manager,
        "overdue": worklist.overdue_count(_user(request), today),
        "account": _account(request),
    }
    return render(request, "playbooks/task_list.html", context)


def _account(request: HttpRequest) -> Account | None:
    value = request.GET.get("account", "")
    return Account.objects.filter(pk=int(value)).first() if value.isdigit() else None


def _board_context(request: HttpRequest) -> dict[str, Any]:
    form, tasks, manager = _listed(request, status="all")
    today = worklist.today()
    recent = timezone.now() - dt.timedelta(days=DONE_ON_BOARD_DAYS)
    tasks = tasks.filter(status__in=BOARD_STATUSES).exclude(status=TaskStatus.DONE, completed_at__lt=recent)
    columns = []
    for status in BOARD_STATUSES:
        cards = list(tasks.filter(status=status).order_by("due_on", "id")[:BOARD_LIMIT])
        _progress(cards)
        columns.append({"status": status, "label": TaskStatus(status).label, "cards": cards})
    return {
        "form": form,
        "columns": columns,
        "today": today,
        "manager": manager,
        "status_choices": _board_choices(),
        "query": request.GET.urlencode(),
    }


def _board_choices() -> list[tuple[str, str]]:
    return [(str(status), str(TaskStatus(status).label)) for status in (*BOARD_STATUSES, TaskStatus.CANCELLED)]


@requires(Capability.WORK_TASKS)
def task_board(request: HttpRequest) -> HttpResponse:
    """Columns per status; a card is dragged to another column (or its select changed) to move it."""
    return render(request, "playbooks/task_board.html", _board_context(request))


@requires(Capability.WORK_TASKS)
@require_POST
def task_move(request: HttpRequest, pk: int) -> HttpResponse:
    """The board's drop (htmx): change the status and answer with the card as it now is."""
    task = _visible_task(request, pk)
    try:
        task = worklist.set_status(task, request.POST.get("status", ""), _user(request))
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=422)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "playbooks/_task_board.html", _board_context(request))
    return redirect(reverse("playbooks:task_board") + (f"?{request.GET.urlencode()}" if request.GET else ""))


@requires(Capability.WORK_TASKS)
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = _visible_task(request, pk)
    return render(request, "playbooks/task_detail.html", _detail_context(request, task))


def _detail_context(request: HttpRequest, task: Task, **forms: Any) -> dict[str, Any]:
    items = list(task.checklist.all())
    done, total, percent = worklist.checklist_progress(items)
    can_manage = worklist.can_manage(request.user, task)
    return {
        "task": task,
        "items": items,
        "done": done,
        "total": total,
        "percent": percent,
        "comments": task.comments.select_related("author"),
        "comment_form": forms.get("comment_form") or CommentForm(),
        "delegate_form": forms.get("delegate_form") or (DelegateForm(exclude=task.owner_id) if can_manage else None),
        "reassign_form": forms.get("reassign_form") or (ReassignForm(exclude=task.owner_id) if can_manage else None),
        "can_manage": can_manage,
        "statuses": TaskStatus.choices,
        "today": worklist.today(),
        "overdue": _is_overdue(task, worklist.today()),
        "playbook_url": _link("playbooks:playbook", task.playbook_id),
        "run_url": _link("playbooks:run", task.run_id),
    }


def _refused(request: HttpRequest, task: Task, form: Any, exc: ValidationError, name: str) -> HttpResponse:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)
    return render(request, "playbooks/task_detail.html", _detail_context(request, task, **{name: form}), status=422)


@requires(Capability.WORK_TASKS)
@require_POST
def task_status(request: HttpRequest, pk: int) -> HttpResponse:
    task = _visible_task(request, pk)
    try:
        worklist.set_status(task, request.POST.get("status", ""), _user(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("playbooks:task", pk=task.pk)


@requires(Capability.WORK_TASKS)
@require_POST
def task_toggle(request: HttpRequest, pk: int, item: int) -> HttpResponse:
    """Tick or untick one checklist item; htmx gets the checklist back with its progress bar."""
    task = _visible_task(request, pk)
    try:
        worklist.toggle_item(task, item, _user(request))
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=422)
    if request.htmx:  # type: ignore[attr-defined]
        items = list(task.checklist.all())
        done, total, percent = worklist.checklist_progress(items)
        context = {"task": task, "items": items, "done": done, "total": total, "percent": percent}
        return render(request, "playbooks/_task_checklist.html", context)
    return redirect("playbooks:task", pk=task.pk)


@requires(Capability.WORK_TASKS)
@require_POST
def task_comment(request: HttpRequest, pk: int) -> HttpResponse:
    task = _visible_task(request, pk)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return render(
            request, "playbooks/task_detail.html", _detail_context(request, task, comment_form=form), status=422
        )
    try:
        worklist.add_comment(task, _user(request), form.cleaned_data["body"])
    except ValidationError as exc:
        return _refused(request, task, form, exc, "comment_form")
    return redirect(reverse("playbooks:task", args=[task.pk]) + "#comments")


@requires(Capability.WORK_TASKS)
@require_POST
def task_delegate(request: HttpRequest, pk: int) -> HttpResponse:
    task = _visible_task(request, pk)
    if not worklist.can_manage(request.user, task):
        raise PermissionDenied(_("Only the owner or a manager can delegate this task."))
    form = DelegateForm(request.POST, exclude=task.owner_id)
    if not form.is_valid():
        return render(
            request, "playbooks/task_detail.html", _detail_context(request, task, delegate_form=form), status=422
        )
    try:
        worklist.delegate(task, form.cleaned_data["delegated_to"], form.cleaned_data["note"], _user(request))
    except ValidationError as exc:
        return _refused(request, task, form, exc, "delegate_form")
    messages.success(request, _("Delegated to %(name)s.") % {"name": form.cleaned_data["delegated_to"]})
    return redirect("playbooks:task", pk=task.pk)


@requires(Capability.WORK_TASKS)
@require_POST
def task_take_back(request: HttpRequest, pk: int) -> HttpResponse:
    task = _visible_task(request, pk)
    worklist.take_back(task, _user(request))
    return redirect("playbooks:task", pk=task.pk)


@requires(Capability.WORK_TASKS)
@require_POST
def task_reassign(request: HttpRequest, pk: int) -> HttpResponse:
    task = _visible_task(request, pk)
    if not worklist.can_manage(request.user, task):
        raise PermissionDenied(_("Only the owner or a manager can reassign this task."))
    form = ReassignForm(request.POST, exclude=task.owner_id)
    if not form.is_valid():
        return render(
            request, "playbooks/task_detail.html", _detail_context(request, task, reassign_form=form), status=422
        )
    try:
        task = worklist.reassign(task, form.cleaned_data["owner"], _user(request))
    except ValidationError as exc:
        return _refused(request, task, form, exc, "reassign_form")
    if not worklist.can_work(request.user, task):
        return redirect("playbooks:tasks")
    return redirect("playbooks:task", pk=task.pk)


@requires(Capability.WORK_TASKS)
def task_create(request: HttpRequest) -> HttpResponse:
    """A task by hand; `?account=<id>` (the Account 360's link) fills in the account."""
    user = _user(request)
    manager = worklist.is_manager(user)
    initial = {"owner": user.pk}
    if request.GET.get("account", "").isdigit():
        initial["account"] = int(request.GET["account"])
    form = TaskForm(request.POST or None, initial=initial, manager=manager)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            task = worklist.create_task(
                title=data["title"],
                intent=data["intent"],
                account=data["account"],
                owner=data.get("owner") or user,
                due_on=data["due_on"],
                priority=data["priority"],
                checklist=form.checklist_items(),
                by=user,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return redirect("playbooks:task", pk=task.pk)
    account = form["account"].value()
    context = {
        "form": form,
        "account": Account.objects.filter(pk=account).first() if str(account or "").isdigit() else None,
    }
    return render(request, "playbooks/task_form.html", context, status=422 if form.errors else 200)


@requires(Capability.MANAGE_PLAYBOOKS)
def task_stats(request: HttpRequest) -> HttpResponse:
    """Completion rate and time to complete per playbook and per person, a chart with the table beside it."""
    playbooks = list(Playbook.objects.filter(tasks__isnull=False).distinct().order_by("name"))
    people = list(workers().filter(Q(owned_tasks__isnull=False)).distinct())
    by_playbook = worklist.playbook_task_stats([p.pk for p in playbooks])
    by_person = worklist.person_task_stats([p.pk for p in people])
    playbook_rows = [(p, by_playbook[p.pk]) for p in playbooks]
    person_rows = [(p, by_person[p.pk]) for p in people]

    def chart(rows: list[tuple[Any, worklist.TaskStats]]) -> dict[str, Any]:
        labels = [str(obj) for obj, _ in rows]
        rates = [round(100 * s["completion_rate"], 1) if s["completion_rate"] is not None else None for _, s in rows]
        config = bar_chart(labels, [series(_("Completion rate (%)"), rates)], y_title="%")
        config["options"]["scales"]["y"].update(min=0, max=100)
        return config

    sections = [
        (_("By playbook"), playbook_rows, chart(playbook_rows), "chart-playbooks", "playbook"),
        (_("By person"), person_rows, chart(person_rows), "chart-people", "person"),
    ]
    return render(request, "playbooks/task_stats.html", {"sections": sections})
