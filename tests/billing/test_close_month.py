"""The month close, checked against statements computed by hand (see the comments for each figure)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, transaction

from banso.billing import closing, commission, invoicing
from banso.billing.models import (
    Adjustment,
    AdjustmentKind,
    CloseStatus,
    DocumentSequence,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    LineKind,
    MonthClose,
    Statement,
    StatementLine,
)
from banso.core.models import RunStatus
from banso.marketplace.models import Booking, BookingStatus

from .factories_close import BookingFactory, ChargeFactory, MerchantFactory, RuleFactory, issuer, tokyo

OCTOBER = dt.date(2026, 10, 1)
ONSEN = "貸切露天風呂プラン"
STAY = "一泊二食プラン"


@pytest.fixture
def mall(db):
    """Merchant A (rates changing mid-month, a plan rule, cancellations, an in-month refund, two charges at
    10 % and 8 %), B (no commission: statement without invoice) and C (the default rule)."""
    issuer()
    a = MerchantFactory(name="旅館あおば")
    b = MerchantFactory(name="体験工房みどり")
    c = MerchantFactory(name="カフェさくら")
    RuleFactory(commission_rate=Decimal("10.00"), payment_fee_rate=Decimal("3.50"))  # default (no merchant)
    RuleFactory(
        merchant=a,
        commission_rate=Decimal("12.00"),
        payment_fee_rate=Decimal("3.60"),
        effective_from=dt.date(2026, 4, 1),
        effective_to=dt.date(2026, 10, 15),
    )
    RuleFactory(
        merchant=a,
        commission_rate=Decimal("8.00"),
        payment_fee_rate=Decimal("3.60"),
        effective_from=dt.date(2026, 10, 16),
    )
    RuleFactory(
        merchant=a,
        plan=ONSEN,
        commission_rate=Decimal("15.00"),
        payment_fee_rate=Decimal("3.00"),
        effective_from=dt.date(2026, 10, 1),
    )
    RuleFactory(merchant=b, commission_rate=Decimal("0"), payment_fee_rate=Decimal("0"))

    def book(merchant, when, amount, **kw):
        return BookingFactory(provider=merchant, scheduled_at=when, amount=amount, plan=kw.pop("plan", STAY), **kw)

    book(a, tokyo(2026, 10, 5), 33_000)  # 12 %: 3,960; fee 3.6 %: 1,188
    book(a, tokyo(2026, 10, 20), 22_000)  # 8 % (from the 16th): 1,760; fee 792
    book(a, tokyo(2026, 10, 10), 11_000, plan=ONSEN, status=BookingStatus.BOOKED)  # 15 %: 1,650; fee 3 %: 330
    book(a, tokyo(2026, 10, 12), 20_000, status=BookingStatus.CANCELLED, cancellation_fee=5_500)  # 660; fee 198
    book(a, tokyo(2026, 10, 25), 15_000, status=BookingStatus.CANCELLED)  # free: nothing
    book(
        a, tokyo(2026, 10, 8), 27_000, refunded_amount=27_000, refunded_at=tokyo(2026, 10, 9)
    )  # 3,240 − 3,240; fee 972
    book(a, tokyo(2026, 10, 31, 23, 30), 10_000)  # still October in Tokyo: 8 %: 800; fee 360
    book(a, tokyo(2026, 11, 1, 0, 30), 99_000)  # November in Tokyo (October in UTC): not on the statement
    book(a, tokyo(2026, 10, 3), 2_160, plan="地元弁当", tax_rate=8)  # 12 %: 259; fee 77 (rounded down)
    ChargeFactory(merchant=a, description="特集ページ広告", amount=30_000, tax_rate=10)
    ChargeFactory(merchant=a, description="キャンペーン用土産品", amount=5_000, tax_rate=8)
    book(b, tokyo(2026, 10, 15), 8_000)
    book(c, tokyo(2026, 10, 2), 12_345)  # default 10 %: 1,234; fee 3.5 %: 432
    return {"a": a, "b": b, "c": c}


def test_statement_of_a_merchant_matches_the_hand_computed_figures(mall):
    close = closing.close_month(OCTOBER)

    assert close.close_status == CloseStatus.CLOSED and close.status == RunStatus.SUCCEEDED
    a = Statement.objects.get(close=close, merchant=mall["a"])
    # Sales: 33,000 + 22,000 + 11,000 + 5,500 (cancellation fee) + 27,000 + 10,000 + 2,160.
    assert (a.sales, a.refunds, a.bookings, a.cancellations) == (110_660, 27_000, 6, 2)
    # Invoice: 10 %: commission 9,089 + fees 3,917 + ad 30,000 = 43,006, tax 4,300; 8 %: 5,000, tax 400.
    invoice = Invoice.objects.get(statement=a)
    assert (invoice.subtotal_10, invoice.tax_10, invoice.subtotal_8, invoice.tax_8) == (43_006, 4_300, 5_000, 400)
    assert invoice.total == 52_706 and invoice.kind == InvoiceKind.INVOICE
    # Commission 9,089 + 908 tax; fees: 13,006 + 1,300 − 9,997; charges the rest (33,000 + 5,400).
    assert (a.commission, a.payment_fees, a.charges) == (9_997, 4_309, 38_400)
    assert a.payout == 110_660 - 27_000 - 52_706 == 30_954
    lines = [(line.description, line.amount, line.tax_rate) for line in invoice.lines.order_by("position")]
    assert lines == [
        ("販売手数料（2026年10月分）", 9_089, 10),
        ("決済手数料（2026年10月分）", 3_917, 10),
        ("特集ページ広告", 30_000, 10),
        ("キャンペーン用土産品", 5_000, 8),
    ]


def test_statement_lines_carry_the_rate_in_force_on_each_booking_day(mall):
    close = closing.close_month(OCTOBER)
    a = Statement.objects.get(close=close, merchant=mall["a"])
    by_amount = {
        (line.kind, line.sales): (line.commission_rate, line.commission, line.payment_fee) for line in a.lines.all()
    }
    assert by_amount[(LineKind.SALE, 33_000)] == (Decimal("12.00"), 3_960, 1_188)
    assert by_amount[(LineKind.SALE, 22_000)] == (Decimal("8.00"), 1_760, 792)
    assert by_amount[(LineKind.SALE, 11_000)] == (Decimal("15.00"), 1_650, 330)
    assert by_amount[(LineKind.CANCELLATION, 5_500)] == (Decimal("12.00"), 660, 198)
    assert by_amount[(LineKind.CANCELLATION, 0)] == (Decimal("8.00"), 0, 0)
    assert by_amount[(LineKind.REFUND, -27_000)] == (Decimal("12.00"), -3_240, 0)
    assert by_amount[(LineKind.SALE, 10_000)] == (Decimal("8.00"), 800, 360)
    assert by_amount[(LineKind.SALE, 2_160)] == (Decimal("12.00"), 259, 77)
    assert not a.lines.filter(sales=99_000).exists()
    charges = sorted(a.lines.filter(kind=LineKind.CHARGE).values_list("net", flat=True))
    assert charges == [-30_000, -5_000]


def test_merchant_without_commission_gets_a_statement_but_no_invoice(mall):
    close = closing.close_month(OCTOBER)
    b = Statement.objects.get(close=close, merchant=mall["b"])
    assert (b.sales, b.commission, b.payment_fees, b.payout) == (8_000, 0, 0, 8_000)
    assert not Invoice.objects.filter(statement=b).exists()
    c = Statement.objects.get(close=close, merchant=mall["c"])
    # Default rule: 1,234 + 432 = 1,666, tax 166 → 1,832.
    assert Invoice.objects.get(statement=c).total == 1_832
    assert c.payout == 12_345 - 1_832


def test_statements_and_invoices_are_numbered_without_gaps(mall):
    close = closing.close_month(OCTOBER)
    numbers = sorted(Statement.objects.filter(close=close).values_list("number", flat=True))
    assert numbers == ["ST-202610-000001", "ST-202610-000002", "ST-202610-000003"]
    sequences = sorted(Invoice.objects.filter(close=close).values_list("sequence", flat=True))
    assert sequences == [1, 2]
    assert close.merchants == 3 and close.bookings == 10


def test_preview_shows_exactly_what_the_close_writes(mall):
    preview = {row["merchant_id"]: row for row in closing.preview(OCTOBER)}
    assert not Statement.objects.exists() and not MonthClose.objects.exists()
    close = closing.close_month(OCTOBER)
    written = {}
    for s in Statement.objects.filter(close=close):
        invoice = Invoice.objects.filter(statement=s).first()
        written[s.merchant_id] = {
            "merchant_id": s.merchant_id,
            "bookings": s.bookings,
            "cancellations": s.cancellations,
            "sales": s.sales,
            "refunds": s.refunds,
            "commission": s.commission,
            "payment_fees": s.payment_fees,
            "charges": s.charges,
            "adjustments": s.adjustments,
            "invoice_total": invoice.total if invoice else 0,
            "payout": s.payout,
        }
    assert {k: {f: row[f] for f in written[k]} for k, row in preview.items()} == written
    assert preview[mall["a"].pk]["sales_8"] == 2_160 and preview[mall["a"].pk]["sales_10"] == 108_500


def test_a_closed_month_cannot_be_closed_again(mall):
    closing.close_month(OCTOBER)
    with pytest.raises(closing.CloseError, match="2026-10"):
        closing.close_month(OCTOBER)
    assert MonthClose.objects.filter(as_of=OCTOBER, close_status=CloseStatus.CLOSED).count() == 1
    assert MonthClose.objects.filter(as_of=OCTOBER, status=RunStatus.FAILED).count() == 1


def test_a_month_that_has_not_ended_cannot_be_closed(db):
    with pytest.raises(closing.CloseError, match="2026-12"):
        closing.check_can_close(dt.date(2026, 12, 1), today=dt.date(2026, 12, 31))
    closing.check_can_close(dt.date(2026, 12, 1), today=dt.date(2027, 1, 1))


def test_months_are_closed_in_order(mall):
    BookingFactory(provider=mall["a"], scheduled_at=tokyo(2026, 9, 30), amount=1_000)
    with pytest.raises(closing.CloseError, match="2026-09"):
        closing.close_month(OCTOBER)
    assert not Statement.objects.exists()


def test_a_failure_leaves_nothing_half_written(mall, monkeypatch):
    DocumentSequence.objects.all().delete()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(invoicing, "issue_invoices", broken)
    with pytest.raises(RuntimeError):
        closing.close_month(OCTOBER)
    assert not Statement.objects.exists() and not StatementLine.objects.exists() and not Invoice.objects.exists()
    assert not DocumentSequence.objects.filter(next_value__gt=1).exists()
    run = MonthClose.objects.get()
    assert run.status == RunStatus.FAILED and run.close_status == CloseStatus.OPEN and "disk full" in run.error


def test_an_issuer_without_registration_number_refuses_the_whole_close(mall):
    issuer(registration_number="")
    with pytest.raises(invoicing.IssueError):
        closing.close_month(OCTOBER)
    assert not Statement.objects.exists() and not StatementLine.objects.exists()
    issuer()
    assert closing.close_month(OCTOBER).close_status == CloseStatus.CLOSED


@pytest.mark.parametrize(
    "change",
    [
        lambda close: Statement.objects.filter(close=close).update(payout=0),
        lambda close: Statement.objects.filter(close=close)._raw_delete("default"),
        lambda close: StatementLine.objects.filter(statement__close=close).update(net=1),
        lambda close: StatementLine.objects.filter(statement__close=close).delete(),
        lambda close: Invoice.objects.filter(close=close).update(total=1),
        lambda close: InvoiceLine.objects.filter(invoice__close=close).update(amount=1),
        lambda close: InvoiceLine.objects.filter(invoice__close=close).delete(),
        lambda close: MonthClose.objects.filter(pk=close.pk).update(close_status=CloseStatus.OPEN),
        lambda close: MonthClose.objects.filter(pk=close.pk)._raw_delete("default"),
    ],
)
def test_a_closed_month_is_immutable_in_the_database(mall, change):
    close = closing.close_month(OCTOBER)
    with pytest.raises(DatabaseError, match="closed month"), transaction.atomic():
        change(close)


def test_a_closed_statement_refuses_save_but_accepts_its_pdf_path(mall):
    close = closing.close_month(OCTOBER)
    statement = Statement.objects.filter(close=close).first()
    statement.payout += 1
    with pytest.raises(IntegrityError), transaction.atomic():
        statement.save()
    Statement.objects.filter(pk=statement.pk).update(pdf_path="statements/x.pdf")
    assert Statement.objects.get(pk=statement.pk).pdf_path == "statements/x.pdf"


# Refunds after the close ---------------------------------------------------------------------------------

AUGUST, SEPTEMBER = dt.date(2026, 8, 1), dt.date(2026, 9, 1)


@pytest.fixture
def august_closed(db):
    issuer()
    merchant = MerchantFactory(name="旅館あおば")
    RuleFactory()  # 10 %, fee 3.5 %
    booking = BookingFactory(provider=merchant, scheduled_at=tokyo(2026, 8, 20), amount=44_000)
    BookingFactory(provider=merchant, scheduled_at=tokyo(2026, 9, 10), amount=22_000)
    close = closing.close_month(AUGUST)
    # August: commission 4,400 + fee 1,540 = 5,940, tax 594 → 6,534.
    assert Invoice.objects.get(close=close).total == 6_534
    return merchant, booking, close


def test_a_refund_of_a_closed_month_is_an_adjustment_and_a_credit_note_of_the_next_close(august_closed):
    _merchant, booking, august = august_closed
    Booking.objects.filter(pk=booking.pk).update(refunded_amount=44_000, refunded_at=tokyo(2026, 9, 3))

    september = closing.close_month(SEPTEMBER)

    adjustment = Adjustment.objects.get(booking=booking)
    assert (adjustment.kind, adjustment.month, adjustment.original_month) == (AdjustmentKind.REFUND, SEPTEMBER, AUGUST)
    # Commission given back: 4,400 + 440 tax = 4,840 on the credit note; payout −44,000 + 4,840.
    assert (adjustment.commission_amount, adjustment.payout_amount) == (-4_400, -39_160)
    note = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert note.original == Invoice.objects.get(close=august, kind=InvoiceKind.INVOICE)
    assert (note.subtotal_10, note.tax_10, note.total, note.close) == (4_400, 440, 4_840, september)
    line = note.lines.get()
    assert (line.date, line.original_date) == (dt.date(2026, 9, 3), dt.date(2026, 8, 20))
    statement = Statement.objects.get(close=september)
    # September: 22,000 sales; invoice 2,200 + 770 = 2,970 + 297 tax = 3,267; adjustment −39,160.
    assert (statement.sales, statement.adjustments) == (22_000, -39_160)
    assert statement.payout == 22_000 - 3_267 - 39_160 == -20_427
    # The August statement did not change.
    assert Statement.objects.get(close=august).payout == 44_000 - 6_534


def test_a_late_refund_is_adjusted_once_never_twice(august_closed):
    merchant, booking, _ = august_closed
    Booking.objects.filter(pk=booking.pk).update(refunded_amount=44_000, refunded_at=tokyo(2026, 9, 3))
    closing.close_month(SEPTEMBER)
    BookingFactory(provider=merchant, scheduled_at=tokyo(2026, 10, 10), amount=5_000)

    preview = closing.preview(OCTOBER)
    october = closing.close_month(OCTOBER)

    assert preview[0]["adjustments"] == 0
    assert Adjustment.objects.filter(booking=booking).count() == 1
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 1
    assert Statement.objects.get(close=october).adjustments == 0
    with pytest.raises(IntegrityError), transaction.atomic():
        Adjustment.objects.create(
            merchant=merchant, month=SEPTEMBER, kind=AdjustmentKind.REFUND, booking=booking, description="x", reason="x"
        )


def test_a_refund_raised_later_adjusts_only_the_difference_and_a_cancellation_is_not_refunded_again(august_closed):
    merchant, booking, _ = august_closed
    cancelled = BookingFactory(
        provider=merchant,
        scheduled_at=tokyo(2026, 9, 12),
        amount=10_000,
        status=BookingStatus.CANCELLED,
        cancellation_fee=2_000,
    )
    Booking.objects.filter(pk=booking.pk).update(refunded_amount=11_000, refunded_at=tokyo(2026, 9, 3))
    closing.close_month(SEPTEMBER)
    Booking.objects.filter(pk=booking.pk).update(refunded_amount=44_000, refunded_at=tokyo(2026, 10, 2))
    Booking.objects.filter(pk=cancelled.pk).update(refunded_amount=8_000, refunded_at=tokyo(2026, 10, 3))

    closing.close_month(OCTOBER)

    refunds = list(
        Adjustment.objects.filter(booking=booking).order_by("month").values_list("month", "commission_amount")
    )
    # 11,000 then the remaining 33,000: 1,100 and 3,300 of the 4,400 commission given back.
    assert refunds == [(SEPTEMBER, -1_100), (OCTOBER, -3_300)]
    assert not Adjustment.objects.filter(booking=cancelled).exists()


def test_rates_fall_back_to_the_billing_settings_without_rules(db):
    issuer(default_commission_rate=Decimal("7.50"), default_payment_fee_rate=Decimal("3.25"))
    assert commission.rates_for(None, "", dt.date(2026, 10, 1)) == (Decimal("7.5"), Decimal("3.25"))


def test_documents_that_failed_are_written_by_the_retry_and_the_close_stays_closed(mall, monkeypatch):
    from banso.billing import documents

    real = documents.write_documents

    def failing(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(documents, "write_documents", failing)
    with pytest.raises(OSError):
        closing.close_month(OCTOBER)
    run = MonthClose.objects.get(as_of=OCTOBER)
    assert run.close_status == CloseStatus.CLOSED and run.status == RunStatus.FAILED
    assert not Statement.objects.exclude(pdf_path="").exists()

    monkeypatch.setattr(documents, "write_documents", real)
    run = closing.retry_documents(run)

    assert run.status == RunStatus.SUCCEEDED and run.documents == 5  # 3 statements, 2 invoices
    assert not Statement.objects.filter(pdf_path="").exists() and not Invoice.objects.filter(pdf_path="").exists()
    assert closing.retry_documents(run).documents == 5  # nothing missing: nothing written twice
