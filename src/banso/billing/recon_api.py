"""Reconciliation in the JSON API (mounted under /api/billing/reconciliation): the per-month summary, items with
filters, one item with both sides, resolving with a reason, matching a month, and imports (a PAY.JP CSV/JSON or a
bank CSV as multipart; PAY.JP API objects as JSON). Refused imports are 422 with their row errors."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Body, Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from banso.activity.importing import ImportRefused
from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused, validation_errors
from banso.core.models import User
from banso.core.permissions import Capability

from . import payjp, recon_tasks, reconcile
from .models import ProcessorImport, ReconciliationItem
from .recon_views import import_upload, month_param

router = Router(tags=["billing"])
VIEW = role(Capability.VIEW_BILLING)
MANAGE = role(Capability.MANAGE_BILLING)
MAX_LIMIT = 1000


class StatusTotals(Schema):
    count: int
    difference: int = Field(description="sum of (actual − expected), yen")
    gap: int = Field(description="sum of |actual − expected|, yen")


class MonthOut(Schema):
    month: dt.date
    total: int
    open: int = Field(description="items that differ or are unmatched")
    statuses: dict[str, StatusTotals]


class TxnOut(Schema):
    kind: str
    external_id: str
    charge_id: str
    transfer_id: str
    amount: int
    fee: int
    occurred_at: dt.datetime
    scheduled_date: dt.date | None


class BookingOut(Schema):
    id: int
    external_id: str
    merchant_id: int
    merchant_name: str
    amount: int
    refunded_amount: int
    payment_id: str


class DepositOut(Schema):
    id: int
    date: dt.date
    amount: int
    description: str
    reference: str


class ItemOut(Schema):
    id: int
    kind: str
    month: dt.date
    status: str
    expected: int | None
    actual: int | None
    difference: int
    note: str
    transaction: TxnOut | None
    booking: BookingOut | None
    deposit: DepositOut | None
    resolution: str
    resolved_by: str | None
    resolved_at: dt.datetime | None


class ResolveIn(Schema):
    resolution: str = Field(description="why the item is resolved (required)")


class MatchIn(Schema):
    month: str | None = Field(None, description="YYYY-MM; every month with data when omitted")


class MatchOut(Schema):
    months: list[dt.date]
    items: int
    kept: int = Field(description="resolved items kept as they were")
    by_status: dict[str, int]


class ImportOut(Schema):
    id: int
    kind: str
    filename: str
    rows: int
    created: int
    updated: int
    unchanged: int
    created_at: dt.datetime


class RowErrorOut(Schema):
    row: int | None
    column: str
    reason: str


class ImportRefusedOut(Schema):
    error_count: int
    errors: list[RowErrorOut]


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _item(item: ReconciliationItem) -> dict[str, Any]:
    txn, booking, deposit = item.transaction, item.booking, item.deposit
    return {
        "id": item.pk,
        "kind": item.kind,
        "month": item.month,
        "status": item.status,
        "expected": item.expected,
        "actual": item.actual,
        "difference": item.difference,
        "note": item.note,
        "transaction": txn
        and {
            name: getattr(txn, name)
            for name in ("kind", "external_id", "charge_id", "transfer_id", "amount", "fee", "occurred_at")
        }
        | {"scheduled_date": txn.scheduled_date},
        "booking": booking
        and {
            "id": booking.pk,
            "external_id": booking.external_id,
            "merchant_id": booking.provider_id,
            "merchant_name": booking.provider.name,
            "amount": booking.amount,
            "refunded_amount": booking.refunded_amount,
            "payment_id": booking.payment_id,
        },
        "deposit": deposit
        and {name: getattr(deposit, name) for name in ("id", "date", "amount", "description", "reference")},
        "resolution": item.resolution,
        "resolved_by": str(item.resolved_by) if item.resolved_by_id else None,
        "resolved_at": item.resolved_at,
    }


def _import(record: ProcessorImport) -> dict[str, Any]:
    fields = ("id", "kind", "filename", "rows", "created", "updated", "unchanged", "created_at")
    return {name: getattr(record, name) for name in fields}


@router.get("/summary", response=list[MonthOut], auth=VIEW)
def summary(request: HttpRequest, months: int = 12) -> list[dict[str, Any]]:
    """Counts and differences per status for each month, newest first."""
    return reconcile.summary(months=max(1, min(months, 120)))


@router.get("/items", response=list[ItemOut], auth=VIEW)
def items(
    request: HttpRequest, status: str = "", kind: str = "", month: str = "", limit: int = 200, offset: int = 0
) -> list[dict[str, Any]]:
    """Items filtered by status (matched, mismatched, unmatched, resolved, or open), kind and month (YYYY-MM)."""
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, offset)
    rows = reconcile.items(status, kind, month_param(month))
    ids = list(rows.values_list("pk", flat=True)[offset : offset + limit])
    found = {row.pk: row for row in rows.order_by().filter(pk__in=ids)}
    return [_item(found[pk]) for pk in ids]


@router.get("/items/{int:item_id}", response=ItemOut, auth=VIEW)
def item(request: HttpRequest, item_id: int) -> dict[str, Any]:
    return _item(get_object_or_404(reconcile.items(), pk=item_id))


@router.post("/items/{int:item_id}/resolve", response={200: ItemOut, 422: ErrorOut}, auth=MANAGE)
def resolve(request: HttpRequest, item_id: int, payload: ResolveIn) -> Status[Any]:
    """Resolve with a reason (audited, with who and when)."""
    found = get_object_or_404(ReconciliationItem, pk=item_id)
    try:
        reconcile.resolve(found, payload.resolution, _actor(request), via="api")
    except ValidationError as error:
        return refused(validation_errors(error))
    return Status(200, _item(get_object_or_404(reconcile.items(), pk=item_id)))


class QueuedOut(Schema):
    queued: bool
    task_id: str


@router.post("/match", response={200: MatchOut, 202: QueuedOut, 422: ErrorOut}, auth=MANAGE)
def match(request: HttpRequest, payload: MatchIn) -> Status[Any]:
    """Match one month again (or all); resolved items are kept. More than 20,000 charges are matched by the
    worker (202): poll the summary."""
    month = month_param(payload.month) if payload.month else None
    if payload.month and month is None:
        return refused([("month", _("Give the month as YYYY-MM."))])
    if recon_tasks.needs_worker(month):
        queued = recon_tasks.match_task.enqueue(month.isoformat() if month else None)
        return Status(202, {"queued": True, "task_id": str(queued.id)})
    result = reconcile.match(month)
    return Status(
        200, {"months": result.months, "items": result.items, "kept": result.kept, "by_status": result.by_status}
    )


@router.get("/imports", response=list[ImportOut], auth=VIEW)
def imports(request: HttpRequest, limit: int = 50) -> list[dict[str, Any]]:
    return [_import(r) for r in ProcessorImport.objects.all()[: max(1, min(limit, MAX_LIMIT))]]


@router.post("/imports", response={201: ImportOut, 422: ImportRefusedOut}, auth=MANAGE)
def import_file(request: HttpRequest, kind: Form[str], file: File[UploadedFile]) -> Status[Any]:
    """Upload a file: kind "payjp" (dashboard CSV of charges or transfers, or API JSON) or "bank" (deposit CSV)."""
    try:
        record = import_upload(kind, file.read(), file.name or "", _actor(request))
    except ImportRefused as error:
        return Status(422, {"error_count": error.error_count, "errors": error.errors})
    return Status(201, _import(record))


@router.post("/imports/payjp-objects", response={201: ImportOut, 422: ImportRefusedOut}, auth=MANAGE)
def import_objects(request: HttpRequest, payload: Body[dict[str, Any]]) -> Status[Any]:
    """PAY.JP API objects as JSON: a list object (`{"object": "list", "data": [...]}`) or one charge/transfer."""
    try:
        record = reconcile.import_payjp_objects(payjp.objects_from_json(payload), actor=_actor(request), filename="api")
    except ImportRefused as error:
        return Status(422, {"error_count": error.error_count, "errors": error.errors})
    return Status(201, _import(record))
