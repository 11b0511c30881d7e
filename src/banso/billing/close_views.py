"""Month close pages: the months with their close status and totals (close with a progress bar, write
missing documents), an open month's preview, statements (list by month with merchant search, one statement
with its lines paged and its invoice and credit notes, PDFs), commission rules, other charges and manual
adjustments. Every change goes through `closing`, `commission` or `corrections`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.accounts.choices import AccountKind
from banso.accounts.models import Account
from banso.accounts.services import parse_month
from banso.core.calendar import month_start
from banso.core.models import User
from banso.core.paging import IdFirstList
from banso.core.permissions import Capability, has_capability, requires
from banso.core.text import normalise
from banso.core.views import progress_fragment

from . import closing, commission, corrections
from .models import (
    Adjustment,
    BillingSettings,
    CloseStatus,
    CommissionRule,
    Invoice,
    InvoiceKind,
    MerchantCharge,
    MonthClose,
    Statement,
)
from .tasks import write_documents_task

PER_PAGE = 50
LINES_PER_PAGE = 100


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _month(text: str | None) -> dt.date | None:
    try:
        return parse_month(text or "")[0]
    except ValueError:
        return None


def _month_or_404(text: str) -> dt.date:
    month = _month(text)
    if month is None:
        raise Http404
    return month


def _merchant(text: str | None) -> Account | None:
    if not text or not text.strip().isdigit():
        return None
    return Account.objects.filter(pk=int(text), kind=AccountKind.MERCHANT).first()


def _int(text: str | None) -> int | None:
    try:
        return int((text or "").replace(",", "").strip())
    except ValueError:
        return None


def _errors(error: ValidationError) -> dict[str, list[str]]:
    return dict(error.message_dict) if hasattr(error, "error_dict") else {"": list(error.messages)}


# Months --------------------------------------------------------------------------------------------------


@requires(Capability.VIEW_BILLING)
def close_list(request: HttpRequest) -> HttpResponse:
    rows = closing.month_summaries()
    context = {
        "rows": rows,
        "polling": any(r["run"] is not None and r["run"].running for r in rows),
        "can_manage": has_capability(request.user, Capability.MANAGE_BILLING),
        "recent": list(MonthClose.objects.select_related("triggered_by")[:5]),
    }
    return render(request, "billing/close_list.html", context)


@requires(Capability.VIEW_BILLING)
def close_preview(request: HttpRequest, month: str) -> HttpResponse:
    first = _month_or_404(month)
    done = closing.closed_close(first)
    if done is not None:
        return redirect(f"{_statements_url()}?month={first:%Y-%m}")
    rows = closing.preview(first)
    try:
        closing.check_can_close(first)
        refusal = ""
    except closing.CloseError as error:
        refusal = str(error)
    totals = {
        key: sum(r[key] for r in rows)
        for key in ("bookings", "sales", "refunds", "commission", "payment_fees", "charges", "adjustments", "payout")
    }
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "month": first,
        "page": page,
        "totals": totals,
        "merchants": len(rows),
        "invoices": sum(1 for r in rows if r["invoiced"]),
        "refusal": refusal,
        "can_manage": has_capability(request.user, Capability.MANAGE_BILLING),
    }
    return render(request, "billing/close_preview.html", context)


@requires(Capability.MANAGE_BILLING)
@require_POST
def close_start(request: HttpRequest, month: str) -> HttpResponse:
    first = _month_or_404(month)
    try:
        closing.start_close(first, _actor(request))
    except closing.CloseError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The month is being closed in the background; progress is shown below."))
    return redirect("billing:closes")


@requires(Capability.VIEW_BILLING)
def close_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """One close's progress, polled by htmx while it runs; when it ends the page reloads."""
    return progress_fragment(request, "billing/_close_run.html", get_object_or_404(MonthClose, pk=pk))


@requires(Capability.MANAGE_BILLING)
@require_POST
def close_documents(request: HttpRequest, pk: int) -> HttpResponse:
    """Write the PDFs a close is still missing (after a failure while writing them)."""
    run = get_object_or_404(MonthClose, pk=pk, close_status=CloseStatus.CLOSED)
    MonthClose.objects.filter(pk=run.pk).update(step=_("Writing missing documents"))
    write_documents_task.enqueue(run.pk)
    messages.success(request, _("The missing documents are being written in the background."))
    return redirect("billing:closes")


# Statements ----------------------------------------------------------------------------------------------


def _statements_url() -> str:
    from django.urls import reverse

    return reverse("billing:statements")


@requires(Capability.VIEW_BILLING)
def statement_list(request: HttpRequest) -> HttpResponse:
    months = list(
        MonthClose.objects.filter(close_status=CloseStatus.CLOSED).order_by("-as_of").values_list("as_of", flat=True)
    )
    month = _month(request.GET.get("month")) or (months[0] if months else None)
    query = (request.GET.get("q") or "").strip()
    statements = Statement.objects.filter(month=month).order_by("merchant_name", "id") if month else None
    if statements is not None and query:
        key = normalise(query)
        statements = statements.filter(
            Q(merchant_name__icontains=query) | Q(number__icontains=query) | Q(merchant__search_text__contains=key)
        )
    page = (
        Paginator(IdFirstList(statements), PER_PAGE).get_page(request.GET.get("page"))
        if statements is not None
        else None
    )
    totals = (
        Statement.objects.filter(month=month).aggregate(
            sales=Sum("sales"), commission=Sum("commission"), fees=Sum("payment_fees"), payout=Sum("payout")
        )
        if month
        else {}
    )
    context = {"months": months, "month": month, "q": query, "page": page, "totals": totals}
    return render(request, "billing/statement_list.html", context)


@requires(Capability.VIEW_BILLING)
def statement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    statement = get_object_or_404(Statement.objects.select_related("close", "merchant"), pk=pk)
    lines = statement.lines.order_by("date", "kind", "id")
    page = Paginator(lines, LINES_PER_PAGE).get_page(request.GET.get("page"))
    invoices = list(Invoice.objects.filter(statement=statement, kind=InvoiceKind.INVOICE))
    credit_notes = list(
        Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE, close=statement.close, merchant=statement.merchant)
    )
    returned = list(Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE, original__in=invoices))
    by_rate = dict(
        statement.lines.filter(kind__in=["sale", "cancellation"], booking__isnull=False)
        .values_list("booking__tax_rate")
        .annotate(total=Sum("sales"))
        .values_list("booking__tax_rate", "total")
    )
    context = {
        "statement": statement,
        "page": page,
        "invoices": invoices,
        "credit_notes": credit_notes,
        "returned": returned,
        "sales_10": by_rate.get(10, 0),
        "sales_8": by_rate.get(8, 0),
        "invoice_total": sum(i.total for i in invoices),
    }
    return render(request, "billing/statement_detail.html", context)


@requires(Capability.VIEW_BILLING)
def statement_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    statement = get_object_or_404(Statement, pk=pk)
    return _pdf_response(statement)


@requires(Capability.VIEW_BILLING)
def invoice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = get_object_or_404(Invoice, pk=pk)
    return _pdf_response(invoice)


def _pdf_response(document: Statement | Invoice) -> HttpResponse:
    """The document's PDF as the close wrote it (written now if the file is missing)."""
    from . import documents

    response = HttpResponse(documents.read_document(document), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, documents.download_name(document)) or ""
    return response


# Rules ---------------------------------------------------------------------------------------------------


def _decimal(text: str | None) -> Decimal | None:
    try:
        return Decimal((text or "").strip())
    except InvalidOperation:
        return None


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((text or "").strip())
    except ValueError:
        return None


def _merchant_choices() -> list[tuple[int, str]]:
    return list(
        Account.objects.filter(kind=AccountKind.MERCHANT).order_by("name_kana", "name").values_list("pk", "name")
    )


@requires(Capability.VIEW_BILLING)
def rule_list(request: HttpRequest) -> HttpResponse:
    return _rules_page(request)


def _rules_page(request: HttpRequest, errors: dict[str, list[str]] | None = None, form: Any = None) -> HttpResponse:
    rules = CommissionRule.objects.select_related("merchant").order_by("merchant__name", "plan", "-effective_from")
    page = Paginator(rules, PER_PAGE).get_page(request.GET.get("page"))
    billing_defaults = BillingSettings.current()
    context = {
        "page": page,
        "errors": errors or {},
        "form": form or {},
        "merchants": _merchant_choices(),
        "defaults": billing_defaults,
        "can_manage": has_capability(request.user, Capability.MANAGE_BILLING),
        "today": timezone.localdate(),
    }
    return render(request, "billing/rule_list.html", context, status=422 if errors else 200)


@requires(Capability.MANAGE_BILLING)
@require_POST
def rule_create(request: HttpRequest) -> HttpResponse:
    data = request.POST
    errors: dict[str, list[str]] = {}
    merchant = _merchant(data.get("merchant")) if data.get("merchant") else None
    if data.get("merchant") and merchant is None:
        errors["merchant"] = [_("Choose a merchant from the list.")]
    values = {
        "commission_rate": _decimal(data.get("commission_rate")),
        "payment_fee_rate": _decimal(data.get("payment_fee_rate")),
        "effective_from": _date(data.get("effective_from")),
    }
    for name, value in values.items():
        if value is None:
            errors[name] = [_("Enter a date (YYYY-MM-DD).") if name == "effective_from" else _("Enter a number.")]
    effective_to = _date(data.get("effective_to")) if data.get("effective_to") else None
    if data.get("effective_to") and effective_to is None:
        errors["effective_to"] = [_("Enter a date (YYYY-MM-DD).")]
    if not errors:
        try:
            commission.create_rule(
                actor=_actor(request),
                merchant=merchant,
                plan=data.get("plan", ""),
                commission_rate=values["commission_rate"],  # type: ignore[arg-type]
                payment_fee_rate=values["payment_fee_rate"],  # type: ignore[arg-type]
                effective_from=values["effective_from"],  # type: ignore[arg-type]
                effective_to=effective_to,
            )
        except ValidationError as error:
            errors = _errors(error)
    if errors:
        return _rules_page(request, errors=errors, form=data)
    messages.success(request, _("The commission rule was added."))
    return redirect("billing:rules")


@requires(Capability.MANAGE_BILLING)
@require_POST
def rule_end(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(CommissionRule, pk=pk)
    day = _date(request.POST.get("effective_to"))
    if day is None:
        messages.error(request, _("Enter the last day of the rule (YYYY-MM-DD)."))
        return redirect("billing:rules")
    try:
        commission.end_rule(rule, day, actor=_actor(request))
    except ValidationError as error:
        messages.error(request, " ".join(m for ms in _errors(error).values() for m in ms))
    else:
        messages.success(request, _("The rule ends on %(day)s.") % {"day": day.isoformat()})
    return redirect("billing:rules")


# Charges and adjustments ---------------------------------------------------------------------------------


def _open_months() -> list[dt.date]:
    current = month_start(timezone.localdate())
    months = [month_start(current, back) for back in (-2, -1, 0, 1)]
    return [m for m in months if closing.closed_close(m) is None]


@requires(Capability.VIEW_BILLING)
def charge_list(request: HttpRequest) -> HttpResponse:
    return _charges_page(request)


def _charges_page(request: HttpRequest, errors: dict[str, list[str]] | None = None, form: Any = None) -> HttpResponse:
    return _corrections_page(request, MerchantCharge, "billing/charge_list.html", errors, form)


def _corrections_page(
    request: HttpRequest,
    model: type[MerchantCharge] | type[Adjustment],
    template: str,
    errors: dict[str, list[str]] | None,
    form: Any,
) -> HttpResponse:
    """Other charges and adjustments: a month's rows (paged) above the form that adds one to an open month."""
    month = _month(request.GET.get("month"))
    rows = model.objects.select_related("merchant", "created_by").order_by("-month", "merchant__name", "id")
    if month:
        rows = rows.filter(month=month)
    context = {
        "page": Paginator(rows, PER_PAGE).get_page(request.GET.get("page")),
        "month": month,
        "open_months": _open_months(),
        "merchants": _merchant_choices(),
        "errors": errors or {},
        "form": form or {},
        "can_manage": has_capability(request.user, Capability.MANAGE_BILLING),
    }
    return render(request, template, context, status=422 if errors else 200)


@requires(Capability.MANAGE_BILLING)
@require_POST
def charge_create(request: HttpRequest) -> HttpResponse:
    data = request.POST
    try:
        corrections.add_charge(
            actor=_actor(request),
            merchant=_merchant(data.get("merchant")),
            month=_month(data.get("month")),
            description=data.get("description", ""),
            amount=_int(data.get("amount")),
            tax_rate=_int(data.get("tax_rate")),
        )
    except ValidationError as error:
        return _charges_page(request, errors=_errors(error), form=data)
    messages.success(request, _("The charge was added to the month's invoice."))
    return redirect("billing:charges")


@requires(Capability.VIEW_BILLING)
def adjustment_list(request: HttpRequest) -> HttpResponse:
    return _adjustments_page(request)


def _adjustments_page(
    request: HttpRequest, errors: dict[str, list[str]] | None = None, form: Any = None
) -> HttpResponse:
    return _corrections_page(request, Adjustment, "billing/adjustment_list.html", errors, form)


@requires(Capability.MANAGE_BILLING)
@require_POST
def adjustment_create(request: HttpRequest) -> HttpResponse:
    data = request.POST
    try:
        corrections.add_adjustment(
            actor=_actor(request),
            merchant=_merchant(data.get("merchant")),
            month=_month(data.get("month")),
            description=data.get("description", ""),
            reason=data.get("reason", ""),
            payout_amount=_int(data.get("payout_amount")),
        )
    except ValidationError as error:
        return _adjustments_page(request, errors=_errors(error), form=data)
    messages.success(request, _("The adjustment was recorded; it is settled when its month closes."))
    return redirect("billing:adjustments")
