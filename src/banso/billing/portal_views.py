"""The merchant portal: a merchant user's statements and invoices by month, with PDF downloads. A user sees
only the merchants (accounts) in `request.user.portal_accounts`; any other document answers 404, so that
document ids of other merchants are not even confirmed to exist."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.http import content_disposition_header

from banso.accounts.models import Account
from banso.core.permissions import Capability, requires

from . import documents
from .models import Invoice, Statement


def portal_accounts(user: object) -> QuerySet[Account]:
    """The merchants whose documents this user may see (none for a user without portal accounts)."""
    related = getattr(user, "portal_accounts", None)
    return related.all().order_by("name_kana", "id") if related is not None else Account.objects.none()


def own_statement(user: object, pk: int) -> Statement:
    return get_object_or_404(Statement, pk=pk, merchant__in=portal_accounts(user), close__close_status="closed")


def own_invoice(user: object, pk: int) -> Invoice:
    invoice = get_object_or_404(Invoice, pk=pk, merchant__in=portal_accounts(user))
    if invoice.close is not None and invoice.close.close_status != "closed":
        raise Http404
    return invoice


def pdf_response(document: Statement | Invoice) -> HttpResponse:
    response = HttpResponse(documents.read_document(document), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, documents.download_name(document)) or ""
    return response


@requires(Capability.VIEW_OWN_DOCUMENTS)
def portal(request: HttpRequest) -> HttpResponse:
    accounts = list(portal_accounts(request.user))
    chosen = request.GET.get("account") or ""
    selected = [a for a in accounts if str(a.pk) == chosen] or accounts
    months = documents.documents_of(a.pk for a in selected)
    month = request.GET.get("month") or ""
    shown = {m: docs for m, docs in months.items() if not month or f"{m:%Y-%m}" == month}
    context = {
        "accounts": accounts,
        "account": chosen,
        "months": list(months),
        "month": month,
        "shown": shown,
    }
    return render(request, "billing/portal_home.html", context)


@requires(Capability.VIEW_OWN_DOCUMENTS)
def portal_statement_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    return pdf_response(own_statement(request.user, pk))


@requires(Capability.VIEW_OWN_DOCUMENTS)
def portal_invoice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    return pdf_response(own_invoice(request.user, pk))
