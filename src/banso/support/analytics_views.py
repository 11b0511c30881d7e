"""Pages of the analytics area: inquiry analytics, the category tree and inquiry types, the classifier (runs,
training, confirming a suggestion on a conversation) and improvement requests. Thin: every change goes
through `categories`, `classify` or `improvements`."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.core import charts, xlsx
from banso.core.models import User
from banso.core.permissions import Capability, has_capability, requires
from banso.core.views import progress_fragment

from . import analytics, categories, classify, improvements
from .analytics_forms import (
    CategoryForm,
    CategoryImportForm,
    ConfirmTypeForm,
    ImprovementForm,
    ImprovementLinkForm,
    ImprovementStatusForm,
    InquiryTypeForm,
)
from .desk import DeskError
from .models import (
    Category,
    ClassifierRun,
    ClassifierTraining,
    ImprovementRequest,
    ImprovementStatus,
    Inquiry,
    InquiryType,
)

RUNS_SHOWN = 10


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _minutes(value: float | None) -> str:
    """Business minutes as "1:05" (hours:minutes)."""
    if value is None:
        return "—"
    minutes = round(value)
    return f"{minutes // 60}:{minutes % 60:02d}"


# Analytics ----------------------------------------------------------------------------------------------


def _period(request: HttpRequest) -> analytics.Period:
    try:
        return analytics.parse_period(request.GET.get("from"), request.GET.get("to"), request.GET.get("grain"))
    except DeskError as error:
        messages.error(request, f"{error.field}: {error.message}")
        return analytics.parse_period(None, None, None)


def _charts(data: dict[str, Any]) -> dict[str, Any]:
    vol, bot = data["volume"], data["chatbot"]
    labels = [r["bucket"].isoformat() for r in vol["timeline"]]
    return {
        "volume": charts.bar_chart(labels, [charts.series(_("Inquiries"), [r["count"] for r in vol["timeline"]])]),
        "types": charts.line_chart(
            labels, [charts.series(t["name"], t["counts"], i) for i, t in enumerate(vol["types_over_time"])]
        ),
        "chatbot": charts.line_chart(
            labels,
            [
                charts.series(
                    _("Self-resolution rate (%)"),
                    [round(r["rate"] * 100, 1) if r["rate"] is not None else None for r in bot["timeline"]],
                )
            ],
            y_max=100,
        ),
    }


@requires(Capability.VIEW_ACCOUNTS)
def analytics_page(request: HttpRequest) -> HttpResponse:
    period = _period(request)
    data = analytics.report(period)
    for group in ("by_channel", "by_type"):
        for row in data["response"][group]:
            row["first_text"] = {k: _minutes(row["first"][k]) for k in ("median", "p90")}
            row["resolution_text"] = {k: _minutes(row["resolution"][k]) for k in ("median", "p90")}
    overall = data["response"]["overall"]
    return render(
        request,
        "support/analytics.html",
        {
            "data": data,
            "period": period,
            "grains": analytics.GRAINS,
            "charts": _charts(data),
            "overall_text": {
                "first_median": _minutes(overall["first"]["median"]),
                "first_p90": _minutes(overall["first"]["p90"]),
                "resolution_median": _minutes(overall["resolution"]["median"]),
                "resolution_p90": _minutes(overall["resolution"]["p90"]),
            },
            "query": request.GET.urlencode(),
        },
    )


@requires(Capability.VIEW_ACCOUNTS)
def analytics_export(request: HttpRequest) -> HttpResponse:
    period = _period(request)
    response = HttpResponse(analytics.workbook(analytics.report(period)), content_type=xlsx.XLSX)
    name = f"inquiry-analytics-{period.start:%Y%m%d}-{period.end:%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# Categories and types -----------------------------------------------------------------------------------


@requires(Capability.VIEW_ACCOUNTS)
def category_list(request: HttpRequest) -> HttpResponse:
    can_manage = has_capability(request.user, Capability.MANAGE_SUPPORT)
    form = CategoryImportForm()
    errors: list[tuple[int, str]] = []
    if request.method == "POST":
        if not can_manage:
            return HttpResponse(status=403)
        form = CategoryImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = categories.import_categories(upload.read(), upload.name, actor=_actor(request))
            except categories.CategoryImportError as error:
                errors = error.errors
            else:
                messages.success(
                    request,
                    _("Imported %(rows)d rows: %(created)d new, %(updated)d changed, %(unchanged)d unchanged.")
                    % vars(result),
                )
                return redirect("support:categories")
    show_inactive = request.GET.get("inactive") == "1"
    return render(
        request,
        "support/categories.html",
        {
            "rows": categories.tree_rows(active_only=not show_inactive),
            "form": form,
            "errors": errors,
            "can_manage": can_manage,
            "show_inactive": show_inactive,
        },
    )


@requires(Capability.MANAGE_SUPPORT)
def category_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    category = get_object_or_404(Category, pk=pk) if pk else None
    initial = (
        {
            "code": category.code,
            "name": category.name,
            "parent": category.parent_id,
            "position": category.position,
            "active": category.active,
        }
        if category
        else {"active": True, "position": 0}
    )
    form = CategoryForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = categories.save_category(category, actor=_actor(request), **form.cleaned_data)
        except DeskError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("Saved %(path)s.") % {"path": saved.path})
            return redirect("support:categories")
    return render(request, "support/category_form.html", {"form": form, "category": category})


@requires(Capability.MANAGE_SUPPORT)
@require_POST
def category_remove(request: HttpRequest, pk: int) -> HttpResponse:
    category = get_object_or_404(Category, pk=pk)
    if categories.remove_category(category, actor=_actor(request)):
        messages.success(request, _("Deleted."))
    else:
        messages.info(request, _("The category is in use, so it was deactivated instead of deleted."))
    return redirect("support:categories")


@requires(Capability.VIEW_ACCOUNTS)
def type_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "support/categories_types.html",
        {
            "types": classify.type_counts(),
            "can_manage": has_capability(request.user, Capability.MANAGE_SUPPORT),
        },
    )


@requires(Capability.MANAGE_SUPPORT)
def type_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    inquiry_type = get_object_or_404(InquiryType, pk=pk) if pk else None
    initial = (
        {
            "name": inquiry_type.name,
            "group": inquiry_type.group,
            "description": inquiry_type.description,
            "active": inquiry_type.active,
        }
        if inquiry_type
        else {"active": True}
    )
    form = InquiryTypeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            categories.save_type(inquiry_type, actor=_actor(request), **form.cleaned_data)
        except DeskError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("support:inquiry_types")
    return render(request, "support/categories_type_form.html", {"form": form, "inquiry_type": inquiry_type})


# Classifier ---------------------------------------------------------------------------------------------


@requires(Capability.VIEW_ACCOUNTS)
def classifier_page(request: HttpRequest) -> HttpResponse:
    runs = list(ClassifierRun.objects.all()[:RUNS_SHOWN])
    names = dict(InquiryType.objects.values_list("pk", "name"))
    active = classify.active_run()
    per_type = []
    if active:
        per_type = sorted(
            ((names.get(int(t), t), n) for t, n in active.metrics.get("per_type", {}).items()), key=lambda r: -r[1]
        )
    return render(
        request,
        "support/classifier.html",
        {
            "runs": runs,
            "active": active,
            "per_type": per_type,
            "types": classify.type_counts(),
            "acceptance": classify.acceptance(),
            "pending": classify.pending_training(),
            "trainings": ClassifierTraining.objects.select_related("triggered_by", "result")[:RUNS_SHOWN],
            "min_types": classify.MIN_TYPES,
            "min_examples": classify.MIN_EXAMPLES,
            "can_manage": has_capability(request.user, Capability.MANAGE_SUPPORT),
        },
    )


@requires(Capability.MANAGE_SUPPORT)
@require_POST
def classifier_train(request: HttpRequest) -> HttpResponse:
    pending = classify.pending_training()
    if pending is not None:
        messages.info(request, _("A training is already waiting or running; it is shown below."))
        return redirect("support:classifier_training", pk=pending.pk)
    run = classify.start_training(actor=_actor(request), as_of=timezone.localdate())
    messages.success(request, _("Queued; the worker carries it out in the background."))
    return redirect("support:classifier_training", pk=run.pk)


@requires(Capability.VIEW_ACCOUNTS)
def classifier_training(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(ClassifierTraining.objects.select_related("result", "triggered_by"), pk=pk)
    return render(request, "support/classifier_training.html", {"run": run, "running": run.running})


@requires(Capability.VIEW_ACCOUNTS)
def classifier_training_progress(request: HttpRequest, pk: int) -> HttpResponse:
    return progress_fragment(request, "support/classifier_progress.html", get_object_or_404(ClassifierTraining, pk=pk))


def classify_panel_context(inquiry: Inquiry) -> dict[str, Any]:
    return {"inquiry": inquiry, "types": InquiryType.objects.filter(active=True)}


@requires(Capability.WORK_INQUIRIES)
def classify_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """The conversation page's panel (GET: the panel with its type list, loaded by htmx), and confirming the
    suggestion or picking another type (POST; htmx swaps the panel)."""
    inquiry = get_object_or_404(Inquiry.objects.select_related("suggested_type", "inquiry_type"), pk=pk)
    if request.method != "POST":
        return render(request, "support/_classify_panel.html", classify_panel_context(inquiry))
    form = ConfirmTypeForm(request.POST)
    status = 200
    if form.is_valid():
        classify.confirm(inquiry, form.cleaned_data["inquiry_type"], _actor(request))
        inquiry.refresh_from_db()
    else:
        status = 422
    context = {**classify_panel_context(inquiry), "form": form, "saved": status == 200}
    if request.headers.get("HX-Request"):
        return render(request, "support/_classify_panel.html", context, status=status)
    if status == 200:
        messages.success(request, _("Type saved."))
    return _back(request, "support:index")


def _back(request: HttpRequest, fallback: str, **kwargs: Any) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(reverse(fallback, kwargs=kwargs or None))


# Improvement requests -----------------------------------------------------------------------------------


@requires(Capability.VIEW_ACCOUNTS)
def improvement_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    qs = ImprovementRequest.objects.prefetch_related("inquiry_types").select_related("created_by")
    if status in ImprovementStatus.values:
        qs = qs.filter(status=status)
    qs = qs.annotate(inquiry_count=Count("inquiries", distinct=True))
    can_work = has_capability(request.user, Capability.WORK_INQUIRIES)
    form = ImprovementForm(request.POST or None, initial={"inquiry_types": request.GET.getlist("type")})
    if request.method == "POST":
        if not can_work:
            return HttpResponse(status=403)
        if form.is_valid():
            ids = [int(i) for i in request.POST.getlist("inquiry") if i.isdigit()]
            try:
                created = improvements.create_request(
                    title=form.cleaned_data["title"],
                    description=form.cleaned_data["description"],
                    target=form.cleaned_data["target"],
                    types=form.cleaned_data["inquiry_types"],
                    inquiries=Inquiry.objects.filter(pk__in=ids),
                    actor=_actor(request),
                )
            except DeskError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                return redirect("support:improvement", pk=created.pk)
    return render(
        request,
        "support/improvements.html",
        {
            "requests": qs[:200],
            "status": status,
            "statuses": ImprovementStatus.choices,
            "form": form,
            "can_work": can_work,
            "inquiry_ids": request.GET.getlist("inquiry"),
        },
    )


@requires(Capability.VIEW_ACCOUNTS)
def improvement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(ImprovementRequest.objects.select_related("created_by"), pk=pk)
    weeks = request.GET.get("weeks", "")
    weeks_n = int(weeks) if weeks.isdigit() and 1 <= int(weeks) <= 52 else improvements.DEFAULT_EFFECT_WEEKS
    effect = improvements.effect(item, weeks_n)
    chart = None
    if effect:
        chart = charts.bar_chart(
            [r["week"].isoformat() for r in effect["rows"]],
            [
                charts.series(
                    _("Per 1,000 inquiries"),
                    [round(r["per_1000"], 1) if r["per_1000"] is not None else None for r in effect["rows"]],
                )
            ],
        )
    return render(
        request,
        "support/improvement.html",
        {
            "item": item,
            "effect": effect,
            "chart": chart,
            "weeks": weeks_n,
            "next_statuses": [(s, ImprovementStatus(s).label) for s in improvements.TRANSITIONS[item.status]],
            "inquiries": item.inquiries.select_related("inquiry_type", "status").order_by("-created_at")[:100],
            "can_manage": has_capability(request.user, Capability.MANAGE_SUPPORT),
        },
    )


@requires(Capability.MANAGE_SUPPORT)
@require_POST
def improvement_status(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(ImprovementRequest, pk=pk)
    form = ImprovementStatusForm(request.POST)
    if form.is_valid():
        try:
            improvements.set_status(item, form.cleaned_data["status"], actor=_actor(request))
        except DeskError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Status changed."))
    return redirect("support:improvement", pk=item.pk)


def improvement_link_context(inquiry: Inquiry, **extra: Any) -> dict[str, Any]:
    open_requests = ImprovementRequest.objects.exclude(
        status__in=[ImprovementStatus.SHIPPED, ImprovementStatus.REJECTED]
    )
    return {
        "inquiry": inquiry,
        "open_requests": open_requests.order_by("-created_at")[:50],
        "linked_requests": inquiry.improvements.all(),
        **extra,
    }


@requires(Capability.WORK_INQUIRIES)
def improvement_link(request: HttpRequest, pk: int) -> HttpResponse:
    """From a conversation (`_improvement_link.html`, loaded by htmx): add inquiry `pk` to a request, or
    raise a new one from it."""
    inquiry = get_object_or_404(Inquiry, pk=pk)
    if request.method != "POST":
        return render(request, "support/_improvement_link.html", improvement_link_context(inquiry))
    form = ImprovementLinkForm(request.POST)
    item: ImprovementRequest | None = None
    if form.is_valid():
        try:
            if form.cleaned_data["request"]:
                item = get_object_or_404(ImprovementRequest, pk=form.cleaned_data["request"])
                improvements.link_inquiries(item, [inquiry], actor=_actor(request))
            elif form.cleaned_data["new_title"]:
                item = improvements.create_request(
                    title=form.cleaned_data["new_title"],
                    types=[inquiry.inquiry_type] if inquiry.inquiry_type else [],
                    inquiries=[inquiry],
                    actor=_actor(request),
                )
        except DeskError:
            item = None
    status = 200 if item else 422
    if request.headers.get("HX-Request"):
        context = improvement_link_context(inquiry, linked=item, failed=item is None)
        return render(request, "support/_improvement_link.html", context, status=status)
    if item is None:
        messages.error(request, _("Choose a request or give a title for a new one."))
        return _back(request, "support:improvements")
    messages.success(request, _("Added to %(title)s.") % {"title": item.title})
    return _back(request, "support:improvement", pk=item.pk)
