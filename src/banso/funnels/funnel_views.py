"""Funnel pages: the clients list sorted by the outcomes their bottleneck costs (with exports and "recompute
now"), one client's funnel with the numbers behind its bottleneck, and the funnel's settings. The figures
come from the latest `FunnelRun` (computing.py); `presenting` shapes them for pages, exports and the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.accounts.models import Account
from banso.core.models import User
from banso.core.paging import IdFirstList
from banso.core.permissions import Capability, has_capability, requires
from banso.core.views import progress_fragment
from banso.core.xlsx import XLSX

from . import presenting
from .funnel_forms import (
    clean_definition,
    default_funnel,
    definition_from_post,
    definition_of,
    form_rows,
    save_definition,
)
from .models import ClientReport, Funnel, FunnelRun

PER_PAGE = 50


def _funnel(request: HttpRequest) -> Funnel:
    raw = request.GET.get("funnel") or ""
    funnel = get_object_or_404(Funnel, pk=int(raw)) if raw.isdigit() else default_funnel()
    if funnel is None:
        raise Http404(_("No funnel is set up yet."))
    return funnel


@requires(Capability.VIEW_ACCOUNTS)
def clients(request: HttpRequest) -> HttpResponse:
    funnel = default_funnel()
    if funnel is None:
        return render(request, "funnels/clients.html", {"funnel": None})
    funnel = _funnel(request)
    filters = presenting.ClientFilters.from_query(request.GET)
    run = presenting.latest_run(funnel)
    rows = presenting.client_rows(run, filters)
    page = Paginator(IdFirstList(rows), PER_PAGE).get_page(request.GET.get("page"))
    stages = list(funnel.stages.order_by("position"))
    context = {
        "funnel": funnel,
        "funnels": Funnel.objects.all(),
        "run": run,
        "active": presenting.active_run(funnel),
        "filters": filters,
        "stages": stages,
        "page": page,
        "lines": [presenting.client_line(cf, stages) for cf in page.object_list],
        "owners": User.objects.filter(is_active=True).order_by("username"),
        "peer_groups": presenting.peer_groups(run),
        "tiers": Account._meta.get_field("tier").choices,
        "query": filters.query(),
        "can_manage": has_capability(request.user, Capability.MANAGE_FUNNELS),
    }
    return render(request, "funnels/clients.html", context)


@requires(Capability.VIEW_ACCOUNTS)
def clients_export(request: HttpRequest, fmt: str) -> HttpResponse:
    funnel = _funnel(request)
    filters = presenting.ClientFilters.from_query(request.GET)
    run = presenting.latest_run(funnel)
    rows = list(presenting.client_rows(run, filters))
    stages = list(funnel.stages.order_by("position"))
    if fmt == "csv":
        response = HttpResponse(presenting.clients_csv(rows, stages), content_type="text/csv; charset=utf-8")
        name = "funnel-clients.csv"
    elif fmt == "xlsx":
        response = HttpResponse(presenting.clients_xlsx(rows, stages), content_type=XLSX)
        name = "funnel-clients.xlsx"
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@requires(Capability.MANAGE_FUNNELS)
@require_POST
def recompute(request: HttpRequest) -> HttpResponse:
    funnel = _funnel(request)
    running = presenting.active_run(funnel)
    if running is not None:
        messages.info(request, _("A computation is already waiting or running."))
        return redirect("funnels:run", pk=running.pk)
    run = presenting.start_run(funnel, request.user)  # type: ignore[arg-type]
    messages.success(request, _("The computation was queued; the worker runs it in the background."))
    return redirect("funnels:run", pk=run.pk)


@requires(Capability.VIEW_ACCOUNTS)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(FunnelRun.objects.select_related("funnel", "triggered_by"), pk=pk)
    return render(request, "funnels/run.html", {"run": run, "running": run.running})


@requires(Capability.VIEW_ACCOUNTS)
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    return progress_fragment(request, "funnels/_run_progress.html", get_object_or_404(FunnelRun, pk=pk))


def _as_of(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@requires(Capability.VIEW_ACCOUNTS)
def client_detail(request: HttpRequest, account_id: int) -> HttpResponse:
    account = get_object_or_404(Account.objects.select_related("owner"), pk=account_id)
    funnel = _funnel(request)
    as_of = _as_of(request.GET.get("as_of"))
    project = request.GET.get("project", "")
    view = presenting.client_view(funnel, account, as_of=as_of, project=project)
    context = {
        "funnel": funnel,
        "account": account,
        "view": view,
        "as_of": as_of,
        "project": project,
        "reports": ClientReport.objects.filter(account=account, funnel=funnel).select_related("sent_by")[:24],
        "can_manage": has_capability(request.user, Capability.MANAGE_FUNNELS),
    }
    return render(request, "funnels/client.html", context)


@requires(Capability.MANAGE_FUNNELS)
def funnel_settings(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    funnel = get_object_or_404(Funnel, pk=pk) if pk is not None else default_funnel()
    errors: list[tuple[str, str]] = []
    if request.method == "POST":
        data = definition_from_post(request.POST)
        clean, errors = clean_definition(data)
        if not errors:
            funnel = save_definition(funnel, clean, request.user, via="ui")  # type: ignore[arg-type]
            messages.success(request, _("The funnel was saved."))
            return redirect("funnels:settings_of", pk=funnel.pk)
        definition: dict[str, Any] = data
    else:
        definition = definition_of(funnel) if funnel else {"stages": [], "business_hours": []}
    stage_rows, hour_rows = form_rows(definition)
    context = {
        "funnel": funnel,
        "funnels": Funnel.objects.all(),
        "definition": definition,
        "stage_rows": stage_rows,
        "hour_rows": hour_rows,
        "errors": errors,
        "error_map": dict(errors),
    }
    return render(request, "funnels/settings.html", context, status=422 if errors else 200)


@requires(Capability.MANAGE_FUNNELS)
def funnel_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        data = definition_from_post(request.POST)
        clean, errors = clean_definition(data)
        if not errors:
            funnel = save_definition(None, clean, request.user, via="ui")  # type: ignore[arg-type]
            messages.success(request, _("The funnel was saved."))
            return redirect("funnels:settings_of", pk=funnel.pk)
    else:
        data, errors = {"period_days": 30, "history_periods": 6, "response_target_minutes": 15}, []
    stage_rows, hour_rows = form_rows(data)
    context = {
        "funnel": None,
        "funnels": Funnel.objects.all(),
        "definition": data,
        "stage_rows": stage_rows,
        "hour_rows": hour_rows,
        "errors": errors,
        "error_map": dict(errors),
    }
    return render(request, "funnels/settings.html", context, status=422 if errors else 200)
