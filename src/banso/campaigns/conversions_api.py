"""The conversions part of the campaigns API (mounted under /api/campaigns/conversions): the results list with its
totals, batch upserts of ASP results (the import engine's rules and per-row errors), the monthly reconciliation
per offer, the cashback owed per user and marking it paid. Yen are integers; rates are fractions (0.85 = 85 %),
null when there is nothing to divide by. Bad input answers 422 naming the field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from banso.activity.importing import ImportRefused, import_records
from banso.activity.services import record_api_batch
from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused
from banso.core.models import User
from banso.core.permissions import Capability

from . import conversions, reconcile
from .conversions_import import ENTITY
from .models import ConversionStatus

router = Router(tags=["campaigns"])
VIEW = role(Capability.VIEW_ACCOUNTS)
WORK = role(Capability.WORK_CAMPAIGNS)
MAX_LIMIT = 1000


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


class ConversionOut(Schema):
    id: int
    asp: str
    asp_conversion_id: str
    offer: int
    user: str | None
    click_id: str
    occurred_at: dt.datetime
    decided_at: dt.datetime | None
    status: str
    order_amount: int
    reward: int
    cashback: int
    cashback_paid_at: dt.datetime | None


class TotalsOut(Schema):
    count: int
    pending: int
    approved: int
    rejected: int
    order_amount: int
    reward: int
    cashback: int


class ConversionListOut(Schema):
    totals: TotalsOut
    items: list[ConversionOut]


class ListQuery(Schema):
    offer: int | None = None
    asp: str = ""
    status: str = ""
    month: str = Field("", description="YYYY-MM, Tokyo")
    user: str = Field("", description="the end user's external id")
    limit: int = 100
    offset: int = 0


def _month_or_error(text: str, name: str = "month") -> tuple[dt.date | None, list[tuple[str, str]]]:
    if not text:
        return None, []
    month = conversions.parse_month(text)
    if month is None:
        return None, [(name, f"not a month (YYYY-MM): {text!r}")]
    return month, []


@router.get("", response={200: ConversionListOut, 422: ErrorOut}, auth=VIEW)
def list_conversions(request: HttpRequest, q: Query[ListQuery]) -> Status[dict[str, Any]]:
    """Results, newest first, filtered like the list page, with the totals of every match."""
    month, errors = _month_or_error(q.month)
    if q.status and q.status not in ConversionStatus.values:
        errors.append(("status", f"one of: {', '.join(ConversionStatus.values)}"))
    if not 1 <= q.limit <= MAX_LIMIT:
        errors.append(("limit", f"from 1 to {MAX_LIMIT}"))
    if q.offset < 0:
        errors.append(("offset", "0 or more"))
    if errors:
        return refused(errors)
    qs = conversions.filter_conversions(
        conversions.ConversionFilter(offer=q.offer, asp=q.asp, status=q.status, month=month, user=q.user)
    )
    rows = qs.select_related("asp", "end_user").order_by("-occurred_at", "-id")[q.offset : q.offset + q.limit]
    items = [
        {
            "id": c.pk,
            "asp": c.asp.code,
            "asp_conversion_id": c.asp_conversion_id,
            "offer": c.offer_id,
            "user": c.end_user.external_id if c.end_user else None,
            "click_id": c.click_id,
            "occurred_at": c.occurred_at,
            "decided_at": c.decided_at,
            "status": c.status,
            "order_amount": c.order_amount,
            "reward": c.reward,
            "cashback": c.cashback,
            "cashback_paid_at": c.cashback_paid_at,
        }
        for c in rows
    ]
    return Status(200, {"totals": conversions.totals(qs), "items": items})


class BatchIn(Schema):
    source: str = Field(
        "", description="the ASP's code (names the ASP of records without an asp field), or the users' source"
    )
    records: list[dict[str, Any]]


class RowErrorOut(Schema):
    row: int | None
    column: str
    reason: str


class BatchOut(Schema):
    job: int
    total_rows: int
    created: int
    updated: int
    unchanged: int


class BatchRefusedOut(Schema):
    job: int
    error_count: int
    errors: list[RowErrorOut]


@router.post("/batch", response={200: BatchOut, 422: BatchRefusedOut}, auth=WORK)
def upsert_batch(request: HttpRequest, batch: BatchIn) -> Status[dict[str, Any]]:
    """Create or update results by (ASP, result id), all or none: the standard columns as fields (asp,
    asp_conversion_id, asp_offer_id, click_id, user, occurred_at, decided_at, status, order_amount, reward).
    Refused batches list (row = position in records from 1, column, reason) and are kept in the import
    history like a file."""
    source = batch.source or "api"
    try:
        result = import_records(ENTITY, source, batch.records, actor=_user(request))
    except ImportRefused as refusal:
        job = record_api_batch(ENTITY, source, _user(request), None, refusal)
        return Status(422, {"job": job.pk, "error_count": refusal.error_count, "errors": job.errors})
    job = record_api_batch(ENTITY, source, _user(request), result, None)
    return Status(
        200,
        {
            "job": job.pk,
            "total_rows": result.total_rows,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
        },
    )


class OfferMonthOut(Schema):
    offer: int
    offer_name: str
    asp: str
    asp_offer_id: str
    month: str
    clicks: int
    visits: int
    visitors: int
    conversions: int
    pending: int
    approved: int
    rejected: int
    approval_rate: float | None = Field(description="approved / (approved + rejected)")
    cvr: float | None = Field(description="results / clicks")
    reward_pending: int
    reward_approved: int
    reward_rejected: int
    order_amount: int
    cashback_approved: int
    cashback_owed: int
    unmatched: int
    expired_clicks: int


class ReconcileOut(Schema):
    month: str
    click_window_days: int
    offers: list[OfferMonthOut]


@router.get("/reconcile", response={200: ReconcileOut, 422: ErrorOut}, auth=VIEW)
def reconcile_month(request: HttpRequest, month: str = "") -> Status[dict[str, Any]]:
    """Per offer, the month's figures (this month, Tokyo, when `month` is not given)."""
    parsed, errors = _month_or_error(month)
    if errors:
        return refused(errors)
    first = parsed or conversions.this_month()
    rows = reconcile.reconcile_month(first)
    return Status(
        200,
        {
            "month": first.strftime("%Y-%m"),
            "click_window_days": reconcile.CLICK_WINDOW_DAYS,
            "offers": [r.as_dict() for r in rows],
        },
    )


class UserOwedOut(Schema):
    end_user_id: int | None
    user: str
    name: str
    email: str
    results: int
    owed: int


@router.get("/cashback", response={200: list[UserOwedOut], 422: ErrorOut}, auth=VIEW)
def cashback_owed(request: HttpRequest, month: str = "", offer: int | None = None) -> Status[list[dict[str, Any]]]:
    """Cashback of approved results not yet paid, per user (largest first; results without a user last)."""
    parsed, errors = _month_or_error(month)
    if errors:
        return refused(errors)  # type: ignore[return-value]
    owed = reconcile.cashback_owed(month=parsed, offer=offer)
    return Status(
        200,
        [
            {
                "end_user_id": u.end_user_id,
                "user": u.external_id,
                "name": u.name,
                "email": u.email,
                "results": u.results,
                "owed": u.owed,
            }
            for u in owed
        ],
    )


class PaidIn(Schema):
    conversions: list[int] = Field(description="result ids; those not approved or already paid are skipped")


class PaidOut(Schema):
    marked: int


@router.post("/cashback/paid", response={200: PaidOut, 422: ErrorOut}, auth=WORK)
def cashback_paid(request: HttpRequest, body: PaidIn) -> Status[dict[str, Any]]:
    if not body.conversions:
        return refused([("conversions", "give at least one result id")])
    return Status(200, {"marked": conversions.mark_cashback_paid(body.conversions, actor=_user(request))})
