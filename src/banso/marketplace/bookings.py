"""Bookings as the marketplace team works them: finding them (the list's filters, shared by pages, API and CLI),
one booking with what happened to it (incidents, the rule firing that cancelled it, linked inquiries), and
recording that a refund was paid back to the customer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.core.choices import AuditAction
from banso.core.models import User
from banso.core.services import record_change

from . import gateway
from .models import Booking, BookingStatus, Incident

TOKYO = ZoneInfo("Asia/Tokyo")
FILTERS = ("provider", "status", "category", "area", "from", "to", "refund_due", "member")


class BookingError(Exception):
    """Refused input; `field` names what was wrong (API: 422 with it, forms: the field's error)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _int(params: Mapping[str, Any], name: str) -> int | None:
    raw = str(params.get(name) or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise BookingError(name, _("Write a whole number.")) from None


def _date(params: Mapping[str, Any], name: str) -> dt.date | None:
    raw = str(params.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BookingError(name, _("Write a date as YYYY-MM-DD.")) from None


def tokyo_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=TOKYO)


def filter_bookings(params: Mapping[str, Any]) -> QuerySet[Booking]:
    """Bookings matching the list's filters, soonest scheduled last (newest first). `provider` and `member`
    are ids; `from`/`to` are inclusive Tokyo days of the scheduled time; `refund_due` is "1"/"0"."""
    qs = Booking.objects.all()
    provider = _int(params, "provider")
    if provider is not None:
        qs = qs.filter(provider_id=provider)
    member = _int(params, "member")
    if member is not None:
        qs = qs.filter(end_user_id=member)
    status = str(params.get("status") or "").strip()
    if status:
        if status not in BookingStatus.values:
            raise BookingError("status", _("Unknown status: %(value)s.") % {"value": status})
        qs = qs.filter(status=status)
    for name in ("category", "area"):
        value = str(params.get(name) or "").strip()
        if value:
            qs = qs.filter(**{name: value})
    first, last = _date(params, "from"), _date(params, "to")
    if first and last and last < first:
        raise BookingError("to", _("The end date is before the start date."))
    if first:
        qs = qs.filter(scheduled_at__gte=tokyo_midnight(first))
    if last:
        qs = qs.filter(scheduled_at__lt=tokyo_midnight(last + dt.timedelta(days=1)))
    refund = str(params.get("refund_due") or "").strip().lower()
    if refund in ("1", "true", "yes", "on"):
        qs = qs.filter(refund_due=True)
    elif refund in ("0", "false", "no"):
        qs = qs.filter(refund_due=False)
    elif refund:
        raise BookingError("refund_due", _("Write 1 (refund due) or 0 (none due)."))
    return qs.order_by("-scheduled_at", "-id")


def with_relations(qs: QuerySet[Booking]) -> QuerySet[Booking]:
    return qs.select_related("provider", "end_user", "cancelled_by__rule")


@dataclass
class BookingDetail:
    booking: Booking
    incidents: list[Incident]
    inquiries: list[gateway.InquiryRef] = field(default_factory=list)


def booking_detail(pk: int) -> BookingDetail:
    """One booking with its incidents and the support inquiries linked to it (when support is installed)."""
    booking = with_relations(Booking.objects.filter(pk=pk)).get()
    incidents = list(booking.incidents.order_by("-occurred_at", "-id"))
    desk = gateway.inquiries()
    inquiries = desk.for_booking(booking.pk) if desk is not None else []
    return BookingDetail(booking, incidents, inquiries)


def _refund_state(booking: Booking) -> dict[str, Any]:
    return {
        "refunded_amount": booking.refunded_amount,
        "refunded_at": booking.refunded_at.isoformat() if booking.refunded_at else None,
        "refund_due": booking.refund_due,
    }


def record_refund(
    booking: Booking,
    amount: Any,
    *,
    actor: User | None,
    at: dt.datetime | None = None,
    via: str = "ui",
) -> Booking:
    """Payment operations paid `amount` yen back: add it to what was refunded, stamp the time, clear
    `refund_due`. The total refunded may not exceed what the customer paid. Audited."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        text = str(amount).strip().replace(",", "").replace("¥", "").replace("円", "")
        if not text.isdigit():
            raise BookingError("amount", _("Write the refunded amount in whole yen."))
        amount = int(text)
    if amount <= 0:
        raise BookingError("amount", _("The refunded amount must be more than 0 yen."))
    at = at or timezone.now()
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        if locked.refunded_amount + amount > locked.amount:
            raise BookingError(
                "amount",
                _("%(total)s yen refunded in all would be more than the booking's amount, %(amount)s yen.")
                % {"total": f"{locked.refunded_amount + amount:,}", "amount": f"{locked.amount:,}"},
            )
        before = _refund_state(locked)
        locked.refunded_amount += amount
        locked.refunded_at = at
        locked.refund_due = False
        locked.save(update_fields=["refunded_amount", "refunded_at", "refund_due"])
        record_change(
            actor=actor,
            obj=locked,
            action=AuditAction.UPDATE,
            before=before,
            after=_refund_state(locked),
            account_id=locked.provider_id,
            via=via,
        )
    return locked


def upcoming_q(now: dt.datetime) -> Q:
    return Q(status=BookingStatus.BOOKED, scheduled_at__gte=now)
