"""The bookings part of the marketplace API (mounted under /api/marketplace): the filtered list, one booking,
recording a refund. Amounts are integer yen; times are ISO 8601 (aware). Bad input answers 422 naming the field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused
from banso.core.models import User
from banso.core.permissions import Capability

from . import bookings
from .models import Booking

router = Router(tags=["marketplace"])
VIEW = role(Capability.VIEW_ACCOUNTS)
MANAGE = role(Capability.MANAGE_MARKETPLACE)
MAX_LIMIT = 500


class BookingOut(Schema):
    id: int
    source: str
    external_id: str
    provider_id: int
    provider_name: str
    member_id: int | None
    plan: str
    category: str
    area: str
    booked_at: dt.datetime
    scheduled_at: dt.datetime
    guests: int
    amount: int
    tax_rate: int
    status: str
    cancelled_at: dt.datetime | None
    cancellation_fee: int
    cancellation_reason: str
    cancelled_by_firing_id: int | None
    refund_due: bool
    refunded_amount: int
    refunded_at: dt.datetime | None


class BookingPageOut(Schema):
    count: int
    items: list[BookingOut]


class InquiryLinkOut(Schema):
    number: int
    subject: str
    url: str
    status: str


class IncidentLinkOut(Schema):
    number: str
    type: str
    severity: int
    status: str
    occurred_at: dt.datetime


class BookingDetailOut(BookingOut):
    incidents: list[IncidentLinkOut]
    inquiries: list[InquiryLinkOut]


class RefundIn(Schema):
    amount: int


def _out(b: Booking) -> dict[str, Any]:
    return {
        "id": b.pk,
        "source": b.source,
        "external_id": b.external_id,
        "provider_id": b.provider_id,
        "provider_name": b.provider.name,
        "member_id": b.end_user_id,
        "plan": b.plan,
        "category": b.category,
        "area": b.area,
        "booked_at": b.booked_at,
        "scheduled_at": b.scheduled_at,
        "guests": b.guests,
        "amount": b.amount,
        "tax_rate": b.tax_rate,
        "status": b.status,
        "cancelled_at": b.cancelled_at,
        "cancellation_fee": b.cancellation_fee,
        "cancellation_reason": b.cancellation_reason,
        "cancelled_by_firing_id": b.cancelled_by_id,
        "refund_due": b.refund_due,
        "refunded_amount": b.refunded_amount,
        "refunded_at": b.refunded_at,
    }


def _detail(pk: int) -> dict[str, Any]:
    detail = bookings.booking_detail(pk)
    return {
        **_out(detail.booking),
        "incidents": [
            {
                "number": i.number,
                "type": i.type,
                "severity": i.severity,
                "status": i.status,
                "occurred_at": i.occurred_at,
            }
            for i in detail.incidents
        ],
        "inquiries": [
            {"number": q.number, "subject": q.subject, "url": q.url, "status": q.status} for q in detail.inquiries
        ],
    }


@router.get("/bookings", response={200: BookingPageOut, 422: ErrorOut}, auth=VIEW)
def list_bookings(request: HttpRequest, offset: int = 0, limit: int = 100) -> Any:
    """Bookings, latest scheduled first, filtered by the query parameters provider, member (ids), status,
    category, area, from, to (YYYY-MM-DD, Tokyo days of the scheduled time, inclusive) and refund_due (1/0)."""
    if offset < 0:
        return refused([("offset", "0 or more")])
    if not 1 <= limit <= MAX_LIMIT:
        return refused([("limit", f"from 1 to {MAX_LIMIT}")])
    try:
        rows = bookings.filter_bookings(request.GET)
    except bookings.BookingError as error:
        return refused([(error.field, error.message)])
    page = list(bookings.with_relations(rows)[offset : offset + limit])
    return {"count": rows.count(), "items": [_out(b) for b in page]}


@router.get("/bookings/{int:booking_id}", response=BookingDetailOut, auth=VIEW)
def get_booking(request: HttpRequest, booking_id: int) -> dict[str, Any]:
    """One booking with the incidents recorded on it and the support inquiries about it."""
    get_object_or_404(Booking, pk=booking_id)
    return _detail(booking_id)


@router.post("/bookings/{int:booking_id}/refund", response={200: BookingDetailOut, 422: ErrorOut}, auth=MANAGE)
def refund_booking(request: HttpRequest, booking_id: int, payload: RefundIn) -> Any:
    """Record that `amount` yen were paid back: added to refunded_amount (never past the booking's amount),
    refunded_at stamped, refund_due cleared. Audited."""
    booking = get_object_or_404(Booking, pk=booking_id)
    actor = request.user if isinstance(request.user, User) else None
    try:
        bookings.record_refund(booking, payload.amount, actor=actor, via="api")
    except bookings.BookingError as error:
        return refused([(error.field, error.message)])
    return Status(200, _detail(booking_id))
