"""Client reports in the JSON API (mounted under /api/funnels/reports): generate one for a client and month,
read it (its frozen content), download it as PDF or XLSX, mark it sent."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from banso.accounts.models import Account
from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused
from banso.core.models import User
from banso.core.permissions import Capability
from banso.core.xlsx import XLSX

from . import reports
from .funnel_forms import default_funnel
from .models import ClientReport, Funnel

router = Router(tags=["funnels"])
VIEW = role(Capability.VIEW_ACCOUNTS)
MANAGE = role(Capability.MANAGE_FUNNELS)


class ReportIn(Schema):
    account_id: int
    period: str = Field(description="the month, YYYY-MM")
    funnel_id: int | None = None


class ReportOut(Schema):
    id: int
    account_id: int
    funnel_id: int
    period_start: dt.date
    period_end: dt.date
    generated_at: dt.datetime
    sent_at: dt.datetime | None
    data: dict[str, Any] = Field(description="the content as generated: stages, bottleneck, trend, actions")


def _out(report: ClientReport) -> dict[str, Any]:
    names = ("id", "account_id", "funnel_id", "period_start", "period_end", "generated_at", "sent_at", "data")
    return {name: getattr(report, name) for name in names}


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


@router.post("", response={201: ReportOut, 422: ErrorOut}, auth=MANAGE)
def generate(request: HttpRequest, payload: ReportIn) -> Status[Any]:
    account = Account.objects.filter(pk=payload.account_id).first()
    if account is None:
        return refused([("account_id", "no such account")])
    funnel = Funnel.objects.filter(pk=payload.funnel_id).first() if payload.funnel_id else default_funnel()
    if funnel is None:
        return refused([("funnel_id", "no such funnel")])
    try:
        start, end = reports.parse_period(payload.period)
    except ValueError:
        return refused([("period", "enter the month as YYYY-MM")])
    report = reports.generate_report(funnel, account, start, end, _actor(request), via="api")
    return Status(201, _out(report))


@router.get("/{int:report_id}", response=ReportOut, auth=VIEW)
def detail(request: HttpRequest, report_id: int) -> dict[str, Any]:
    return _out(get_object_or_404(ClientReport, pk=report_id))


@router.get("/{int:report_id}.{fmt}", auth=VIEW, response={200: None})
def download(request: HttpRequest, report_id: int, fmt: str) -> HttpResponse:
    """The report as a PDF (A4, Japanese) or an XLSX workbook."""
    report = get_object_or_404(ClientReport, pk=report_id)
    if fmt == "pdf":
        response = HttpResponse(reports.render_pdf(report), content_type="application/pdf")
    elif fmt == "xlsx":
        response = HttpResponse(reports.render_xlsx(report), content_type=XLSX)
    else:
        raise Http404("pdf or xlsx")
    response["Content-Disposition"] = f'attachment; filename="{reports.report_filename(report, fmt)}"'
    return response


@router.post("/{int:report_id}/sent", response=ReportOut, auth=MANAGE)
def sent(request: HttpRequest, report_id: int) -> dict[str, Any]:
    """Mark the report sent to the client (the first time only)."""
    report = get_object_or_404(ClientReport, pk=report_id)
    return _out(reports.mark_sent(report, _actor(request), via="api"))
