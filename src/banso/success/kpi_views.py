"""Team KPI pages: the month's table per person with the team total and charts, one person's page, the
records behind each number and the XLSX download. Figures come from `kpis`, the workbook from `kpi_exports`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from banso.core.calendar import month_start
from banso.core.models import Team, User
from banso.core.permissions import Capability, requires
from banso.core.xlsx import XLSX

from . import kpi_exports, kpis
from .services import parse_month_param

PER_PAGE = 50


def _team(request: HttpRequest) -> Team | None:
    raw = request.GET.get("team") or ""
    return get_object_or_404(Team, pk=int(raw)) if raw.isdigit() else None


def _query(month: dt.date, team: Team | None) -> str:
    return f"month={month:%Y-%m}" + (f"&team={team.pk}" if team else "")


def _common(month: dt.date, team: Team | None) -> dict[str, Any]:
    return {
        "month": month,
        "previous": month_start(month, -1),
        "next": month_start(month, 1),
        "team": team,
        "teams": Team.objects.all(),
        "base_query": _query(month, team),
        "bucket_keys": [(key, kpis.BUCKET_LABELS[key]) for key in kpis.BUCKET_METRICS],
    }


@requires(Capability.VIEW_ACCOUNTS)
def kpi_index(request: HttpRequest) -> HttpResponse:
    month = parse_month_param(request.GET.get("month"))
    team = _team(request)
    result = kpis.report(month, team)
    context = {**_common(month, team), "result": result, "charts": kpis.chart_configs(result)}
    return render(request, "success/kpis.html", context)


@requires(Capability.VIEW_ACCOUNTS)
def kpi_me(request: HttpRequest) -> HttpResponse:
    """A CSM's own figures: their person page for the month asked for."""
    url = redirect("success:kpi_person", pk=request.user.pk)
    url["Location"] += f"?month={parse_month_param(request.GET.get('month')):%Y-%m}"
    return url


@requires(Capability.VIEW_ACCOUNTS)
def kpi_person(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(User, pk=pk)
    month = parse_month_param(request.GET.get("month"))
    result = kpis.report(month, person=person.pk)
    context = {
        **_common(month, None),
        "person": person,
        "result": result,
        "row": result.rows[0],
        "charts": kpis.chart_configs(result),
        "is_me": person.pk == request.user.pk,
    }
    return render(request, "success/kpi_person.html", context)


@requires(Capability.VIEW_ACCOUNTS)
def kpi_drill(request: HttpRequest, metric: str) -> HttpResponse:
    if metric not in kpis.METRICS:
        raise Http404(metric)
    month = parse_month_param(request.GET.get("month"))
    team = _team(request)
    raw = request.GET.get("person") or ""
    person = get_object_or_404(User, pk=int(raw)) if raw.isdigit() else None
    people = [person.pk] if person else kpis.people_of(team)
    found = kpis.drill(month, metric, people)
    page = Paginator(found.rows, PER_PAGE).get_page(request.GET.get("page"))
    context = {**_common(month, team), "drill": found, "page": page, "person": person, "as_of": kpis.as_of(month)}
    return render(request, "success/kpi_drill.html", context)


@requires(Capability.VIEW_ACCOUNTS)
def kpi_export(request: HttpRequest) -> HttpResponse:
    month = parse_month_param(request.GET.get("month"))
    response = HttpResponse(kpi_exports.workbook_bytes(month, _team(request)), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{kpi_exports.filename(month)}"'
    return response
