"""Bookings paid through PAY.JP, and PAY.JP objects and bank statements as the reconciliation reads them."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

import factory

from banso.accounts.choices import AccountKind
from banso.marketplace.models import Booking
from tests.accounts.factories import AccountFactory

TOKYO = ZoneInfo("Asia/Tokyo")


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=TOKYO)


class MerchantFactory(AccountFactory):
    kind = AccountKind.MERCHANT
    external_id = factory.Sequence(lambda n: f"mer-{n}")
    name = factory.Sequence(lambda n: f"宿{n}")


class PaidBookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Booking

    provider = factory.SubFactory(MerchantFactory)
    source = "test"
    external_id = factory.Sequence(lambda n: f"bk-{n}")
    plan = "一泊二食"
    booked_at = factory.LazyFunction(lambda: at("2026-10-05"))
    scheduled_at = factory.LazyFunction(lambda: at("2026-10-20"))
    amount = 20_000
    payment_id = factory.Sequence(lambda n: f"ch_test{n:08d}")


def charge(
    booking: Booking | None = None,
    *,
    id: str | None = None,
    amount: int | None = None,
    refunded: int = 0,
    fee_rate: str = "3.60",
    created: dt.datetime | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A PAY.JP charge object (https://pay.jp/docs/api/#charge-object) for `booking`."""
    moment = created or (booking.booked_at if booking else at("2026-10-05"))
    return {
        "object": "charge",
        "id": id or (booking.payment_id if booking else "ch_orphan"),
        "amount": amount if amount is not None else (booking.amount if booking else 1000),
        "amount_refunded": refunded,
        "refunded": refunded > 0,
        "captured": True,
        "paid": True,
        "created": int(moment.timestamp()),
        "currency": "jpy",
        "fee_rate": fee_rate,
        "metadata": {},
        **extra,
    }


def transfer(id: str, amount: int, scheduled: str, charges: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "object": "transfer",
        "id": id,
        "amount": amount,
        "currency": "jpy",
        "scheduled_date": scheduled,
        "status": "paid",
        "summary": {
            "charge_count": len(charges or []),
            "charge_fee": 0,
            "charge_gross": 0,
            "net": amount,
            "refund_amount": 0,
            "refund_count": 0,
            "dispute_amount": 0,
            "dispute_count": 0,
        },
        "charges": charges or [],
        **extra,
    }


def listing(*objects: dict[str, Any]) -> dict[str, Any]:
    return {"object": "list", "data": list(objects), "has_more": False, "count": len(objects)}


def bank_csv(rows: list[tuple[str, str, str, str, str]], encoding: str = "cp932") -> bytes:
    """A bank statement: (日付, 摘要, お預り金額, お引出金額, 残高) rows, as internet banking downloads it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["日付", "摘要", "お預り金額", "お引出金額", "残高"])
    writer.writerows(rows)
    return out.getvalue().encode(encoding)
