"""The monthly report in the JSON API (mounted at /api/billing/reports): a month's figures as JSON, and the
same month as an XLSX workbook or a PDF. Yen are integers; changes and rates are fractions (0.25 = 25 %),
null when there is nothing to compare with. A month that is not YYYY-MM answers 422 naming `month`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status

from banso.accounts.services import parse_month
from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused
from banso.core.pdf import FontMissing
from banso.core.permissions import Capability
from banso.core.xlsx import XLSX

from . import report_exports, reports

router = Router(tags=["billing"])
VIEW = role(Capability.VIEW_BILLING)


class FiguresOut(Schema):
    bookings: int = Field(description="bookings scheduled in the month and not cancelled")
    guests: int
    booked_sales: int = Field(description="yen, tax included: amounts of bookings not cancelled")
    cancellations: int
    cancellation_fees: int
    refunds: int = Field(description="yen refunded in the month (whatever month the booking was in)")
    sales: int = Field(description="booked_sales + cancellation_fees − refunds")


class ComparedOut(Schema):
    current: FiguresOut
    previous_month: FiguresOut
    previous_year: FiguresOut
    sales_mom: float | None
    sales_yoy: float | None
    bookings_mom: float | None
    bookings_yoy: float | None


class MerchantOut(ComparedOut):
    account_id: int
    name: str
    reading: str


class PlanOut(Schema):
    account_id: int
    merchant: str
    plan: str
    bookings: int
    guests: int
    sales: int


class TrendOut(Schema):
    month: str
    bookings: int
    guests: int
    sales: int
    new_members: int
    members: int


class TaxOut(Schema):
    rate: int
    sales: int
    refunds: int
    excluding_tax: int
    tax: int


class MembersOut(Schema):
    new: int
    at_end: int
    at_previous_end: int
    growth: float | None
    booked: int = Field(description="members with a booking in the month")
    repeat: int = Field(description="of those, members with a booking in the window before the month")
    repeat_rate: float | None
    repeat_window_days: int


class ReportOut(Schema):
    month: str
    totals: ComparedOut
    members: MembersOut
    merchants: list[MerchantOut]
    top_plans_by_sales: list[PlanOut]
    top_plans_by_bookings: list[PlanOut]
    trend: list[TrendOut]
    by_tax_rate: list[TaxOut]
    definitions: list[str]


def _compared(c: reports.Compared) -> dict[str, Any]:
    return {
        "current": c.current.as_dict(),
        "previous_month": c.previous_month.as_dict(),
        "previous_year": c.previous_year.as_dict(),
        "sales_mom": c.sales_mom,
        "sales_yoy": c.sales_yoy,
        "bookings_mom": c.bookings_mom,
        "bookings_yoy": c.bookings_yoy,
    }


def _plan(p: reports.PlanRow) -> dict[str, Any]:
    return {
        "account_id": p.account_id,
        "merchant": p.merchant,
        "plan": p.plan,
        "bookings": p.bookings,
        "guests": p.guests,
        "sales": p.sales,
    }


def report_json(r: reports.MonthlyReport) -> dict[str, Any]:
    return {
        "month": f"{r.month:%Y-%m}",
        "totals": _compared(r.totals),
        "members": {
            "new": r.new_members,
            "at_end": r.members_at_end,
            "at_previous_end": r.members_at_previous_end,
            "growth": r.member_growth,
            "booked": r.active_members,
            "repeat": r.repeat_members,
            "repeat_rate": r.repeat_rate,
            "repeat_window_days": r.window_days,
        },
        "merchants": [
            {**_compared(m), "account_id": m.account_id, "name": m.name, "reading": m.reading} for m in r.merchants
        ],
        "top_plans_by_sales": [_plan(p) for p in r.top_plans_by_sales],
        "top_plans_by_bookings": [_plan(p) for p in r.top_plans_by_bookings],
        "trend": [
            {
                "month": f"{p.month:%Y-%m}",
                "bookings": p.bookings,
                "guests": p.guests,
                "sales": p.sales,
                "new_members": p.new_members,
                "members": p.members,
            }
            for p in r.trend
        ],
        "by_tax_rate": [
            {"rate": t.rate, "sales": t.sales, "refunds": t.refunds, "excluding_tax": t.excluding_tax, "tax": t.tax}
            for t in r.by_tax_rate
        ],
        "definitions": report_exports.definitions(r),
    }


def _month(text: str) -> dt.date | Status[dict[str, Any]]:
    try:
        return parse_month(text)[0]
    except ValueError:
        return refused([("month", "a month as YYYY-MM")])


@router.get("/{month}", response={200: ReportOut, 422: ErrorOut}, auth=VIEW)
def month_report(request: HttpRequest, month: str) -> Any:
    """The merchant monthly report for `month` (YYYY-MM)."""
    first = _month(month)
    if isinstance(first, Status):
        return first
    return Status(200, report_json(reports.build(first)))


@router.get("/{month}/xlsx", response={200: None, 422: ErrorOut}, auth=VIEW)
def month_report_xlsx(request: HttpRequest, month: str) -> Any:
    """The month's report as an XLSX workbook (summary, merchants, top plans, trend, tax rates)."""
    first = _month(month)
    if isinstance(first, Status):
        return first
    response = HttpResponse(report_exports.workbook(reports.build(first)), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="merchant-report-{first:%Y-%m}.xlsx"'
    return response


@router.get("/{month}/pdf", response={200: None, 422: ErrorOut, 503: ErrorOut}, auth=VIEW)
def month_report_pdf(request: HttpRequest, month: str) -> Any:
    """The month's report as a PDF (Japanese font embedded)."""
    first = _month(month)
    if isinstance(first, Status):
        return first
    try:
        body = report_exports.pdf(reports.build(first))
    except FontMissing as exc:
        return Status(503, {"detail": [{"field": "", "message": str(exc)}]})
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="merchant-report-{first:%Y-%m}.pdf"'
    return response
