"""Invoicing, documents and portal test data: a valid issuer, a closed month with one merchant's statement
(lines at 10 % and 8 %) and its invoice issued through billing.invoicing."""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from banso.billing.invoicing import InvoiceSpec, LineSpec, issue_invoices
from banso.billing.models import (
    BillingSettings,
    CloseStatus,
    Invoice,
    LineKind,
    MonthClose,
    Statement,
    StatementLine,
)
from banso.core.models import RunStatus

from .factories_report import BookingFactory, MerchantFactory

__all__ = ["MerchantFactory", "closed_month", "issuer", "merchant_documents"]

OCTOBER = dt.date(2026, 10, 1)


def issuer(**changes: object) -> BillingSettings:
    """The operator as a valid qualified-invoice issuer (the National Tax Agency's own registration number)."""
    billing = BillingSettings.current()
    billing.issuer_name = "株式会社バンソウ観光"
    billing.registration_number = "T7000012050002"
    billing.address = "東京都千代田区霞が関3-1-1"
    for name, value in changes.items():
        setattr(billing, name, value)
    billing.save()
    return billing


def closed_month(month: dt.date = OCTOBER) -> MonthClose:
    return MonthClose.objects.create(
        as_of=month, status=RunStatus.SUCCEEDED, close_status=CloseStatus.CLOSED, closed_at=timezone.now()
    )


_numbers = iter(range(1, 1_000_000))


def merchant_documents(merchant=None, close: MonthClose | None = None) -> tuple[Statement, Invoice]:
    """A merchant's October statement (two bookings at 10 %, one at the reduced 8 %) and its invoice for the
    commission and payment fees, as the month close would write them."""
    merchant = merchant or MerchantFactory()
    close = close or closed_month()
    month = close.as_of
    bookings = [
        BookingFactory(provider=merchant, amount=11_000, tax_rate=10, plan="紅葉の夕食付きプラン"),
        BookingFactory(provider=merchant, amount=22_000, tax_rate=10, plan="露天風呂付き客室"),
        BookingFactory(provider=merchant, amount=5_400, tax_rate=8, plan="地元のお土産セット"),
    ]
    with transaction.atomic():
        statement = Statement.objects.create(
            close=close,
            merchant=merchant,
            month=month,
            number=f"ST-{month:%Y%m}-{next(_numbers):06d}",
            merchant_name=merchant.name,
            bookings=3,
            sales=38_400,
            commission=4_224,
            payment_fees=1_520,
            payout=32_656,
        )
        StatementLine.objects.bulk_create(
            StatementLine(
                statement=statement,
                kind=LineKind.SALE,
                booking=booking,
                date=month + dt.timedelta(days=4 + i),
                description=f"{booking.plan}（予約 {booking.pk}）",
                sales=booking.amount,
                commission_rate=Decimal("10.00"),
                commission=booking.amount // 10,
                payment_fee=booking.amount * 36 // 1000,
                net=booking.amount - booking.amount // 10 - booking.amount * 36 // 1000,
            )
            for i, booking in enumerate(bookings)
        )
        end = dt.date(month.year, month.month, 31) if month.month in (1, 3, 5, 7, 8, 10, 12) else month
        (invoice,) = issue_invoices(
            [
                InvoiceSpec(
                    merchant_id=merchant.pk,
                    recipient_name=merchant.name,
                    period_start=month,
                    period_end=end,
                    statement_id=statement.pk,
                    lines=[
                        LineSpec("販売手数料（2026年10月分）", 3_840, 10, end),
                        LineSpec("決済手数料（2026年10月分）", 1_382, 10, end),
                        LineSpec("ご当地グルメ特集の試食品", 1_000, 8, end),
                    ],
                )
            ],
            issue_date=end + dt.timedelta(days=1),
            close=close,
        )
    return statement, invoice
