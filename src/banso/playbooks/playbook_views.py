"""Playbook pages: the list, the editor (the playbook's trigger and conditions, then its steps), the detail
with recent runs, their step log and the playbook's effect, and the task and email template pages with a
live preview and a test send. Reads and writes go through `editor`, `runs`, `effect` and `templating`."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.accounts.models import Account
from banso.core.models import User
from banso.core.permissions import Capability, has_capability, requires

from . import editor, effect, runs, templating
from .actions import recipients, render_email
from .forms import EmailTemplateForm, PlaybookForm, StepForm, TaskTemplateForm
from .models import (
    EmailAudience,
    EmailTemplate,
    Playbook,
    PlaybookRun,
    PlaybookRunStatus,
    Step,
    StepAction,
    TaskTemplate,
)
from .playbook_panels import manual_playbooks

RECENT_RUNS = 50


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _task_stats(ids: list[int]) -> dict[int, Any]:
    from .worklist import playbook_task_stats

    return playbook_task_stats(ids)


# Playbooks -------------------------------------------------------------------------------------------


@requires(Capability.VIEW_ACCOUNTS)
def playbook_list(request: HttpRequest) -> HttpResponse:
    playbooks = list(
        Playbook.objects.annotate(
            active_runs=Count("runs", filter=Q(runs__status=PlaybookRunStatus.ACTIVE)),
            completed_runs=Count("runs", filter=Q(runs__status=PlaybookRunStatus.COMPLETED)),
            failed_runs=Count("runs", filter=Q(runs__status=PlaybookRunStatus.FAILED)),
        ).order_by("-is_active", "name")
    )
    stats = _task_stats([p.pk for p in playbooks])
    for playbook in playbooks:
        playbook.task_stats = stats.get(playbook.pk)  # type: ignore[attr-defined]
    return render(
        request,
        "playbooks/playbook_list.html",
        {"playbooks": playbooks, "can_manage": has_capability(request.user, Capability.MANAGE_PLAYBOOKS)},
    )


@requires(Capability.MANAGE_PLAYBOOKS)
def playbook_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    playbook = get_object_or_404(Playbook, pk=pk) if pk is not None else None
    if request.method == "POST":
        form = PlaybookForm(request.POST)
        if form.is_valid():
            try:
                saved = editor.save_playbook(playbook, form.cleaned, _actor(request))
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("Playbook saved."))
                return redirect("playbooks:playbook", saved.pk)
    elif playbook is not None:
        form = PlaybookForm(initial={name: getattr(playbook, name) for name in editor.PLAYBOOK_FIELDS})
    else:
        form = PlaybookForm()
    return render(request, "playbooks/playbook_edit.html", {"playbook": playbook, "form": form})


def _step_rows(playbook: Playbook) -> list[Step]:
    steps = list(playbook.steps.order_by("position"))
    task_names = dict(TaskTemplate.objects.values_list("pk", "name"))
    email_names = dict(EmailTemplate.objects.values_list("pk", "name"))
    for step in steps:
        step.summary = _summary(step, task_names, email_names)  # type: ignore[attr-defined]
    return steps


def _summary(step: Step, task_names: dict[Any, str], email_names: dict[Any, str]) -> str:
    params = step.params or {}
    if step.action == StepAction.TASK:
        return task_names.get(params.get("template_id"), "?")
    if step.action == StepAction.EMAIL:
        audience = EmailAudience(params.get("audience", EmailAudience.PRIMARY_CONTACT)).label
        return f"{email_names.get(params.get('template_id'), '?')} → {audience}"
    if step.action == StepAction.WEBHOOK:
        return str(params.get("url", ""))
    if step.action in (StepAction.ADD_TAG, StepAction.REMOVE_TAG):
        return str(params.get("tag", ""))
    return f"{params.get('field')} = {params.get('value')}"


def _plain(value: Any) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _effect_view(found: effect.Effect) -> dict[str, Any]:
    """The effect's numbers as the page shows them: rates and intervals in percent, the difference in points."""
    rows = []
    for label, group in ((_("Went through the playbook"), found.treated), (_("Comparable accounts"), found.control)):
        interval = group.interval
        rows.append(
            {
                "label": label,
                "decided": group.decided,
                "renewed": group.renewed,
                "rate": _percent(group.rate),
                "interval": f"{_percent(interval[0])} – {_percent(interval[1])}" if interval else "—",
            }
        )
    view: dict[str, Any] = {"rows": rows, "min_group": effect.MIN_GROUP, "difference": None}
    if found.difference is not None and found.interval is not None:
        view["difference"] = f"{found.difference * 100:+.1f}"
        view["low"], view["high"] = (f"{x * 100:+.1f}" for x in found.interval)
    return view


@requires(Capability.VIEW_ACCOUNTS)
def playbook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    playbook = get_object_or_404(Playbook.objects.select_related("created_by"), pk=pk)
    recent = list(
        PlaybookRun.objects.filter(playbook=playbook)
        .select_related("account", "started_by")
        .annotate(done_steps=Count("steps"))
        .order_by("-started_at", "-id")[:RECENT_RUNS]
    )
    counts = dict(
        PlaybookRun.objects.filter(playbook=playbook).values_list("status").annotate(n=Count("id")).order_by()
    )
    manager = has_capability(request.user, Capability.MANAGE_PLAYBOOKS)
    found = effect.playbook_effect(playbook)
    context = {
        "playbook": playbook,
        "steps": _step_rows(playbook),
        "trigger_settings": ", ".join(f"{k}={_plain(v)}" for k, v in (playbook.trigger_params or {}).items()),
        "conditions": [f"{c.get('field')} {c.get('op')} {_plain(c.get('value'))}" for c in playbook.conditions or []],
        "runs": recent,
        "counts": [(status.label, counts.get(status.value, 0)) for status in PlaybookRunStatus],
        "effect": found,
        "effect_view": _effect_view(found),
        "tasks": _task_stats([playbook.pk]).get(playbook.pk),
        "can_manage": manager,
        "step_form": StepForm() if manager else None,
    }
    return render(request, "playbooks/playbook_detail.html", context)


@requires(Capability.MANAGE_PLAYBOOKS)
@require_POST
def step_add(request: HttpRequest, pk: int) -> HttpResponse:
    playbook = get_object_or_404(Playbook, pk=pk)
    form = StepForm(request.POST)
    if form.is_valid():
        try:
            editor.add_step(playbook, form.cleaned)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Step added."))
            return redirect(reverse("playbooks:playbook", args=[playbook.pk]) + "#steps")
    return render(request, "playbooks/playbook_step.html", {"playbook": playbook, "form": form, "step": None})


@requires(Capability.MANAGE_PLAYBOOKS)
def step_edit(request: HttpRequest, pk: int) -> HttpResponse:
    step = get_object_or_404(Step.objects.select_related("playbook"), pk=pk)
    if request.method == "POST":
        form = StepForm(request.POST)
        if form.is_valid():
            editor.update_step(step, form.cleaned)
            messages.success(request, _("Step saved."))
            return redirect(reverse("playbooks:playbook", args=[step.playbook_id]) + "#steps")
    else:
        form = StepForm(initial=StepForm.initial_for(step))
    return render(request, "playbooks/playbook_step.html", {"playbook": step.playbook, "form": form, "step": step})


@requires(Capability.MANAGE_PLAYBOOKS)
@require_POST
def step_move(request: HttpRequest, pk: int) -> HttpResponse:
    step = get_object_or_404(Step, pk=pk)
    editor.move_step(step, -1 if request.POST.get("direction") == "up" else 1)
    return redirect(reverse("playbooks:playbook", args=[step.playbook_id]) + "#steps")


@requires(Capability.MANAGE_PLAYBOOKS)
@require_POST
def step_delete(request: HttpRequest, pk: int) -> HttpResponse:
    step = get_object_or_404(Step, pk=pk)
    editor.remove_step(step)
    messages.success(request, _("Step removed."))
    return redirect(reverse("playbooks:playbook", args=[step.playbook_id]) + "#steps")


# Runs ------------------------------------------------------------------------------------------------


@requires(Capability.VIEW_ACCOUNTS)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(PlaybookRun.objects.select_related("playbook", "account", "started_by"), pk=pk)
    log = run.steps.select_related("task", "message").order_by("position")
    return render(
        request,
        "playbooks/playbook_run.html",
        {"run": run, "log": log, "can_cancel": has_capability(request.user, Capability.MANAGE_PLAYBOOKS)},
    )


@requires(Capability.MANAGE_PLAYBOOKS)
@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(PlaybookRun, pk=pk)
    try:
        runs.cancel_run(run, _actor(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Run cancelled."))
    return redirect("playbooks:run", run.pk)


@requires(Capability.WORK_TASKS)
def playbook_start_form(request: HttpRequest, account_id: int) -> HttpResponse:
    """htmx: the Account 360 card's start form, loaded when the user opens it."""
    account = get_object_or_404(Account, pk=account_id)
    return render(request, "playbooks/_account_start_form.html", {"account": account, "manual": manual_playbooks()})


@requires(Capability.WORK_TASKS)
@require_POST
def playbook_start(request: HttpRequest) -> HttpResponse:
    """Start the posted playbook by hand on the posted account (the Account 360 card's form)."""
    from . import triggers

    playbook_id, account_id = request.POST.get("playbook", ""), request.POST.get("account_id", "")
    playbook = get_object_or_404(Playbook, pk=int(playbook_id) if playbook_id.isdigit() else 0)
    account = get_object_or_404(Account, pk=int(account_id) if account_id.isdigit() else 0)
    try:
        run = triggers.start_manually(playbook, account, _actor(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("accounts:detail", account.pk)
    messages.success(request, _("Playbook “%(name)s” started.") % {"name": playbook.name})
    return redirect("playbooks:run", run.pk)


# Templates -------------------------------------------------------------------------------------------


@requires(Capability.VIEW_ACCOUNTS)
def template_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "playbooks/template_list.html",
        {
            "task_templates": TaskTemplate.objects.select_related("owner_team", "owner_user").order_by("name"),
            "email_templates": EmailTemplate.objects.order_by("name"),
            "can_manage": has_capability(request.user, Capability.MANAGE_PLAYBOOKS),
        },
    )


@requires(Capability.MANAGE_PLAYBOOKS)
def task_template_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    template = get_object_or_404(TaskTemplate, pk=pk) if pk is not None else None
    form = TaskTemplateForm(request.POST or None, instance=template)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Task template saved."))
        return redirect("playbooks:templates")
    return render(
        request,
        "playbooks/template_task.html",
        {"form": form, "template": template, "fields": templating.field_names()},
    )


@requires(Capability.MANAGE_PLAYBOOKS)
def email_template_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    template = get_object_or_404(EmailTemplate, pk=pk) if pk is not None else None
    form = EmailTemplateForm(request.POST or None, instance=template)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, _("Email template saved."))
        return redirect("playbooks:email_template", saved.pk)
    return render(
        request,
        "playbooks/template_email.html",
        {
            "form": form,
            "template": template,
            "fields": templating.field_names(),
            "preview": _preview(form.initial.get("subject", ""), form.initial.get("body", ""), None),
        },
    )


def _preview(subject: str, body: str, account: Account | None) -> dict[str, Any]:
    errors = templating.check(subject) + templating.check(body)
    if errors:
        return {"errors": errors}
    if account is None:
        context = templating.sample_context()
    else:
        found = recipients(account, EmailAudience.PRIMARY_CONTACT)
        context = templating.context_for(account, contact=found[0][1] if found else None)
    return {
        "subject": " ".join(templating.render(subject, context).split()),
        "body": templating.render(body, context),
        "account": account,
    }


@requires(Capability.MANAGE_PLAYBOOKS)
@require_POST
def email_template_preview(request: HttpRequest) -> HttpResponse:
    """htmx: the mail as it would read for the chosen account (or sample data), as the user types."""
    account_id = request.POST.get("preview_account", "")
    account = Account.objects.filter(pk=int(account_id)).first() if account_id.isdigit() else None
    preview = _preview(request.POST.get("subject", ""), request.POST.get("body", ""), account)
    return render(request, "playbooks/_template_preview.html", {"preview": preview})


@requires(Capability.MANAGE_PLAYBOOKS)
@require_POST
def email_template_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the saved template to the signed-in user's own address through the outbox, marked as a test."""
    from . import outbox

    template = get_object_or_404(EmailTemplate, pk=pk)
    user = _actor(request)
    if user is None or not user.email:
        messages.error(request, _("Your profile has no email address to send the test to."))
        return redirect("playbooks:email_template", pk)
    account_id = request.POST.get("preview_account", "")
    account = Account.objects.filter(pk=int(account_id)).first() if account_id.isdigit() else None
    if account is None:
        context = templating.sample_context()
        subject = " ".join(templating.render(template.subject, context).split())
        body = templating.render(template.body, context)
    else:
        found = recipients(account, EmailAudience.PRIMARY_CONTACT)
        subject, body = render_email(template, account, found[0][1] if found else None, None)
    outbox.enqueue_email(
        user.email, (_("[Test] %(subject)s") % {"subject": subject})[:300], body, source="playbooks-test"
    )
    messages.success(request, _("Test mail queued to %(email)s.") % {"email": user.email})
    return redirect("playbooks:email_template", pk)
