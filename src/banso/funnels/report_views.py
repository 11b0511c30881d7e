"""Client report pages: the list, generating one for a client and month, the report with its PDF and XLSX
downloads, and "mark as sent". The content and files come from `reports`."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.accounts.models import Account
from banso.core.calendar import month_start
from banso.core.models import User
from banso.core.permissions import Capability, requires
from banso.core.views import progress_fragment
from banso.core.xlsx import XLSX

from . import reports
from .funnel_forms import default_funnel
from .models import ClientReport, Funnel, ReportBatch

SHOWN = 100


@requires(Capability.VIEW_ACCOUNTS)
def report_list(request: HttpRequest) -> HttpResponse:
    rows = ClientReport.objects.select_related("account", "sent_by", "generated_by")[:SHOWN]
    owners = User.objects.filter(is_active=True).order_by("username")
    last_month = month_start(timezone.localdate(), -1)
    context = {"reports": rows, "owners": owners, "last_month": last_month}
    return render(request, "funnels/reports.html", context)


@requires(Capability.MANAGE_FUNNELS)
@require_POST
def generate(request: HttpRequest) -> HttpResponse:
    account = get_object_or_404(Account, pk=request.POST.get("account") or 0)
    raw = request.POST.get("funnel") or ""
    funnel = get_object_or_404(Funnel, pk=int(raw)) if raw.isdigit() else default_funnel()
    try:
        start, end = reports.parse_period(request.POST.get("period", ""))
    except ValueError:
        messages.error(request, _("Choose a month."))
        return redirect("funnels:client", account_id=account.pk)
    if funnel is None:
        messages.error(request, _("No funnel is set up yet."))
        return redirect("funnels:client", account_id=account.pk)
    report = reports.generate_report(funnel, account, start, end, request.user, via="ui")  # type: ignore[arg-type]
    messages.success(request, _("The report was generated."))
    return redirect("funnels:report", pk=report.pk)


@requires(Capability.MANAGE_FUNNELS)
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """Reports for every client of one CSM (or all clients) for a month, generated in the background."""
    funnel = default_funnel()
    try:
        start, end = reports.parse_period(request.POST.get("period", ""))
    except ValueError:
        messages.error(request, _("Choose a month."))
        return redirect("funnels:reports")
    if funnel is None:
        messages.error(request, _("No funnel is set up yet."))
        return redirect("funnels:reports")
    raw = request.POST.get("owner") or ""
    owner = get_object_or_404(User, pk=int(raw)) if raw.isdigit() else None
    batch = reports.start_batch(funnel, start, end, owner, request.user)  # type: ignore[arg-type]
    messages.success(request, _("The reports were queued; the worker makes them in the background."))
    return redirect("funnels:report_bulk_run", pk=batch.pk)


@requires(Capability.VIEW_ACCOUNTS)
def bulk_run(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(ReportBatch.objects.select_related("owner"), pk=pk)
    return render(request, "funnels/report_batch.html", {"run": batch, "running": batch.running})


@requires(Capability.VIEW_ACCOUNTS)
def bulk_progress(request: HttpRequest, pk: int) -> HttpResponse:
    return progress_fragment(request, "funnels/_report_batch_progress.html", get_object_or_404(ReportBatch, pk=pk))


@requires(Capability.VIEW_ACCOUNTS)
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(ClientReport.objects.select_related("account", "funnel", "sent_by"), pk=pk)
    return render(request, "funnels/report.html", {"report": report, "data": report.data})


@requires(Capability.VIEW_ACCOUNTS)
def report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(ClientReport, pk=pk)
    response = HttpResponse(reports.render_pdf(report), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{reports.report_filename(report, "pdf")}"'
    return response


@requires(Capability.VIEW_ACCOUNTS)
def report_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    report = get_object_or_404(ClientReport, pk=pk)
    response = HttpResponse(reports.render_xlsx(report), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{reports.report_filename(report, "xlsx")}"'
    return response


@requires(Capability.MANAGE_FUNNELS)
@require_POST
def mark_sent(request: HttpRequest, pk: int) -> HttpResponse:
    report = reports.mark_sent(get_object_or_404(ClientReport, pk=pk), request.user, via="ui")  # type: ignore[arg-type]
    messages.success(request, _("Marked as sent."))
    return redirect("funnels:report", pk=report.pk)
