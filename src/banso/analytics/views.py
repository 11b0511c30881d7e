"""Analytics pages: the overview with recompute runs, the metric catalogue and custom metrics, segments with
their rule builder, preview, members and history. Every page reads and writes through `services`."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.core.models import User
from banso.core.permissions import Capability, has_capability, requires
from banso.core.views import progress_fragment

from . import describe, queries, services
from .backends import BackendError
from .forms import MetricForm, RuleFormSet, RuleRowForm, SegmentEditor, attribute_value_lists
from .models import AnalyticsRun, MetricDefinition, RunStatus, Segment
from .specs import SpecError, Subject, parse_metric

MEMBERS_PER_PAGE = 50
HISTORY_PER_PAGE = 50
RUNS_SHOWN = 10


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _can_manage(request: HttpRequest) -> bool:
    return has_capability(request.user, Capability.MANAGE_ANALYTICS)


# Overview and runs ---------------------------------------------------------------------------------


def _runs_context() -> dict[str, Any]:
    runs = list(AnalyticsRun.objects.select_related("triggered_by")[:RUNS_SHOWN])
    return {"runs": runs, "polling": any(run.status in (RunStatus.QUEUED, RunStatus.RUNNING) for run in runs)}


@requires(Capability.VIEW_ANALYTICS)
def index(request: HttpRequest) -> HttpResponse:
    metrics = services.catalogue()
    segments = Segment.objects.aggregate(
        total=Count("id"),
        active=Count("id", filter=Q(is_active=True)),
        members=Count("id", filter=Q(member_count__gt=0)),
    )
    context = {
        "builtin_count": sum(1 for m in metrics.values() if m.builtin),
        "custom_count": sum(1 for m in metrics.values() if not m.builtin),
        "segments": segments,
        "last_success": AnalyticsRun.objects.filter(status=RunStatus.SUCCEEDED).first(),
        "can_manage": _can_manage(request),
        **_runs_context(),
    }
    return render(request, "analytics/index.html", context)


@requires(Capability.VIEW_ANALYTICS)
def runs_table(request: HttpRequest) -> HttpResponse:
    """The overview's list of runs alone, polled by htmx while one of them is queued or running."""
    return render(request, "analytics/_runs.html", _runs_context())


@requires(Capability.MANAGE_ANALYTICS)
@require_POST
def run_start(request: HttpRequest) -> HttpResponse:
    running = services.active_run()
    if running is not None:
        messages.info(request, _("A recompute is already waiting or running; it is shown below."))
        return redirect("analytics:run", pk=running.pk)
    run = services.start_recompute(_actor(request))
    messages.success(request, _("The recompute was queued; the worker runs it in the background."))
    return redirect("analytics:run", pk=run.pk)


@requires(Capability.VIEW_ANALYTICS)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(AnalyticsRun.objects.select_related("triggered_by"), pk=pk)
    return render(request, "analytics/run.html", {"run": run, "running": run.running})


@requires(Capability.VIEW_ANALYTICS)
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress panel alone, polled by htmx while the run goes; when it ends, the whole page reloads."""
    return progress_fragment(request, "analytics/_run_progress.html", get_object_or_404(AnalyticsRun, pk=pk))


# Metrics -------------------------------------------------------------------------------------------


@requires(Capability.VIEW_ANALYTICS)
def metric_list(request: HttpRequest) -> HttpResponse:
    metrics = services.catalogue()
    categories: dict[str, list[dict[str, Any]]] = {}
    for metric in metrics.values():
        if metric.builtin:
            categories.setdefault(str(metric.category), []).append(
                {"metric": metric, "text": describe.metric_text(metric.spec)}
            )
    customs = []
    for definition in MetricDefinition.objects.select_related("created_by"):
        known = metrics.get(definition.key)
        customs.append(
            {
                "definition": definition,
                "text": describe.metric_text(known.spec) if known and not known.builtin else "",
                "subject": describe.SUBJECTS.get((definition.spec or {}).get("subject", "account"), ""),
            }
        )
    context = {
        "categories": categories,
        "customs": customs,
        "subjects": describe.SUBJECTS,
        "can_manage": _can_manage(request),
    }
    return render(request, "analytics/metrics.html", context)


def _metric_form_page(request: HttpRequest, form: MetricForm, definition: MetricDefinition | None) -> HttpResponse:
    preview = ""
    if not form.is_bound and definition is not None:
        try:
            preview = describe.metric_text(parse_metric(definition.spec))
        except SpecError:
            preview = ""
    elif form.is_bound and form.is_valid():
        try:
            preview = describe.metric_text(parse_metric(form.spec()), form.account_names())
        except SpecError:
            preview = ""
    return render(request, "analytics/metric_form.html", {"form": form, "definition": definition, "preview": preview})


@requires(Capability.MANAGE_ANALYTICS)
def metric_create(request: HttpRequest) -> HttpResponse:
    form = MetricForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            definition = services.save_custom_metric(
                _actor(request),
                key=data["key"],
                label=data["label"],
                spec=form.spec(),
                description=data["description"],
                is_active=data["is_active"],
            )
        except SpecError as error:
            form.show_errors(error)
        else:
            messages.success(request, _("The metric “%(name)s” was added.") % {"name": definition.label})
            return redirect("analytics:metrics")
    return _metric_form_page(request, form, None)


@requires(Capability.MANAGE_ANALYTICS)
def metric_edit(request: HttpRequest, key: str) -> HttpResponse:
    definition = get_object_or_404(MetricDefinition, key=key)
    form = MetricForm(request.POST or None, instance=definition)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_custom_metric(
                _actor(request),
                definition,
                label=data["label"],
                spec=form.spec(),
                description=data["description"],
                is_active=data["is_active"],
            )
        except SpecError as error:
            form.show_errors(error)
        else:
            messages.success(request, _("The metric “%(name)s” was saved.") % {"name": definition.label})
            return redirect("analytics:metrics")
    return _metric_form_page(request, form, definition)


@requires(Capability.MANAGE_ANALYTICS)
@require_POST
def metric_active(request: HttpRequest, key: str) -> HttpResponse:
    """Deactivate (or reactivate) a custom metric; refused while an active segment uses it."""
    definition = get_object_or_404(MetricDefinition, key=key)
    active = request.POST.get("active") == "1"
    try:
        services.set_metric_active(_actor(request), definition, active)
    except SpecError as error:
        for _field, message in error.errors:
            messages.error(request, message)
    else:
        text = _("“%(name)s” is active again.") if active else _("“%(name)s” was deactivated.")
        messages.success(request, text % {"name": definition.label})
    return redirect("analytics:metrics")


# Segments ------------------------------------------------------------------------------------------


@requires(Capability.VIEW_ANALYTICS)
def segment_list(request: HttpRequest) -> HttpResponse:
    segments = Segment.objects.select_related("created_by")
    return render(request, "analytics/segments.html", {"segments": segments, "can_manage": _can_manage(request)})


def _subject(value: str | None) -> Subject:
    return "end_user" if value == "end_user" else "account"


def _editor_page(request: HttpRequest, editor: SegmentEditor) -> HttpResponse:
    context = {
        "editor": editor,
        "form": editor.form,
        "rows": editor.rows,
        "segment": editor.segment,
        "subject": editor.subject,
        "subjects": describe.SUBJECTS,
        "value_lists": attribute_value_lists(editor.subject),
    }
    return render(request, "analytics/segment_form.html", context)


def _save(request: HttpRequest, editor: SegmentEditor) -> Segment | None:
    rules = editor.rules()
    if rules is None:
        return None
    data = editor.form.cleaned_data
    try:
        return services.save_segment(
            _actor(request),
            name=data["name"],
            rules=rules,
            subject_type=editor.subject,
            description=data["description"],
            is_active=data["is_active"],
            instance=editor.segment,
        )
    except SpecError as error:
        editor.show_errors(error)
        return None


@requires(Capability.MANAGE_ANALYTICS)
def segment_create(request: HttpRequest) -> HttpResponse:
    subject = _subject(request.POST.get("subject_type") or request.GET.get("subject"))
    editor = SegmentEditor(request.POST or None, subject=subject)
    if request.method == "POST":
        segment = _save(request, editor)
        if segment is not None:
            messages.success(
                request,
                _("The segment “%(name)s” was created. Refresh it to find its members.") % {"name": segment.name},
            )
            return redirect("analytics:segment", pk=segment.pk)
    return _editor_page(request, editor)


@requires(Capability.MANAGE_ANALYTICS)
def segment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    editor = SegmentEditor(request.POST or None, subject=_subject(segment.subject_type), segment=segment)
    if request.method == "POST":
        saved = _save(request, editor)
        if saved is not None:
            messages.success(request, _("The segment “%(name)s” was saved.") % {"name": saved.name})
            return redirect("analytics:segment", pk=saved.pk)
        segment.refresh_from_db()
    return _editor_page(request, editor)


@requires(Capability.MANAGE_ANALYTICS)
def segment_rule_row(request: HttpRequest) -> HttpResponse:
    """One more empty condition row for the builder (htmx), with the row count bumped out of band."""
    try:
        index = max(0, int(request.GET.get("rules-TOTAL_FORMS", "0")))
    except ValueError:
        index = 0
    formset = RuleFormSet(prefix="rules")
    row = RuleRowForm(
        prefix=formset.add_prefix(index), initial={"op": "gte"}, subject=_subject(request.GET.get("subject_type"))
    )
    formset.add_fields(row, index)
    return render(request, "analytics/_rule_row.html", {"row": row, "total": index + 1, "oob": True})


@requires(Capability.MANAGE_ANALYTICS)
@require_POST
def segment_preview(request: HttpRequest) -> HttpResponse:
    """How many members the rules on the form select now: the count, or what is wrong with the rules."""
    subject = _subject(request.POST.get("subject_type"))
    editor = SegmentEditor(request.POST, subject=subject)
    context: dict[str, Any] = {"subject": describe.SUBJECTS[subject], "as_of": timezone.localdate()}
    rules = editor.rules()
    if rules is None:
        context["errors"] = _typing_errors(editor)
        return render(request, "analytics/_preview.html", context)
    try:
        context["count"] = services.preview_count({"subject": subject, "rules": rules})
    except SpecError as error:
        editor.show_errors(error)
        context["errors"] = _typing_errors(editor)
    except BackendError as error:
        context["errors"] = [_("The analytics engine is not available: %(error)s") % {"error": error}]
    return render(request, "analytics/_preview.html", context)


def _typing_errors(editor: SegmentEditor) -> list[str]:
    """Every message of the form and its rows, each row's prefixed with its position."""
    found = [str(message) for messages_ in editor.form.errors.values() for message in messages_]
    found += editor.builder_errors
    for position, row in enumerate(editor.rows.kept() if editor.rows.is_bound else [], start=1):
        for messages_ in row.errors.values():
            found += [_("Condition %(n)s: %(message)s") % {"n": position, "message": m} for m in messages_]
    return found or [_("Check the conditions.")]


@requires(Capability.VIEW_ANALYTICS)
def segment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment.objects.select_related("created_by"), pk=pk)
    subject = _subject(segment.subject_type)
    members = Paginator(queries.current_members(segment).values_list("subject_id", "entered_at"), MEMBERS_PER_PAGE)
    member_page = members.get_page(request.GET.get("page"))
    history = Paginator(queries.membership_history(segment), HISTORY_PER_PAGE)
    history_page = history.get_page(request.GET.get("history"))
    names = queries.subjects_by_id(
        subject, [row[0] for row in member_page.object_list] + [row[0] for row in history_page.object_list]
    )
    try:
        rules = describe.rules_text(services.segment_spec(segment).rules, subject, services.catalogue(subject))
    except SpecError:
        rules = None
    context = {
        "segment": segment,
        "subject": subject,
        "rules": rules,
        "member_page": member_page,
        "member_rows": [(names[i], entered) for i, entered in member_page.object_list],
        "history_page": history_page,
        "history_rows": [(names[i], change, at) for i, change, at in history_page.object_list],
        "can_manage": _can_manage(request),
    }
    return render(request, "analytics/segment_detail.html", context)


@requires(Capability.MANAGE_ANALYTICS)
@require_POST
def segment_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    """Recompute the members now and record who entered and left (from the events copied so far)."""
    segment = get_object_or_404(Segment, pk=pk)
    try:
        services.check_segment({"subject": segment.subject_type, "rules": segment.rules})
        entered, left = services.refresh_segment(segment)
    except SpecError as error:
        for _field, message in error.errors:
            messages.error(request, message)
    except BackendError as error:
        messages.error(request, _("The analytics engine is not available: %(error)s") % {"error": error})
    else:
        messages.success(
            request,
            _("Refreshed: %(count)s members (%(entered)s entered, %(left)s left).")
            % {"count": f"{segment.member_count:,}", "entered": f"{entered:,}", "left": f"{left:,}"},
        )
    return redirect(reverse("analytics:segment", args=[segment.pk]))
