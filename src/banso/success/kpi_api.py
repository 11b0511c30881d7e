"""Team KPIs in the JSON API (mounted at /api/success/kpis): a month's figures per person and team with the
12-month trend, one person's, the records behind each number (paged) and the month as an XLSX workbook.

Rates are fractions (0.25 = 25 %) and null when their denominator is zero; money is integer yen. A month
that is not YYYY-MM answers 422 naming the field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from banso.accounts.services import parse_month
from banso.api.auth import role
from banso.api.schemas import ErrorOut
from banso.core.calendar import month_start
from banso.core.models import Team, User
from banso.core.permissions import Capability
from banso.core.xlsx import XLSX

from . import kpi_exports, kpis

router = Router(tags=["success"])
VIEW = role(Capability.VIEW_ACCOUNTS)
MAX_PAGE_SIZE = 500


class FiguresOut(Schema):
    assigned: int = Field(description="targets on the month's plan assigned to the person(s)")
    touched: int = Field(description="assigned targets whose account had a touch (by anyone) in the month")
    touch_rate: float | None
    appointments: int
    appointment_rate: float | None = Field(description="appointments / touched")
    touches: int = Field(description="touches the person(s) logged in the month")
    touches_per_person: float | None
    touch_band: str = Field(description="below, within or above the touches band; empty when nobody is counted")
    reached: int
    accounts_touched: int
    new_base: int
    new_kept: int
    retention_new: float | None
    retention_new_missed: bool
    established_base: int
    established_kept: int
    retention_established: float | None
    retention_established_missed: bool
    start_mrr: int = Field(description="yen, accounts live at the month's start")
    grr: float | None
    nrr: float | None
    owned: int
    days_since_last_touch: dict[str, int] = Field(
        description="accounts per bucket: d0_30, d31_60, d61_90, d91, never, overdue"
    )


class RowOut(Schema):
    user_id: int | None = Field(description="null for a team total")
    name: str
    figures: FiguresOut


class TrendOut(Schema):
    month: str
    figures: FiguresOut


class TargetsOut(Schema):
    touches_min: int
    touches_max: int
    retention_new: float
    retention: float
    new_client_months: int


class ReportOut(Schema):
    month: str
    as_of: dt.date = Field(description="the day days since last touch are counted to")
    team_id: int | None
    targets: TargetsOut
    people: list[RowOut]
    total: RowOut
    trend: list[TrendOut]


class DrillRowOut(Schema):
    account_id: int
    account_name: str
    person: str | None = Field(description="assignee (targets), author (touches) or owner (accounts)")
    date: dt.date | None = Field(description="planned contact date, touch date or last touch date")
    detail: str = Field(description="target reason, touch outcome or touch tier")
    mrr: int | None


class DrillPage(Schema):
    metric: str
    label: str
    kind: str = Field(description="targets, touches or accounts")
    count: int
    page: int
    pages: int
    results: list[DrillRowOut]


def _month(text: str | None) -> dt.date | Status[dict[str, Any]]:
    if not text:
        return month_start(timezone.localdate())
    try:
        return parse_month(text)[0]
    except ValueError:
        return Status(422, {"detail": [{"field": "month", "message": "a month as YYYY-MM"}]})


def _figures(f: kpis.Figures, band: str, misses: dict[str, bool]) -> dict[str, Any]:
    return {
        "assigned": f.assigned,
        "touched": f.touched,
        "touch_rate": f.touch_rate,
        "appointments": f.appointments,
        "appointment_rate": f.appointment_rate,
        "touches": f.touches,
        "touches_per_person": f.touches_per_person,
        "touch_band": band,
        "reached": f.reached,
        "accounts_touched": f.accounts_touched,
        "new_base": f.new_base,
        "new_kept": f.new_kept,
        "retention_new": f.retention_new,
        "retention_new_missed": misses["new"],
        "established_base": f.established_base,
        "established_kept": f.established_kept,
        "retention_established": f.retention_established,
        "retention_established_missed": misses["established"],
        "start_mrr": f.start_mrr,
        "grr": f.grr,
        "nrr": f.nrr,
        "owned": f.owned,
        "days_since_last_touch": dict(f.bucket_list()),
    }


def _row(row: kpis.Row) -> dict[str, Any]:
    return {"user_id": row.user_id, "name": row.name, "figures": _figures(row.figures, row.band, row.misses)}


def _report(result: kpis.Report) -> dict[str, Any]:
    t = result.targets
    return {
        "month": f"{result.month:%Y-%m}",
        "as_of": result.as_of,
        "team_id": result.team.pk if result.team else None,
        "targets": {
            "touches_min": t.touches_min,
            "touches_max": t.touches_max,
            "retention_new": t.retention_new,
            "retention": t.retention,
            "new_client_months": t.new_client_months,
        },
        "people": [_row(r) for r in result.rows],
        "total": _row(result.total),
        "trend": [
            {
                "month": f"{p.month:%Y-%m}",
                "figures": _figures(p.figures, t.touch_band(p.figures.touches_per_person), t.misses(p.figures)),
            }
            for p in result.trend
        ],
    }


@router.get("", response={200: ReportOut, 422: ErrorOut}, auth=VIEW)
def month_kpis(request: HttpRequest, month: str | None = None, team: int | None = None) -> Any:
    """The month's KPIs per person (a team's members, or all CSMs) with the total and its 12-month trend."""
    first = _month(month)
    if isinstance(first, Status):
        return first
    chosen = get_object_or_404(Team, pk=team) if team else None
    return Status(200, _report(kpis.report(first, chosen)))


@router.get("/people/{int:user_id}", response={200: ReportOut, 422: ErrorOut}, auth=VIEW)
def person_kpis(request: HttpRequest, user_id: int, month: str | None = None) -> Any:
    """One person's KPIs for the month and their own 12-month trend."""
    first = _month(month)
    if isinstance(first, Status):
        return first
    person = get_object_or_404(User, pk=user_id)
    return Status(200, _report(kpis.report(first, person=person.pk)))


def _drill_row(kind: str, item: Any) -> dict[str, Any]:
    if kind == "targets":
        return {
            "account_id": item.account_id,
            "account_name": item.account.name,
            "person": str(item.assignee) if item.assignee else None,
            "date": item.planned_on,
            "detail": item.get_reason_display(),
            "mrr": item.mrr,
        }
    if kind == "touches":
        return {
            "account_id": item.account_id,
            "account_name": item.account.name,
            "person": str(item.csm) if item.csm else None,
            "date": timezone.localdate(item.occurred_at),
            "detail": item.get_outcome_display(),
            "mrr": None,
        }
    last = getattr(item, "last_touch", None)
    return {
        "account_id": item.pk,
        "account_name": item.name,
        "person": str(item.owner) if item.owner else None,
        "date": timezone.localdate(last) if last else None,
        "detail": item.get_tier_display(),
        "mrr": item.mrr,
    }


@router.get("/drill/{metric}", response={200: DrillPage, 422: ErrorOut}, auth=VIEW)
def drill(
    request: HttpRequest,
    metric: str,
    month: str | None = None,
    team: int | None = None,
    person: int | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Any:
    """The targets, touches or accounts behind a number. Metrics: assigned, touched, not_touched,
    appointments, touches, reached, lost_new, lost_established, d0_30, d31_60, d61_90, d91, never, overdue."""
    first = _month(month)
    if isinstance(first, Status):
        return first
    if metric not in kpis.METRICS:
        return Status(422, {"detail": [{"field": "metric", "message": "one of " + ", ".join(kpis.METRICS)}]})
    if person:
        people: list[int] | None = [get_object_or_404(User, pk=person).pk]
    else:
        people = kpis.people_of(get_object_or_404(Team, pk=team) if team else None)
    found = kpis.drill(first, metric, people)
    paginator = Paginator(found.rows, max(1, min(page_size, MAX_PAGE_SIZE)))
    current = paginator.get_page(page)
    return Status(
        200,
        {
            "metric": metric,
            "label": found.label,
            "kind": found.kind,
            "count": paginator.count,
            "page": current.number,
            "pages": paginator.num_pages,
            "results": [_drill_row(found.kind, item) for item in current.object_list],
        },
    )


@router.get("/export", response={200: None, 422: ErrorOut}, auth=VIEW)
def export(request: HttpRequest, month: str | None = None, team: int | None = None) -> Any:
    """The month's KPIs as an XLSX workbook (per person, team, trend, days since last touch per account)."""
    first = _month(month)
    if isinstance(first, Status):
        return first
    chosen = get_object_or_404(Team, pk=team) if team else None
    response = HttpResponse(kpi_exports.workbook_bytes(first, chosen), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{kpi_exports.filename(first)}"'
    return response
