"""Trigger evaluation pages: the evaluations with what each started per playbook, one evaluation with its
progress, and the "evaluate now" button."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.core.models import User
from banso.core.permissions import Capability, has_capability, requires
from banso.core.views import progress_fragment

from . import triggers
from .models import Playbook, TriggerKind, TriggerRun

RUNS_SHOWN = 20


def _results(run: TriggerRun | None) -> list[dict[str, Any]]:
    """The run's per-playbook lines with the trigger's name, most runs started first."""
    if run is None:
        return []
    labels = dict(TriggerKind.choices)
    rows = [{**line, "trigger_label": labels.get(line.get("trigger", ""), line.get("trigger"))} for line in run.results]
    return sorted(rows, key=lambda line: (-int(line.get("started") or 0), str(line.get("name"))))


@requires(Capability.WORK_TASKS)
def trigger_runs(request: HttpRequest) -> HttpResponse:
    runs = list(TriggerRun.objects.select_related("triggered_by")[:RUNS_SHOWN])
    latest = next((run for run in runs if run.results), None)
    watched = Playbook.objects.filter(is_active=True).exclude(trigger=TriggerKind.MANUAL).count()
    context = {
        "runs": runs,
        "latest": latest,
        "results": _results(latest),
        "watched": watched,
        "can_manage": has_capability(request.user, Capability.MANAGE_PLAYBOOKS),
    }
    return render(request, "playbooks/trigger_runs.html", context)


@requires(Capability.MANAGE_PLAYBOOKS)
@require_POST
def trigger_evaluate(request: HttpRequest) -> HttpResponse:
    running = triggers.active_evaluation()
    if running is not None:
        messages.info(request, _("An evaluation is already waiting or running; it is shown below."))
        return redirect("playbooks:trigger_run", pk=running.pk)
    actor = request.user if isinstance(request.user, User) else None
    run = triggers.start_evaluation(actor)
    messages.success(request, _("The evaluation was queued; the worker runs it in the background."))
    return redirect("playbooks:trigger_run", pk=run.pk)


@requires(Capability.WORK_TASKS)
def trigger_run(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(TriggerRun.objects.select_related("triggered_by"), pk=pk)
    context = {"run": run, "running": run.running, "results": _results(run)}
    return render(request, "playbooks/trigger_run.html", context)


@requires(Capability.WORK_TASKS)
def trigger_run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress panel alone, polled by htmx while the evaluation goes; when it ends, the page reloads."""
    return progress_fragment(request, "playbooks/_trigger_progress.html", get_object_or_404(TriggerRun, pk=pk))
