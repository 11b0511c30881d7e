"""The merchant portal in the JSON API: the caller's own statements and invoices (only merchants in
`portal_accounts`; any other document is 404) and their PDFs."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema

from banso.api.auth import role
from banso.api.schemas import ErrorOut
from banso.core.permissions import Capability

from . import documents
from .invoice_api import pdf_answer
from .portal_views import own_invoice, own_statement, portal_accounts

router = Router(tags=["billing"])
OWN = role(Capability.VIEW_OWN_DOCUMENTS)


class PortalDocumentOut(Schema):
    kind: str  # statement, invoice or credit_note
    id: int
    number: str
    merchant_id: int
    merchant_name: str
    month: dt.date
    amount: int  # statements: the payout (negative: to pay); invoices: the total tax included
    pdf_url: str


class PortalDocumentsOut(Schema):
    merchants: list[dict[str, Any]]
    documents: list[PortalDocumentOut]


@router.get("/documents", response=PortalDocumentsOut, auth=OWN)
def own_documents(request: HttpRequest) -> dict[str, Any]:
    """The statements and invoices of the caller's merchants, newest month first."""
    accounts = list(portal_accounts(request.user))
    items: list[dict[str, Any]] = []
    for month, docs in documents.documents_of(a.pk for a in accounts).items():
        for s in docs["statements"]:
            items.append(
                {
                    "kind": "statement",
                    "id": s.pk,
                    "number": s.number,
                    "merchant_id": s.merchant_id,
                    "merchant_name": s.merchant_name,
                    "month": month,
                    "amount": s.payout,
                    "pdf_url": f"/api/billing/portal/statements/{s.pk}/pdf",
                }
            )
        for i in docs["invoices"]:
            items.append(
                {
                    "kind": i.kind,
                    "id": i.pk,
                    "number": i.number,
                    "merchant_id": i.merchant_id,
                    "merchant_name": i.recipient_name,
                    "month": month,
                    "amount": i.total,
                    "pdf_url": f"/api/billing/portal/invoices/{i.pk}/pdf",
                }
            )
    return {"merchants": [{"id": a.pk, "name": a.name} for a in accounts], "documents": items}


@router.get("/{kind}/{int:document_id}/pdf", response={200: None, 404: ErrorOut, 503: ErrorOut}, auth=OWN)
def own_document_pdf(request: HttpRequest, kind: Literal["statements", "invoices"], document_id: int) -> Any:
    """One of the caller's documents as PDF: `kind` is statements or invoices (credit notes included)."""
    document = (
        own_statement(request.user, document_id) if kind == "statements" else own_invoice(request.user, document_id)
    )
    return pdf_answer(document)
