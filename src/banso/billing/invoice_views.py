"""Staff invoice pages: the operator's qualified invoices and credit notes by month, merchant and kind, one
invoice with its lines and totals per rate (the PDF is served by close_views.invoice_pdf through
billing.documents), and the billing settings printed on every invoice."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from banso.accounts.services import parse_month
from banso.core.calendar import month_start
from banso.core.models import User
from banso.core.paging import IdFirstList
from banso.core.permissions import Capability, has_capability, requires
from banso.core.text import normalise

from . import invoicing
from .invoice_forms import SETTINGS_FIELDS
from .models import BillingSettings, Invoice, InvoiceKind
from .tax import REDUCED_RATE, is_valid_registration_number, totals_per_rate

PER_PAGE = 50


def _month(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return parse_month(text)[0]
    except ValueError:
        return None


def filtered_invoices(month: dt.date | None, merchant: str, kind: str) -> QuerySet[Invoice]:
    """Invoices of a month (by the period billed), a merchant (id, name, reading or number) and a kind."""
    invoices = Invoice.objects.order_by("-issue_date", "-sequence")
    if month:
        invoices = invoices.filter(period_start__gte=month, period_start__lt=month_start(month, 1))
    if merchant:
        if merchant.isdigit():
            invoices = invoices.filter(merchant_id=int(merchant))
        else:
            key = normalise(merchant)
            invoices = invoices.filter(
                Q(recipient_name__icontains=merchant)
                | Q(number__icontains=merchant)
                | Q(merchant__search_text__contains=key)
            )
    if kind in InvoiceKind.values:
        invoices = invoices.filter(kind=kind)
    return invoices


@requires(Capability.VIEW_BILLING)
def invoice_list(request: HttpRequest) -> HttpResponse:
    month = _month(request.GET.get("month"))
    merchant = (request.GET.get("merchant") or "").strip()
    kind = request.GET.get("kind") or ""
    invoices = filtered_invoices(month, merchant, kind)
    totals = invoices.aggregate(
        subtotal_10=Sum("subtotal_10"),
        tax_10=Sum("tax_10"),
        subtotal_8=Sum("subtotal_8"),
        tax_8=Sum("tax_8"),
        total=Sum("total"),
    )
    months = [
        d.date() if isinstance(d, dt.datetime) else d
        for d in Invoice.objects.dates("period_start", "month", order="DESC")
    ]
    context = {
        "page": Paginator(IdFirstList(invoices), PER_PAGE).get_page(request.GET.get("page")),
        "month": month,
        "months": months,
        "merchant": merchant,
        "kind": kind,
        "kinds": InvoiceKind.choices,
        "totals": totals,
        "billing": BillingSettings.current(),
        "registration_ok": is_valid_registration_number(BillingSettings.current().registration_number),
        "can_manage": has_capability(request.user, Capability.MANAGE_BILLING),
    }
    return render(request, "billing/invoice_list.html", context)


@requires(Capability.VIEW_BILLING)
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = get_object_or_404(Invoice.objects.select_related("merchant", "statement", "original", "close"), pk=pk)
    lines = list(invoice.lines.order_by("position"))
    totals = totals_per_rate((line.amount, line.tax_rate) for line in lines) if lines else {}
    context = {
        "invoice": invoice,
        "lines": lines,
        "totals": list(totals.values()),
        "reduced_rate": REDUCED_RATE,
        "credit_notes": list(invoice.credit_notes.order_by("sequence")),
        "is_credit_note": invoice.kind == InvoiceKind.CREDIT_NOTE,
    }
    return render(request, "billing/invoice_detail.html", context)


@requires(Capability.MANAGE_BILLING)
def billing_settings(request: HttpRequest) -> HttpResponse:
    billing = BillingSettings.current()
    errors: dict[str, list[str]] = {}
    values = {name: getattr(billing, name) for name in SETTINGS_FIELDS}
    if request.method == "POST":
        values = {name: request.POST.get(name, "") for name in SETTINGS_FIELDS}
        actor = request.user if isinstance(request.user, User) else None
        try:
            invoicing.update_billing_settings(values, actor=actor, via="ui")
        except ValidationError as error:
            errors = error.message_dict
        else:
            messages.success(request, _("Billing settings saved."))
            return redirect("billing:billing_settings")
    context = {
        "values": values,
        "errors": errors,
        "months": range(1, 13),
        "registration_ok": is_valid_registration_number(str(values.get("registration_number") or "")),
    }
    return render(request, "billing/invoice_settings.html", context, status=422 if errors else 200)
