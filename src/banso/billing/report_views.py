"""Monthly report pages: the month's headline figures with charts, the per-merchant table (sort, search by
name or reading, paging), top plans, one merchant's month with its bookings, and the XLSX/PDF downloads.
The figures come from `reports.build`, the files from `report_exports`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from banso.accounts.choices import AccountKind
from banso.accounts.models import Account
from banso.accounts.services import parse_month
from banso.core import charts
from banso.core.calendar import month_start
from banso.core.paging import IdFirstList
from banso.core.pdf import FontMissing
from banso.core.permissions import Capability, requires
from banso.core.xlsx import XLSX

from . import report_exports, reports

PER_PAGE = 50
BOOKINGS_PER_PAGE = 100
CACHE_SECONDS = 120  # the table's sorting and paging reuse one computation of the month


def month_param(text: str | None) -> dt.date:
    """`?month=YYYY-MM`; last month when absent. A malformed month is a 404 rather than a silent default."""
    if not text:
        return reports.default_month()
    try:
        return parse_month(text)[0]
    except ValueError:
        raise Http404(_("Not a month (YYYY-MM): %(value)s") % {"value": text}) from None


def cached_build(month: dt.date) -> reports.MonthlyReport:
    window = reports.repeat_window_days()
    key = f"billing:report:{month:%Y-%m}:{window}"
    cached = cache.get(key)
    if isinstance(cached, reports.MonthlyReport):
        return cached
    report = reports.build(month, window_days=window)
    cache.set(key, report, CACHE_SECONDS)
    return report


def chart_configs(report: reports.MonthlyReport) -> dict[str, Any]:
    labels = [f"{p.month:%Y-%m}" for p in report.trend]
    return {
        "sales": charts.bar_chart(
            labels, [charts.series(_("Sales (yen)"), [p.sales for p in report.trend])], y_title=_("yen")
        ),
        "bookings": charts.line_chart(
            labels,
            [
                charts.series(_("Bookings"), [p.bookings for p in report.trend], 1),
                charts.series(_("Guests"), [p.guests for p in report.trend], 2),
            ],
        ),
        "members": charts.line_chart(
            labels,
            [
                charts.series(_("Members at month end"), [p.members for p in report.trend], 3),
                charts.series(_("New members"), [p.new_members for p in report.trend], 4),
            ],
        ),
    }


SORT_LABELS = ("sales", "bookings", "guests", "cancellations", "refunds", "sales_mom", "sales_yoy", "name")


@requires(Capability.VIEW_BILLING)
def report(request: HttpRequest) -> HttpResponse:
    month = month_param(request.GET.get("month"))
    result = cached_build(month)
    sort = request.GET.get("sort") or "sales"
    if sort not in SORT_LABELS:
        sort = "sales"
    descending = request.GET.get("dir", "asc" if sort == "name" else "desc") != "asc"
    query = (request.GET.get("q") or "").strip()
    rows = reports.sort_merchants(reports.search_merchants(result.merchants, query), sort, descending=descending)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "report": result,
        "month": month,
        "previous": month_start(month, -1),
        "next": month_start(month, 1),
        "page": page,
        "sort": sort,
        "dir": "desc" if descending else "asc",
        "q": query,
        "sorts": SORT_LABELS,
        "charts": chart_configs(result),
        "definitions": report_exports.definitions(result),
    }
    return render(request, "billing/report.html", context)


@requires(Capability.VIEW_BILLING)
def report_merchant(request: HttpRequest, pk: int) -> HttpResponse:
    """One merchant's month: its figures against last month and last year, and the bookings behind them."""
    merchant = get_object_or_404(Account, pk=pk, kind=AccountKind.MERCHANT)
    month = month_param(request.GET.get("month"))
    result = cached_build(month)
    row = result.merchant(merchant.pk)
    start, end = reports.month_bounds(month)
    bookings = (
        reports.merchant_bookings()
        .filter(provider=merchant, scheduled_at__gte=start, scheduled_at__lt=end)
        .select_related("end_user")
        .order_by("scheduled_at", "id")
    )
    refunds = (
        reports.merchant_bookings()
        .filter(provider=merchant, refunded_at__gte=start, refunded_at__lt=end)
        .select_related("end_user")
        .order_by("refunded_at", "id")
    )
    page = Paginator(IdFirstList(bookings), BOOKINGS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "merchant": merchant,
        "month": month,
        "previous": month_start(month, -1),
        "next": month_start(month, 1),
        "row": row,
        "page": page,
        "refunds": refunds[:200],
        "plans": [p for p in result.top_plans_by_sales if p.account_id == merchant.pk],
    }
    return render(request, "billing/report_merchant.html", context)


def _filename(month: dt.date, ext: str) -> str:
    return f"merchant-report-{month:%Y-%m}.{ext}"


@requires(Capability.VIEW_BILLING)
def report_xlsx(request: HttpRequest) -> HttpResponse:
    month = month_param(request.GET.get("month"))
    response = HttpResponse(report_exports.workbook(cached_build(month)), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{_filename(month, "xlsx")}"'
    return response


@requires(Capability.VIEW_BILLING)
def report_pdf(request: HttpRequest) -> HttpResponse:
    month = month_param(request.GET.get("month"))
    try:
        body = report_exports.pdf(cached_build(month))
    except FontMissing as exc:
        return HttpResponse(str(exc), status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_filename(month, "pdf")}"'
    return response
