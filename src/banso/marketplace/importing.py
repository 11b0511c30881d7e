"""Bookings arrive like every other record: through activity's import engine (CSV in cp932 or UTF-8 with BOM,
XLSX, JSON API batches), checked row by row, all or nothing, idempotent by (source, external_id).

The merchant (`provider`) and the member (`end_user`) are named by their external ids in the same source;
amounts follow the yen rules (commas, ¥ and 円 allowed, whole numbers); the tax rate is 8 or 10; times without
an offset are Tokyo time. Registered from MarketplaceConfig.ready()."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banso.activity.importing import Column, EntitySpec, register_spec

from .models import Booking, BookingStatus

ENTITY = "bookings"
MAX_GUESTS = 999


def _cross_checks(raw: pl.DataFrame, typed: pl.DataFrame, add_rows: Callable[..., None]) -> None:
    """Rules across columns, each reported on the column to fix."""
    status = typed.get_column("status")
    amount = typed.get_column("amount")
    cancelled = status == BookingStatus.CANCELLED.value
    add_rows(
        raw,
        cancelled & typed.get_column("cancelled_at").is_null(),
        "cancelled_at",
        lambda _v: _("A cancelled booking needs the time it was cancelled."),
    )
    fee = typed.get_column("cancellation_fee")
    add_rows(
        raw,
        fee.is_not_null() & amount.is_not_null() & (fee > amount),
        "cancellation_fee",
        lambda v: _("The cancellation fee %(value)s is more than the booking's amount.") % {"value": v},
    )
    refunded = typed.get_column("refunded_amount")
    add_rows(
        raw,
        refunded.is_not_null() & amount.is_not_null() & (refunded > amount),
        "refunded_amount",
        lambda v: _("The refund %(value)s is more than the booking's amount.") % {"value": v},
    )
    add_rows(
        raw,
        refunded.is_not_null() & (refunded > 0) & typed.get_column("refunded_at").is_null(),
        "refunded_at",
        lambda _v: _("A refund needs the time it was made."),
    )
    guests = typed.get_column("guests")
    add_rows(
        raw,
        guests.is_not_null() & ((guests < 1) | (guests > MAX_GUESTS)),
        "guests",
        lambda v: _("%(value)s guests: write a number from 1 to %(max)s.") % {"value": v, "max": MAX_GUESTS},
    )


def _describe(booking: Any) -> str:
    return f"{booking.plan} ({booking.external_id})"


BOOKING_SPEC = EntitySpec(
    ENTITY,
    Booking,
    (
        Column("external_id", "str", required=True, max_length=100),
        Column("provider", "ref", required=True, ref="account"),
        Column("end_user", "ref", ref="end_user"),
        Column("plan", "str", max_length=200),
        Column("category", "str", max_length=100),
        Column("area", "str", max_length=100),
        Column("booked_at", "datetime", required=True),
        Column("scheduled_at", "datetime", required=True),
        Column("guests", "int"),
        Column("amount", "int_yen", required=True),
        Column("tax_rate", "int", allowed=(8, 10)),
        Column("status", "choice", choices=BookingStatus),
        Column("cancelled_at", "datetime"),
        Column("cancellation_fee", "int_yen"),
        Column("refunded_amount", "int_yen"),
        Column("refunded_at", "datetime"),
        Column("payment_id", "str", max_length=100),
    ),
    checks=(_cross_checks,),
    account_attr="provider_id",
    describe=_describe,
)


def register() -> None:
    register_spec(BOOKING_SPEC, gettext_lazy("Bookings"))
