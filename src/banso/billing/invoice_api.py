"""Invoices and credit notes in the JSON API (list with filters, one with its lines and totals per rate, its
PDF) and the billing settings (GET, PUT: the same validation as the settings page). Refusals answer 422 with
`detail`: a list of {field, message}."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from banso.accounts.services import parse_month
from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused, validation_errors
from banso.core.models import User
from banso.core.pdf import FontMissing
from banso.core.permissions import Capability

from . import documents, invoicing
from .invoice_forms import SETTINGS_FIELDS
from .invoice_views import filtered_invoices
from .models import BillingSettings, Invoice, InvoiceKind
from .tax import is_valid_registration_number, totals_per_rate

router = Router(tags=["billing"])
VIEW = role(Capability.VIEW_BILLING)
MANAGE = role(Capability.MANAGE_BILLING)
MAX_LIMIT = 500


class InvoiceOut(Schema):
    id: int
    kind: str
    number: str
    sequence: int
    merchant_id: int
    recipient_name: str
    statement_id: int | None
    original_id: int | None
    close_id: int | None
    issue_date: dt.date
    period_start: dt.date
    period_end: dt.date
    due_date: dt.date | None
    issuer_name: str
    registration_number: str
    subtotal_10: int
    tax_10: int
    subtotal_8: int
    tax_8: int
    total: int
    has_pdf: bool


class InvoicePageOut(Schema):
    count: int
    offset: int
    limit: int
    items: list[InvoiceOut]


class InvoiceLineOut(Schema):
    position: int
    description: str
    date: dt.date | None
    original_date: dt.date | None
    amount: int
    tax_rate: int
    reduced_rate: bool


class RateTotalOut(Schema):
    rate: int
    subtotal: int
    tax: int
    total: int


class InvoiceDetailOut(InvoiceOut):
    issuer_address: str
    lines: list[InvoiceLineOut]
    totals_per_rate: list[RateTotalOut]
    credit_note_ids: list[int]


class SettingsOut(Schema):
    issuer_name: str
    registration_number: str
    registration_number_valid: bool
    address: str
    phone: str
    bank_account: str
    invoice_prefix: str
    credit_note_prefix: str
    default_commission_rate: Decimal
    default_payment_fee_rate: Decimal
    payment_terms_days: int
    repeat_window_days: int
    fiscal_year_start_month: int


class SettingsIn(Schema):
    """Fields left out keep their value."""

    issuer_name: str | None = None
    registration_number: str | None = None
    address: str | None = None
    phone: str | None = None
    bank_account: str | None = None
    invoice_prefix: str | None = None
    credit_note_prefix: str | None = None
    default_commission_rate: Decimal | None = None
    default_payment_fee_rate: Decimal | None = None
    payment_terms_days: int | None = None
    repeat_window_days: int | None = None
    fiscal_year_start_month: int | None = None


def _invoice_out(invoice: Invoice) -> dict[str, Any]:
    return {
        **{name: getattr(invoice, name) for name in InvoiceOut.model_fields if name != "has_pdf"},
        "has_pdf": bool(invoice.pdf_path),
    }


def _settings_out(billing: BillingSettings) -> dict[str, Any]:
    return {
        **{name: getattr(billing, name) for name in SETTINGS_FIELDS},
        "registration_number_valid": is_valid_registration_number(billing.registration_number),
    }


@router.get("/settings", response=SettingsOut, auth=MANAGE)
def get_settings(request: HttpRequest) -> dict[str, Any]:
    """The operator's details printed on invoices, default rates, payment terms and report settings."""
    return _settings_out(BillingSettings.current())


@router.put("/settings", response={200: SettingsOut, 422: ErrorOut}, auth=MANAGE)
def put_settings(request: HttpRequest, payload: SettingsIn) -> Any:
    """Change the billing settings; the registration number must be T + 13 digits with a valid check digit."""
    values = {name: value for name, value in payload.model_dump(exclude_unset=True).items() if value is not None}
    actor = request.user if isinstance(request.user, User) else None
    try:
        billing = invoicing.update_billing_settings(values, actor=actor, via="api")
    except ValidationError as error:
        return refused(validation_errors(error))
    return _settings_out(billing)


@router.get("", response={200: InvoicePageOut, 422: ErrorOut}, auth=VIEW)
def list_invoices(
    request: HttpRequest, month: str = "", merchant: str = "", kind: str = "", offset: int = 0, limit: int = 100
) -> Any:
    """Invoices and credit notes, newest first; `month` (YYYY-MM) is the month billed, `merchant` an account id
    or a name, reading or number to search, `kind` invoice or credit_note."""
    first = None
    if month:
        try:
            first = parse_month(month)[0]
        except ValueError:
            return refused([("month", _("Give the month as YYYY-MM (%(value)s given).") % {"value": month})])
    if kind and kind not in InvoiceKind.values:
        return refused([("kind", _("The kind is invoice or credit_note (%(value)s given).") % {"value": kind})])
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, offset)
    invoices = filtered_invoices(first, merchant.strip(), kind)
    return {
        "count": invoices.count(),
        "offset": offset,
        "limit": limit,
        "items": [_invoice_out(invoice) for invoice in invoices[offset : offset + limit]],
    }


@router.get("/{int:invoice_id}", response=InvoiceDetailOut, auth=VIEW)
def invoice_detail(request: HttpRequest, invoice_id: int) -> dict[str, Any]:
    """One invoice or credit note with its lines and its totals and consumption tax per rate."""
    invoice = get_object_or_404(Invoice, pk=invoice_id)
    lines = list(invoice.lines.order_by("position"))
    totals = totals_per_rate((line.amount, line.tax_rate) for line in lines) if lines else {}
    return {
        **_invoice_out(invoice),
        "issuer_address": invoice.issuer_address,
        "lines": [
            {
                "position": line.position,
                "description": line.description,
                "date": line.date,
                "original_date": line.original_date,
                "amount": line.amount,
                "tax_rate": line.tax_rate,
                "reduced_rate": line.reduced,
            }
            for line in lines
        ],
        "totals_per_rate": [
            {"rate": t.rate, "subtotal": t.subtotal, "tax": t.tax, "total": t.total} for t in totals.values()
        ],
        "credit_note_ids": list(invoice.credit_notes.order_by("sequence").values_list("pk", flat=True)),
    }


def pdf_answer(document: Any) -> Any:
    try:
        body = documents.read_document(document)
    except FontMissing as exc:
        return Status(503, {"detail": [{"field": "", "message": str(exc)}]})
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, documents.download_name(document)) or ""
    return response


@router.get("/{int:invoice_id}/pdf", response={200: None, 503: ErrorOut}, auth=VIEW)
def invoice_pdf(request: HttpRequest, invoice_id: int) -> Any:
    """The invoice's PDF (適格請求書 or 適格返還請求書), as written at the close or written now if missing."""
    return pdf_answer(get_object_or_404(Invoice, pk=invoice_id))
