"""Pages of the conversions area: the results list with its totals, the monthly reconciliation per offer and
its drill-down, and the cashback owed to users (CSV/XLSX for the payout team). Figures come from
`conversions` and `reconcile`."""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from openpyxl import Workbook

from banso.core import xlsx
from banso.core.calendar import month_start
from banso.core.models import User
from banso.core.paging import IdFirstList
from banso.core.permissions import Capability, has_capability, requires

from . import conversions, reconcile
from .conversions_forms import CashbackPaidForm, ConversionFilterForm
from .models import Asp, Offer

PER_PAGE = 50


def _month(request: HttpRequest) -> dt.date:
    """`?month=YYYY-MM`, else this month (Tokyo); a malformed month is a 404 rather than a silent default."""
    text = request.GET.get("month")
    if not text:
        return conversions.this_month()
    month = conversions.parse_month(text)
    if month is None:
        raise Http404(_("Not a month (YYYY-MM): %(value)s") % {"value": text})
    return month


def _optional_month(request: HttpRequest) -> dt.date | None:
    return _month(request) if request.GET.get("month") else None


@requires(Capability.VIEW_ACCOUNTS)
def conversion_list(request: HttpRequest) -> HttpResponse:
    form = ConversionFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        qs = conversions.filter_conversions(conversions.ConversionFilter()).none()
    else:
        qs = conversions.filter_conversions(form.filters() if form.is_bound else conversions.ConversionFilter())
    page = Paginator(
        IdFirstList(qs.select_related("asp", "offer", "end_user").order_by("-occurred_at", "-id")), PER_PAGE
    ).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "campaigns/conversions.html",
        {
            "form": form,
            "page": page,
            "totals": conversions.totals(qs),
            "query": query.urlencode(),
            "can_import": has_capability(request.user, Capability.IMPORT_DATA),
            "asps": Asp.objects.order_by("name"),
            "layouts": conversions.REPORT_FORMATS,
        },
    )


def _month_links(month: dt.date) -> dict[str, Any]:
    return {
        "month": month,
        "previous": month_start(month, -1).strftime("%Y-%m"),
        "next": month_start(month, 1).strftime("%Y-%m"),
    }


@requires(Capability.VIEW_ACCOUNTS)
def reconcile_month(request: HttpRequest) -> HttpResponse:
    month = _month(request)
    rows = reconcile.reconcile_month(month)
    total = reconcile.OfferMonth(offer=Offer(), month=month)
    for row in rows:
        for name in (
            "clicks",
            "pending",
            "approved",
            "rejected",
            "reward_pending",
            "reward_approved",
            "reward_rejected",
            "order_amount",
            "cashback_owed",
            "unmatched",
            "expired_clicks",
        ):
            setattr(total, name, getattr(total, name) + getattr(row, name))
    return render(
        request,
        "campaigns/reconcile.html",
        {**_month_links(month), "rows": rows, "total": total, "window_days": reconcile.CLICK_WINDOW_DAYS},
    )


@requires(Capability.VIEW_ACCOUNTS)
def reconcile_offer(request: HttpRequest, pk: int) -> HttpResponse:
    offer = get_object_or_404(Offer.objects.select_related("asp", "advertiser"), pk=pk)
    month = _month(request)
    return render(
        request,
        "campaigns/reconcile_offer.html",
        {
            **_month_links(month),
            "offer": offer,
            "f": reconcile.reconcile_offer(offer, month),
            "owed": reconcile.cashback_owed(month=month, offer=offer.pk),
            "window_days": reconcile.CLICK_WINDOW_DAYS,
            "shown": reconcile.UNMATCHED_SHOWN,
        },
    )


def _owed_filters(request: HttpRequest) -> tuple[dt.date | None, int | None]:
    month = _optional_month(request)
    offer_text = request.GET.get("offer") or ""
    if offer_text and not offer_text.isdigit():
        raise Http404(_("Not an offer id: %(value)s") % {"value": offer_text})
    return month, int(offer_text) if offer_text else None


@requires(Capability.VIEW_ACCOUNTS)
def cashback(request: HttpRequest) -> HttpResponse:
    month, offer = _owed_filters(request)
    owed = reconcile.cashback_owed(month=month, offer=offer)
    query = request.GET.urlencode()
    suffix = f"?{query}" if query else ""
    return render(
        request,
        "campaigns/cashback.html",
        {
            "owed": owed,
            "total": sum(u.owed for u in owed),
            "month": month,
            "offer": Offer.objects.filter(pk=offer).first() if offer else None,
            "offer_id": offer,
            "offers": Offer.objects.order_by("name", "id"),
            "xlsx_url": reverse("campaigns:cashback_xlsx") + suffix,
            "csv_url": reverse("campaigns:cashback_csv") + suffix,
            "can_pay": has_capability(request.user, Capability.WORK_CAMPAIGNS),
        },
    )


def _filename(month: dt.date | None, ext: str) -> str:
    return f"cashback-owed{'-' + month.strftime('%Y-%m') if month else ''}.{ext}"


@requires(Capability.VIEW_ACCOUNTS)
def cashback_xlsx(request: HttpRequest) -> HttpResponse:
    month, offer = _owed_filters(request)
    book = Workbook(write_only=True)
    xlsx.sheet(book, _("Cashback owed"), reconcile.OWED_COLUMNS, reconcile.cashback_owed(month=month, offer=offer))
    response = HttpResponse(xlsx.to_bytes(book), content_type=xlsx.XLSX)
    response["Content-Disposition"] = f'attachment; filename="{_filename(month, "xlsx")}"'
    return response


@requires(Capability.VIEW_ACCOUNTS)
def cashback_csv(request: HttpRequest) -> HttpResponse:
    """UTF-8 with BOM, so Excel in Japan opens it as text rather than mojibake."""
    month, offer = _owed_filters(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(month, "csv")}"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([name for name, _fmt, _get in reconcile.OWED_COLUMNS])
    for user in reconcile.cashback_owed(month=month, offer=offer):
        writer.writerow([get(user) for _name, _fmt, get in reconcile.OWED_COLUMNS])
    return response


@requires(Capability.WORK_CAMPAIGNS)
@require_POST
def cashback_paid(request: HttpRequest) -> HttpResponse:
    form = CashbackPaidForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a user to mark as paid."))
        return redirect("campaigns:cashback")
    data = form.cleaned_data
    ids = reconcile.owed_results(month=data["month"], offer=data["offer"], end_user=data["end_user"]).values_list(
        "pk", flat=True
    )
    actor = request.user if isinstance(request.user, User) else None
    count = conversions.mark_cashback_paid(list(ids), actor=actor)
    messages.success(request, _("Marked the cashback of %(n)s results as paid.") % {"n": count})
    params = {k: v for k, v in (("month", request.POST.get("month")), ("offer", request.POST.get("offer"))) if v}
    url = reverse("campaigns:cashback")
    return redirect(f"{url}?{urlencode(params)}" if params else url)
