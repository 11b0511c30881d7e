"""Reconciliation pages: the per-month summary, items by status/kind/month with their difference, an item with
both sides and its resolution, and imports (PAY.JP CSV/JSON or a bank statement) with errors per row."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.accounts.services import parse_month
from banso.activity.importing import ImportRefused
from banso.core.models import AuditEntry
from banso.core.paging import IdFirstList
from banso.core.permissions import Capability, has_capability, requires

from . import recon_tasks, reconcile
from .models import MatchStatus, ProcessorImport, ReconciliationItem, ReconciliationKind

PER_PAGE = 100
MAX_UPLOAD = 200 * 1024 * 1024


def month_param(text: str | None) -> dt.date | None:
    try:
        return parse_month(text or "")[0]
    except ValueError:
        return None


def _can_manage(request: HttpRequest) -> bool:
    return has_capability(request.user, Capability.MANAGE_BILLING)


@requires(Capability.VIEW_BILLING)
def summary(request: HttpRequest) -> HttpResponse:
    months = reconcile.summary(months=24)
    statuses = [(value, label) for value, label in MatchStatus.choices]
    rows = [
        {
            "month": m["month"],
            "total": m["total"],
            "open": m["open"],
            "cells": [
                m["statuses"].get(value, {"count": 0, "difference": 0, "gap": 0}) | {"status": value}
                for value, _label in statuses
            ],
        }
        for m in months
    ]
    context = {"rows": rows, "statuses": statuses, "can_manage": _can_manage(request), "tab": "summary"}
    return render(request, "billing/recon_summary.html", context)


@requires(Capability.VIEW_BILLING)
def item_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    month = month_param(request.GET.get("month"))
    rows = reconcile.items(status, kind, month)
    page = Paginator(IdFirstList(rows), PER_PAGE).get_page(request.GET.get("page"))
    query = "&".join(
        f"{k}={v}" for k, v in (("status", status), ("kind", kind), ("month", request.GET.get("month", ""))) if v
    )
    context = {
        "page": page,
        "query": query,
        "chosen": {"status": status, "kind": kind, "month": month},
        "statuses": MatchStatus.choices,
        "kinds": ReconciliationKind.choices,
        "tab": "items",
    }
    return render(request, "billing/recon_items.html", context)


def _item_context(request: HttpRequest, item: ReconciliationItem, errors: list[str] | None = None) -> dict[str, Any]:
    history = AuditEntry.objects.filter(object_type=item._meta.label_lower, object_id=str(item.pk)).select_related(
        "actor"
    )
    txn = item.transaction
    related = []
    if txn and txn.charge_id:
        related = list(
            ReconciliationItem.objects.filter(transaction__charge_id=txn.charge_id)
            .exclude(pk=item.pk)
            .select_related("transaction")
        )
    return {
        "item": item,
        "txn": txn,
        "booking": item.booking,
        "deposit": item.deposit,
        "related": related,
        "history": list(history[:20]),
        "can_manage": _can_manage(request),
        "errors": errors or [],
        "tab": "items",
    }


@requires(Capability.VIEW_BILLING)
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(
        ReconciliationItem.objects.select_related(
            "transaction", "booking", "booking__provider", "deposit", "resolved_by"
        ),
        pk=pk,
    )
    return render(request, "billing/recon_item.html", _item_context(request, item))


@requires(Capability.MANAGE_BILLING)
@require_POST
def item_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(ReconciliationItem, pk=pk)
    try:
        reconcile.resolve(item, request.POST.get("resolution", ""), request.user)
    except ValidationError as error:
        item.refresh_from_db()
        page = render(request, "billing/recon_item.html", _item_context(request, item, error.messages))
        page.status_code = 422
        return page
    messages.success(request, _("The item was resolved."))
    return redirect("billing:recon_item", pk)


@requires(Capability.MANAGE_BILLING)
@require_POST
def run_match(request: HttpRequest) -> HttpResponse:
    month = month_param(request.POST.get("month"))
    if recon_tasks.needs_worker(month):
        recon_tasks.match_task.enqueue(month.isoformat() if month else None)
        messages.info(request, _("Matching was queued for the worker; this summary shows the result when it is done."))
        return redirect("billing:recon")
    result = reconcile.match(month)
    messages.success(
        request,
        _("Matched %(months)s month(s): %(items)s items, %(kept)s resolved items kept.")
        % {"months": len(result.months), "items": result.items, "kept": result.kept},
    )
    return redirect("billing:recon")


@requires(Capability.VIEW_BILLING)
def imports(request: HttpRequest) -> HttpResponse:
    errors: list[dict[str, Any]] = []
    error_count = 0
    status = 200
    if request.method == "POST":
        if not _can_manage(request):
            raise PermissionDenied(Capability.MANAGE_BILLING.value)
        upload = request.FILES.get("file")
        kind = request.POST.get("kind", "payjp")
        if upload is None:
            errors, error_count, status = [{"row": None, "column": "file", "reason": _("Choose a file.")}], 1, 422
        elif upload.size and upload.size > MAX_UPLOAD:
            errors, error_count, status = (
                [{"row": None, "column": "file", "reason": _("The file is too large.")}],
                1,
                422,
            )
        else:
            try:
                record = import_upload(kind, upload.read(), upload.name or "", request.user)
            except ImportRefused as refused:
                errors, error_count, status = refused.errors, refused.error_count, 422
            else:
                messages.success(
                    request,
                    _("Imported %(rows)s rows: %(created)s new, %(updated)s updated, %(unchanged)s unchanged.")
                    % {
                        "rows": record.rows,
                        "created": record.created,
                        "updated": record.updated,
                        "unchanged": record.unchanged,
                    },
                )
                return redirect("billing:recon_imports")
    context = {
        "records": [(r, import_kind_label(r.kind)) for r in ProcessorImport.objects.select_related("created_by")[:50]],
        "errors": errors,
        "error_count": error_count,
        "can_manage": _can_manage(request),
        "tab": "imports",
    }
    response = render(request, "billing/recon_imports.html", context)
    response.status_code = status
    return response


def import_kind_label(kind: str) -> str:
    labels = {
        "payjp_charges": _("PAY.JP charges (CSV)"),
        "payjp_transfers": _("PAY.JP transfers (CSV)"),
        "payjp_api": _("PAY.JP (API objects)"),
        "bank": _("Bank deposits"),
    }
    return labels.get(kind, kind)


def import_upload(kind: str, data: bytes, filename: str, actor: Any) -> ProcessorImport:
    """`kind` payjp (CSV or JSON) or bank; shared with the API."""
    if kind == "bank":
        return reconcile.import_bank(data, filename, actor=actor)
    if kind == "payjp":
        return reconcile.import_payjp(data, filename, actor=actor)
    raise ImportRefused([{"row": None, "column": "kind", "reason": _("Choose PAY.JP or bank.")}])
