"""SLA attainment pages: the report per agent and team for a month or date range, with drill-down links to the
inbox and the XLSX download. Figures come from `sla_attainment.build`."""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.accounts.services import parse_month
from banso.core.business_hours import TOKYO
from banso.core.calendar import month_start
from banso.core.permissions import Capability, requires
from banso.core.xlsx import XLSX

from . import sla_attainment


def period(request: HttpRequest) -> tuple[dt.date, dt.date, dt.date | None]:
    """`?from=YYYY-MM-DD&to=YYYY-MM-DD`, else `?month=YYYY-MM`, else this month (Tokyo). A malformed value is
    a 404 rather than a silent default. Returns (start, end inclusive, the month or None for a range)."""
    start_text, end_text = request.GET.get("from"), request.GET.get("to")
    if start_text or end_text:
        try:
            start = dt.date.fromisoformat(start_text or "")
            end = dt.date.fromisoformat(end_text or "")
        except ValueError:
            raise Http404(_("Not a date (YYYY-MM-DD).")) from None
        if end < start or (end - start).days > 366:
            raise Http404(_("The range must run forwards and span at most a year."))
        return start, end, None
    text = request.GET.get("month")
    if text:
        try:
            first = parse_month(text)[0]
        except ValueError:
            raise Http404(_("Not a month (YYYY-MM): %(value)s") % {"value": text}) from None
    else:
        first = timezone.now().astimezone(TOKYO).date().replace(day=1)
    start, end = sla_attainment.month_range(first)
    return start, end, first


def _inbox_link(numbers: list[int]) -> str:
    return f"{reverse('support:inbox')}?view=all&numbers={sla_attainment.numbers_param(numbers)}" if numbers else ""


@requires(Capability.VIEW_ACCOUNTS)
def sla_report(request: HttpRequest) -> HttpResponse:
    start, end, month = period(request)
    report = sla_attainment.build(start, end)

    def table(rows: list[sla_attainment.Row]) -> list[dict[str, object]]:
        return [
            {
                "row": r,
                "f": r.figures,
                "all_link": _inbox_link(r.figures.numbers),
                "breached_link": _inbox_link(r.figures.breached_numbers),
            }
            for r in rows
        ]

    query = request.GET.urlencode()
    context = {
        "report": report,
        "month": month,
        "previous": month_start(month, -1) if month else None,
        "next": month_start(month, 1) if month else None,
        "totals": table(report.totals),
        "agents": table(report.agents),
        "teams": table(report.teams),
        "xlsx_url": f"{reverse('support:sla_report_xlsx')}?{query}" if query else reverse("support:sla_report_xlsx"),
    }
    return render(request, "support/sla_report.html", context)


@requires(Capability.VIEW_ACCOUNTS)
def sla_report_xlsx(request: HttpRequest) -> HttpResponse:
    start, end, _month = period(request)
    body = sla_attainment.workbook(sla_attainment.build(start, end))
    response = HttpResponse(body, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="sla-attainment-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"'
    return response
