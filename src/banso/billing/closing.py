"""The month close: every merchant's statement (精算書) and qualified invoice (適格請求書) for a month, credit
notes (適格返還請求書) for refunds of months already closed, and the documents' PDFs afterwards.

How the numbers are made (docs/BILLING.md says the same for users):

- A booking belongs to the month of its `scheduled_at` in Asia/Tokyo. Booked, completed and no-show bookings
  are sales of their amount (tax included, as the customer paid); a cancelled booking is a cancellation line
  whose sale is its cancellation fee (0 for a free cancellation; what else the customer got back is implied,
  so its `refunded_amount` is not counted again).
- A refund of a booking of this month made before the month ended (or before it started) is a refund line
  of this month. A refund made later, of a month already closed, becomes an Adjustment of the month it was
  made in (payout −refund + the commission given back with its tax) and a credit note for that commission,
  linked to the original invoice: closed months are never touched. Only what was not refunded before is
  adjusted (a refund raised again later adjusts the difference), never more than the sale, and the
  commission given back never exceeds what was charged. A booking cancelled in its closed month had the fee
  as its sale, so a later refund of the rest changes nothing.
- Commission and payment fee are computed per line in integers and rounded down to the yen:
  `sales × basis // 10000`, basis being the rate in hundredths of a percent (10.50 % → 1050). A refund line
  gives back `refund × basis // 10000` of commission; payment fees are not given back (the processor keeps
  its fee on a refunded charge). The payment fee is charged on what the customer was charged (the amount, or
  the cancellation fee).
- The invoice bills the month's commission and payment fees at 10 % and each MerchantCharge at its own rate
  (8 % for reduced-rate items); tax is computed by `tax.totals_per_rate`, once per rate. A merchant with
  nothing to bill gets a statement but no invoice.
- Payout = sales − refunds − invoice total (tax included) + adjustments; negative = to bill the merchant.

Everything the close writes is written in ONE transaction (a failure leaves nothing but the failed
MonthClose row with its error). Statement and invoice rows of a closed month are immutable, enforced by
database triggers (see `immutability`); only their `pdf_path` may be filled in later.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from banso.accounts.models import Account
from banso.core import arrowdb
from banso.core.calendar import month_start
from banso.core.choices import AuditAction
from banso.core.models import RunStatus, User
from banso.core.services import record_change
from banso.marketplace.models import Booking, BookingStatus

from . import commission, invoicing
from .models import (
    Adjustment,
    AdjustmentKind,
    CloseStatus,
    Invoice,
    InvoiceKind,
    LineKind,
    MerchantCharge,
    MonthClose,
    Statement,
    StatementLine,
)
from .tax import STANDARD_RATE, totals_per_rate

log = logging.getLogger(__name__)

STATEMENT_PREFIX = "ST"
LINE_COLUMNS = (
    "statement_id",
    "kind",
    "booking_id",
    "date",
    "description",
    "sales",
    "commission_rate",
    "commission",
    "payment_fee",
    "net",
)


class CloseError(ValueError):
    """A close the rules refuse (already closed, not ended, an earlier month open); the message says why."""


# Months ------------------------------------------------------------------------------------------------


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the month in Asia/Tokyo as aware datetimes."""
    first = month_start(month)
    tz = timezone.get_default_timezone()
    start = dt.datetime.combine(first, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(month_start(first, 1), dt.time.min, tzinfo=tz)
    return start, end


def month_label(month: dt.date) -> str:
    """2026年10月分: how documents name the month they bill."""
    return f"{month.year}年{month.month}月分"


def closed_close(month: dt.date) -> MonthClose | None:
    return MonthClose.objects.filter(as_of=month_start(month), close_status=CloseStatus.CLOSED).first()


def check_can_close(month: dt.date, *, today: dt.date | None = None) -> None:
    """Refuse (CloseError) a month already closed, not yet ended, or with an earlier month of bookings open."""
    month = month_start(month)
    today = today or timezone.localdate()
    if closed_close(month) is not None:
        raise CloseError(_("%(month)s is already closed: a closed month never changes.") % {"month": f"{month:%Y-%m}"})
    if month_start(month, 1) > today:
        raise CloseError(
            _("%(month)s has not ended yet: it can be closed from %(day)s on.")
            % {"month": f"{month:%Y-%m}", "day": month_start(month, 1).isoformat()}
        )
    last = MonthClose.objects.filter(close_status=CloseStatus.CLOSED, as_of__lt=month).aggregate(m=Max("as_of"))["m"]
    start, _end = month_bounds(month)
    earlier = Booking.objects.filter(scheduled_at__lt=start)
    if last is not None:
        earlier = earlier.filter(scheduled_at__gte=month_bounds(last)[1])
    first = earlier.order_by("scheduled_at").values_list("scheduled_at", flat=True).first()
    if first is not None:
        open_month = month_start(timezone.localtime(first).date())
        raise CloseError(
            _("Close %(open)s first: it has bookings and is not closed (months are closed in order).")
            % {"open": f"{open_month:%Y-%m}"}
        )


# Computing -----------------------------------------------------------------------------------------------


@dataclass
class LateRefund:
    """A refund, made this month, of a booking of a month already closed."""

    booking_id: int
    merchant_id: int
    day: dt.date
    original_day: dt.date
    original_month: dt.date
    refund: int
    commission_back: int
    commission_rate: Any
    original_invoice_id: int | None
    plan: str

    @property
    def credit_total(self) -> int:
        """The credit note's total (commission given back with its tax, rounded once by `tax`)."""
        if not self.commission_back:
            return 0
        return sum(t.total for t in totals_per_rate([(self.commission_back, STANDARD_RATE)]).values())

    @property
    def payout_change(self) -> int:
        return -self.refund + self.credit_total


@dataclass
class MerchantMonth:
    """One merchant's statement totals, exactly as the close writes them."""

    merchant_id: int
    name: str = ""
    bookings: int = 0
    cancellations: int = 0
    sales: int = 0
    sales_10: int = 0
    sales_8: int = 0
    refunds: int = 0
    commission_ex: int = 0
    fees_ex: int = 0
    charges: list[tuple[str, int, int]] = field(default_factory=list)  # description, amount (tax excl.), rate
    adjustments: int = 0
    commission: int = 0  # tax included, as on the statement
    payment_fees: int = 0
    charges_total: int = 0
    invoice_total: int = 0
    payout: int = 0

    def invoice_lines(self, month: dt.date) -> list[invoicing.LineSpec]:
        end = month_start(month, 1) - dt.timedelta(days=1)
        lines = []
        if self.commission_ex:
            lines.append(
                invoicing.LineSpec(f"販売手数料（{month_label(month)}）", self.commission_ex, STANDARD_RATE, end)
            )
        if self.fees_ex:
            lines.append(invoicing.LineSpec(f"決済手数料（{month_label(month)}）", self.fees_ex, STANDARD_RATE, end))
        for description, amount, rate in self.charges:
            if amount:
                lines.append(invoicing.LineSpec(description, amount, rate, end))
        return lines

    def finish(self, month: dt.date) -> None:
        """Invoice and payout totals from the parts (tax once per rate, by `tax.totals_per_rate`)."""
        lines = self.invoice_lines(month)
        totals = totals_per_rate((line.amount, line.tax_rate) for line in lines)
        self.invoice_total = sum(t.total for t in totals.values())

        def incl(amount: int) -> int:
            return sum(t.total for t in totals_per_rate([(amount, STANDARD_RATE)]).values()) if amount else 0

        # The invoice total split without a second rounding: the parts add up to it exactly.
        self.commission = incl(self.commission_ex)
        self.payment_fees = incl(self.commission_ex + self.fees_ex) - self.commission
        self.charges_total = self.invoice_total - self.commission - self.payment_fees
        self.payout = self.sales - self.refunds - self.invoice_total + self.adjustments

    def totals(self) -> dict[str, int]:
        return {
            "merchant_id": self.merchant_id,
            "bookings": self.bookings,
            "cancellations": self.cancellations,
            "sales": self.sales,
            "refunds": self.refunds,
            "commission": self.commission,
            "payment_fees": self.payment_fees,
            "charges": self.charges_total,
            "adjustments": self.adjustments,
            "invoice_total": self.invoice_total,
            "payout": self.payout,
        }


@dataclass
class Computation:
    month: dt.date
    merchants: dict[int, MerchantMonth]
    lines: pl.DataFrame  # merchant_id + LINE_COLUMNS except statement_id
    late_refunds: list[LateRefund]
    bookings: int


BOOKING_SCHEMA: dict[str, Any] = {
    "id": pl.Int64,
    "merchant_id": pl.Int64,
    "plan": pl.Utf8,
    "scheduled_at": pl.Datetime("us", "UTC"),
    "amount": pl.Int64,
    "tax_rate": pl.Int64,
    "status": pl.Utf8,
    "cancellation_fee": pl.Int64,
    "refunded_amount": pl.Int64,
    "refunded_at": pl.Datetime("us", "UTC"),
}


def read_bookings(month: dt.date) -> pl.DataFrame:
    """The month's bookings, read once (one query), as a frame."""
    start, end = month_bounds(month)
    query = Booking.objects.filter(scheduled_at__gte=start, scheduled_at__lt=end).values_list(
        "id",
        "provider_id",
        "plan",
        "scheduled_at",
        "amount",
        "tax_rate",
        "status",
        "cancellation_fee",
        "refunded_amount",
        "refunded_at",
    )
    reader = None if connection.in_atomic_block else arrowdb.connect()
    if reader is None:
        return pl.DataFrame(list(query.iterator(chunk_size=20_000)), schema=BOOKING_SCHEMA, orient="row")
    sql, params = query.query.sql_with_params()
    sql = sql.replace("%s", "{}").format(*arrowdb.marks(len(params)))
    try:
        with reader.cursor() as cursor:
            cursor.execute(sql, list(params))
            fetched = pl.from_arrow(cursor.fetch_arrow_table())
    finally:
        reader.close()
    assert isinstance(fetched, pl.DataFrame)
    fetched.columns = list(BOOKING_SCHEMA)
    return fetched.with_columns(
        pl.col("scheduled_at").dt.convert_time_zone("UTC"), pl.col("refunded_at").dt.convert_time_zone("UTC")
    ).cast(BOOKING_SCHEMA)  # type: ignore[arg-type]


def _local_day(column: str) -> pl.Expr:
    return pl.col(column).dt.convert_time_zone(settings.TIME_ZONE).dt.date()


def _rate_text(bp: pl.Expr) -> pl.Expr:
    """Hundredths of a percent as the decimal text the database takes ('10.50')."""
    return (bp // 100).cast(pl.Utf8) + "." + (bp % 100).cast(pl.Utf8).str.zfill(2)


def booking_lines(bookings: pl.DataFrame, month: dt.date) -> pl.DataFrame:
    """Sale, cancellation and in-month refund lines of the month's bookings (merchant_id + line columns)."""
    _start, end = month_bounds(month)
    frame = commission.resolve(bookings.with_columns(_local_day("scheduled_at").alias("day")))
    cancelled = pl.col("status") == BookingStatus.CANCELLED
    plan = pl.when(pl.col("plan") == "").then(pl.lit("予約")).otherwise(pl.col("plan"))
    sales = frame.with_columns(
        pl.when(cancelled).then(pl.col("cancellation_fee")).otherwise(pl.col("amount")).alias("sales"),
    ).with_columns(
        pl.when(cancelled)
        .then(pl.lit(LineKind.CANCELLATION.value))
        .otherwise(pl.lit(LineKind.SALE.value))
        .alias("kind"),
        pl.when(cancelled & (pl.col("cancellation_fee") > 0))
        .then(pl.lit("キャンセル料：") + plan)
        .when(cancelled)
        .then(pl.lit("キャンセル（無料）：") + plan)
        .otherwise(plan)
        .alias("description"),
        (pl.col("sales") * pl.col("commission_bp") // 10000).alias("commission"),
        (pl.col("sales") * pl.col("fee_bp") // 10000).alias("payment_fee"),
    )
    refunded = frame.filter(
        ~cancelled
        & (pl.col("refunded_amount") > 0)
        & (pl.col("refunded_at").is_null() | (pl.col("refunded_at") < pl.lit(end).dt.convert_time_zone("UTC")))
    ).with_columns(
        pl.lit(LineKind.REFUND.value).alias("kind"),
        pl.coalesce(_local_day("refunded_at"), pl.col("day")).alias("day"),
        (pl.lit("返金：") + plan).alias("description"),
        (-pl.col("refunded_amount")).alias("sales"),
        (-(pl.col("refunded_amount") * pl.col("commission_bp") // 10000)).alias("commission"),
        pl.lit(0, dtype=pl.Int64).alias("payment_fee"),
    )
    columns = [
        "merchant_id",
        "kind",
        pl.col("id").alias("booking_id"),
        pl.col("day").alias("date"),
        "description",
        "sales",
        "commission_bp",
        "commission",
        "payment_fee",
        "tax_rate",
    ]
    return pl.concat([sales.select(columns), refunded.select(columns)]).with_columns(
        (pl.col("sales") - pl.col("commission") - pl.col("payment_fee")).alias("net")
    )


def _late_refunds(month: dt.date) -> list[LateRefund]:
    """Refunds made this month of bookings whose month is closed, less what their statements already refunded."""
    start, end = month_bounds(month)
    refunded = list(
        Booking.objects.filter(
            refunded_at__gte=start, refunded_at__lt=end, scheduled_at__lt=start, refunded_amount__gt=0
        )
        .values_list("id", "provider_id", "refunded_amount", "refunded_at", "scheduled_at", "plan")
        .order_by("id")
    )
    if not refunded:
        return []
    ids = [row[0] for row in refunded]
    # The booking's sale line on its closed statement, and what later lines already gave back.
    originals: dict[int, tuple[int, Any, dt.date, int, int]] = {}
    refunded_before: dict[int, int] = defaultdict(int)
    commission_back_before: dict[int, int] = defaultdict(int)
    for start_at in range(0, len(ids), 5000):
        chunk = ids[start_at : start_at + 5000]
        lines = StatementLine.objects.filter(booking_id__in=chunk, statement__close__close_status=CloseStatus.CLOSED)
        for booking_id, kind, sales, line_commission, rate, statement_id, stmt_month in lines.values_list(
            "booking_id", "kind", "sales", "commission", "commission_rate", "statement_id", "statement__month"
        ):
            if kind == LineKind.SALE:
                originals[booking_id] = (statement_id, rate, stmt_month, sales, line_commission)
            elif kind in (LineKind.REFUND, LineKind.ADJUSTMENT):
                refunded_before[booking_id] += -sales
                commission_back_before[booking_id] += -line_commission
    invoices = dict(
        Invoice.objects.filter(
            kind=InvoiceKind.INVOICE, statement_id__in={o[0] for o in originals.values()}
        ).values_list("statement_id", "id")
    )
    late = []
    for booking_id, merchant_id, amount, refunded_at, scheduled_at, plan in refunded:
        if booking_id not in originals:
            # Never billed here (before billing went live), or a cancellation: its sale was the fee and the
            # rest of the amount went back to the customer without ever being a sale.
            continue
        statement_id, rate, original_month, sold, charged = originals[booking_id]
        refund = min(amount, sold) - refunded_before[booking_id]
        if refund <= 0:
            continue
        back = refund * commission.basis(rate) // 10000 if rate is not None else 0
        back = max(0, min(back, charged - commission_back_before[booking_id]))
        late.append(
            LateRefund(
                booking_id=booking_id,
                merchant_id=merchant_id,
                day=timezone.localtime(refunded_at).date(),
                original_day=timezone.localtime(scheduled_at).date(),
                original_month=original_month,
                refund=refund,
                commission_back=back,
                commission_rate=rate,
                original_invoice_id=invoices.get(statement_id),
                plan=plan or "予約",
            )
        )
    return late


def compute(month: dt.date) -> Computation:
    """What the close of `month` writes, computed without writing anything (the preview shows it)."""
    month = month_start(month)
    month_end = month_start(month, 1) - dt.timedelta(days=1)
    bookings = read_bookings(month)
    lines = booking_lines(bookings, month)
    merchants: dict[int, MerchantMonth] = {}

    def merchant(merchant_id: int) -> MerchantMonth:
        if merchant_id not in merchants:
            merchants[merchant_id] = MerchantMonth(merchant_id)
        return merchants[merchant_id]

    per_merchant = lines.group_by("merchant_id").agg(
        (pl.col("kind") == LineKind.SALE.value).sum().alias("bookings"),
        (pl.col("kind") == LineKind.CANCELLATION.value).sum().alias("cancellations"),
        pl.col("sales").filter(pl.col("kind") != LineKind.REFUND.value).sum().alias("sales"),
        pl.col("sales")
        .filter((pl.col("kind") != LineKind.REFUND.value) & (pl.col("tax_rate") == 10))
        .sum()
        .alias("s10"),
        pl.col("sales").filter((pl.col("kind") != LineKind.REFUND.value) & (pl.col("tax_rate") == 8)).sum().alias("s8"),
        (-pl.col("sales").filter(pl.col("kind") == LineKind.REFUND.value)).sum().alias("refunds"),
        pl.col("commission").sum(),
        pl.col("payment_fee").sum(),
    )
    for row in per_merchant.iter_rows(named=True):
        m = merchant(row["merchant_id"])
        m.bookings, m.cancellations = int(row["bookings"]), int(row["cancellations"])
        m.sales, m.sales_10, m.sales_8 = int(row["sales"]), int(row["s10"]), int(row["s8"])
        m.refunds, m.commission_ex, m.fees_ex = int(row["refunds"]), int(row["commission"]), int(row["payment_fee"])

    extra: list[dict[str, Any]] = []
    for charge in MerchantCharge.objects.filter(month=month).order_by("merchant_id", "id"):
        merchant(charge.merchant_id).charges.append((charge.description, int(charge.amount), int(charge.tax_rate)))
        extra.append(
            {
                "merchant_id": charge.merchant_id,
                "kind": LineKind.CHARGE.value,
                "booking_id": None,
                "date": month_end,
                "description": f"{charge.description}（{charge.tax_rate}%）",
                "sales": 0,
                "commission_bp": None,
                "commission": 0,
                "payment_fee": 0,
                "net": -int(charge.amount),
            }
        )
    for adjustment in Adjustment.objects.filter(month=month).order_by("merchant_id", "id"):
        merchant(adjustment.merchant_id).adjustments += adjustment.payout_amount
        extra.append(
            {
                "merchant_id": adjustment.merchant_id,
                "kind": LineKind.ADJUSTMENT.value,
                "booking_id": adjustment.booking_id,
                "date": month_end,
                "description": f"調整：{adjustment.description}"[:300],
                "sales": 0,
                "commission_bp": None,
                "commission": 0,
                "payment_fee": 0,
                "net": adjustment.payout_amount,
            }
        )
    late = _late_refunds(month)
    for refund in late:
        merchant(refund.merchant_id).adjustments += refund.payout_change
        extra.append(
            {
                "merchant_id": refund.merchant_id,
                "kind": LineKind.ADJUSTMENT.value,
                "booking_id": refund.booking_id,
                "date": refund.day,
                "description": f"締め後の返金：{refund.plan}（{month_label(refund.original_month)}）"[:300],
                "sales": -refund.refund,
                "commission_bp": commission.basis(refund.commission_rate)
                if refund.commission_rate is not None
                else None,
                "commission": -refund.commission_back,
                "payment_fee": 0,
                "net": refund.payout_change,
            }
        )
    line_columns = lines.drop("tax_rate")
    if extra:
        extra_frame = pl.DataFrame(extra, schema=dict(line_columns.schema))
        line_columns = pl.concat([line_columns, extra_frame])
    names = dict(Account.objects.filter(pk__in=list(merchants)).values_list("pk", "name")) if merchants else {}
    for m in merchants.values():
        m.name = names.get(m.merchant_id, "")
        m.finish(month)
    return Computation(
        month=month, merchants=merchants, lines=line_columns, late_refunds=late, bookings=bookings.height
    )


def preview(month: dt.date) -> list[dict[str, Any]]:
    """Per-merchant totals of an open month exactly as closing it would write them; nothing is written."""
    with translation.override(settings.LANGUAGE_CODE):
        result = compute(month)
    rows = []
    for m in sorted(result.merchants.values(), key=lambda m: (m.name, m.merchant_id)):
        rows.append(
            {
                **m.totals(),
                "merchant_name": m.name,
                "sales_10": m.sales_10,
                "sales_8": m.sales_8,
                "invoiced": bool(m.invoice_lines(result.month)),
            }
        )
    return rows


# Closing -------------------------------------------------------------------------------------------------


Progress = Callable[[int, str], None]


def mark_history_closed(before: dt.date, *, note: str = "billing went live later") -> int:
    """Record every month before `before` that has bookings as closed without statements: history imported
    for the reports that was billed elsewhere, so the first close in Banso is not refused for the months
    before it (months close in order). Returns the months marked; months already closed are left alone."""
    before = month_start(before)
    first = Booking.objects.filter(scheduled_at__lt=month_bounds(before)[0]).order_by("scheduled_at").first()
    if first is None:
        return 0
    month, now, marked = month_start(timezone.localtime(first.scheduled_at).date()), timezone.now(), []
    done = set(MonthClose.objects.filter(close_status=CloseStatus.CLOSED).values_list("as_of", flat=True))
    while month < before:
        if month not in done:
            marked.append(
                MonthClose(
                    as_of=month,
                    status=RunStatus.SUCCEEDED,
                    close_status=CloseStatus.CLOSED,
                    closed_at=now,
                    percent=100,
                    step=note,
                )
            )
        month = month_start(month, 1)
    MonthClose.objects.bulk_create(marked)
    return len(marked)


def close_month(month: dt.date, *, actor: User | None = None, run: MonthClose | None = None) -> MonthClose:
    """Close `month`: statements, invoices, late-refund adjustments and credit notes in one transaction, then
    the PDFs. Refuses (CloseError) a month already closed, not ended, or with an earlier month open."""
    month = month_start(month)
    if run is None:
        run = MonthClose.objects.create(as_of=month, triggered_by=actor, status=RunStatus.RUNNING)
    actor = actor or run.triggered_by
    run.status, run.started_at = RunStatus.RUNNING, run.started_at or timezone.now()
    run.save(update_fields=["status", "started_at"])
    try:
        with translation.override(settings.LANGUAGE_CODE):
            _close(run, month, actor)
    except Exception as error:
        run.status, run.finished_at = RunStatus.FAILED, timezone.now()
        run.error = str(error) if isinstance(error, CloseError) else f"{type(error).__name__}: {error}"
        run.save(update_fields=["status", "error", "finished_at"])
        if isinstance(error, IntegrityError):
            raise CloseError(
                _("%(month)s was closed at the same time by someone else.") % {"month": f"{month:%Y-%m}"}
            ) from error
        raise
    try:
        with translation.override(settings.LANGUAGE_CODE):
            write_missing_documents(run)
    except Exception as error:
        # The month is closed (committed); only PDFs are missing, and "write missing documents" retries them.
        MonthClose.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=f"{type(error).__name__}: {error}", finished_at=timezone.now()
        )
        raise
    run.status, run.finished_at, run.percent = RunStatus.SUCCEEDED, timezone.now(), 100
    run.step = pgettext("month close", "Closed")
    run.save(update_fields=["status", "finished_at", "percent", "step"])
    return run


def _close(run: MonthClose, month: dt.date, actor: User | None) -> None:
    with transaction.atomic():
        # Serialise closes: one at a time, and the statement series stays gapless.
        invoicing.take_numbers(invoicing.STATEMENT_SERIES, 0)
        check_can_close(month)
        run.progress(5, _("Reading the month's bookings"))
        result = compute(month)
        run.progress(30, _("Writing statements"), merchants=len(result.merchants), bookings=result.bookings)
        merchants = sorted(result.merchants.values(), key=lambda m: (m.name, m.merchant_id))
        first = invoicing.take_numbers(invoicing.STATEMENT_SERIES, len(merchants))
        statements = [
            Statement(
                close=run,
                merchant_id=m.merchant_id,
                month=month,
                number=invoicing.format_number(STATEMENT_PREFIX, month, first + i),
                merchant_name=m.name,
                bookings=m.bookings,
                cancellations=m.cancellations,
                sales=m.sales,
                refunds=m.refunds,
                commission=m.commission,
                payment_fees=m.payment_fees,
                charges=m.charges_total,
                adjustments=m.adjustments,
                payout=m.payout,
            )
            for i, m in enumerate(merchants)
        ]
        Statement.objects.bulk_create(statements, batch_size=2000)
        statement_ids = dict(Statement.objects.filter(close=run).values_list("merchant_id", "id"))
        lines = result.lines.with_columns(
            pl.col("merchant_id").replace_strict(statement_ids, return_dtype=pl.Int64).alias("statement_id"),
            pl.col("date").cast(pl.Utf8),
            _rate_text(pl.col("commission_bp")).alias("commission_rate"),
        ).sort("statement_id", "date", "kind", "booking_id", nulls_last=True)
        run.progress(45, _("Writing statement lines"))
        arrowdb.insert_frame(StatementLine._meta.db_table, lines, LINE_COLUMNS)
        run.progress(70, _("Issuing invoices"))
        issue_date = timezone.localdate()
        end = month_start(month, 1) - dt.timedelta(days=1)
        specs = [
            invoicing.InvoiceSpec(
                merchant_id=m.merchant_id,
                recipient_name=m.name,
                period_start=month,
                period_end=end,
                lines=m.invoice_lines(month),
                statement_id=statement_ids[m.merchant_id],
            )
            for m in merchants
            if m.invoice_lines(month)
        ]
        invoices = invoicing.issue_invoices(specs, issue_date=issue_date, kind=InvoiceKind.INVOICE, close=run)
        for spec, invoice in zip(specs, invoices, strict=True):
            expected = result.merchants[spec.merchant_id].invoice_total
            if invoice.total != expected:  # the statement's payout was computed from this total
                raise RuntimeError(f"invoice {invoice.number} total {invoice.total} != {expected}")
        _settle_late_refunds(run, month, result.late_refunds, issue_date)
        run.close_status, run.closed_at = CloseStatus.CLOSED, timezone.now()
        run.merchants, run.bookings = len(merchants), result.bookings
        run.percent, run.step = 80, _("Closed; writing documents")
        run.save(update_fields=["close_status", "closed_at", "merchants", "bookings", "percent", "step"])
        record_change(
            actor=actor,
            obj=run,
            action=AuditAction.CREATE,
            before=None,
            after={
                "month": f"{month:%Y-%m}",
                "close_status": CloseStatus.CLOSED.value,
                "merchants": len(merchants),
                "invoices": len(invoices),
                "adjustments": len(result.late_refunds),
            },
            account_id=None,
            via="ui",
        )


def _settle_late_refunds(run: MonthClose, month: dt.date, late: list[LateRefund], issue_date: dt.date) -> None:
    """Adjustments (once per booking and month: a unique constraint) and one credit note per refund."""
    if not late:
        return
    Adjustment.objects.bulk_create(
        [
            Adjustment(
                merchant_id=r.merchant_id,
                month=month,
                kind=AdjustmentKind.REFUND,
                booking_id=r.booking_id,
                original_month=r.original_month,
                description=f"締め後の返金：{r.plan}（{month_label(r.original_month)}）"[:200],
                reason=f"予約 {r.booking_id} の返金 {r.refund:,}円（{r.day.isoformat()}）",
                payout_amount=r.payout_change,
                commission_amount=-r.commission_back,
                tax_rate=STANDARD_RATE,
            )
            for r in late
        ],
        batch_size=2000,
    )
    with_credit = [r for r in late if r.commission_back > 0]
    names = dict(Account.objects.filter(pk__in={r.merchant_id for r in with_credit}).values_list("pk", "name"))
    specs = [
        invoicing.InvoiceSpec(
            merchant_id=r.merchant_id,
            recipient_name=names.get(r.merchant_id, ""),
            period_start=r.day,
            period_end=r.day,
            lines=[
                invoicing.LineSpec(
                    f"販売手数料の返還（予約 {r.booking_id}、{month_label(r.original_month)}）",
                    r.commission_back,
                    STANDARD_RATE,
                    r.day,
                    r.original_day,
                )
            ],
            original_id=r.original_invoice_id,
        )
        for r in with_credit
    ]
    notes = invoicing.issue_invoices(specs, issue_date=issue_date, kind=InvoiceKind.CREDIT_NOTE, close=run)
    for refund, note in zip(with_credit, notes, strict=True):
        if note.total != refund.credit_total:
            raise RuntimeError(f"credit note {note.number} total {note.total} != {refund.credit_total}")


# Documents -----------------------------------------------------------------------------------------------


def write_missing_documents(run: MonthClose) -> int:
    """Write the PDFs of this close's statements and invoices that have none yet (after commit; a retry
    writes only what is missing). Progress goes on the run."""
    try:
        from . import documents
    except ImportError:  # the documents module lands separately; until then the close writes no PDFs
        log.warning("billing.documents is not available: no PDFs written")
        return 0

    statement_ids = list(Statement.objects.filter(close=run, pdf_path="").values_list("id", flat=True))
    invoice_ids = list(Invoice.objects.filter(close=run, pdf_path="").values_list("id", flat=True))
    total = len(statement_ids) + len(invoice_ids)
    existing = Statement.objects.filter(close=run).exclude(pdf_path="").count() + (
        Invoice.objects.filter(close=run).exclude(pdf_path="").count()
    )
    step = _("Writing documents")

    def progress(done: int, *_args: Any) -> None:
        percent = 80 + (19 * done // total if total else 19)
        run.progress(percent, step, documents=existing + done)

    run.progress(80, step, documents=existing)
    written = documents.write_documents(statement_ids, invoice_ids, progress=progress) if total else 0
    run.progress(99, step, documents=existing + written)
    return int(written)


def retry_documents(run: MonthClose) -> MonthClose:
    """The 'write missing documents' action of a closed month."""
    if run.close_status != CloseStatus.CLOSED:
        raise CloseError(_("Only a closed month has documents to write."))
    MonthClose.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, error="")
    try:
        with translation.override(settings.LANGUAGE_CODE):
            write_missing_documents(run)
    except Exception as error:
        MonthClose.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=f"{type(error).__name__}: {error}", finished_at=timezone.now()
        )
        raise
    MonthClose.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED, percent=100, finished_at=timezone.now())
    run.refresh_from_db()
    return run


# Background runs -----------------------------------------------------------------------------------------


def active_run(month: dt.date | None = None) -> MonthClose | None:
    runs = MonthClose.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
    if month is not None:
        runs = runs.filter(as_of=month_start(month))
    return runs.first()


def start_close(month: dt.date, actor: User | None) -> MonthClose:
    """Queue the close of `month` for the worker (refused at once when the rules forbid it)."""
    from .tasks import close_month_task

    month = month_start(month)
    check_can_close(month)
    if active_run(month) is not None:
        raise CloseError(_("A close of %(month)s is already waiting or running.") % {"month": f"{month:%Y-%m}"})
    with transaction.atomic():
        with translation.override(settings.LANGUAGE_CODE):
            step = _("Waiting for the worker")
        run = MonthClose.objects.create(as_of=month, triggered_by=actor, step=step)
        transaction.on_commit(lambda: close_month_task.enqueue(run.pk))
    return run


def run_queued(run: MonthClose) -> MonthClose:
    """The worker's side of `start_close`: a refusal is recorded on the run, not raised."""
    try:
        return close_month(run.as_of, actor=run.triggered_by, run=run)
    except CloseError:
        run.refresh_from_db()
        return run


def month_summaries(limit: int = 24) -> list[dict[str, Any]]:
    """The close list: each month with bookings or a close, newest first, with its totals."""
    closes: dict[dt.date, MonthClose] = {}
    for attempt in MonthClose.objects.order_by("as_of", "created_at"):
        current = closes.get(attempt.as_of)
        if current is None or current.close_status != CloseStatus.CLOSED:
            closes[attempt.as_of] = attempt
    totals = {
        row["close"]: row
        for row in Statement.objects.filter(close__close_status=CloseStatus.CLOSED)
        .values("close")
        .annotate(sales=Sum("sales"), payout=Sum("payout"), commission=Sum("commission"), fees=Sum("payment_fees"))
    }
    today = timezone.localdate()
    months = set(closes)
    this_month = month_start(today)
    for back in range(1, 4):
        months.add(month_start(this_month, -back))
    rows = []
    for month in sorted(months, reverse=True)[:limit]:
        run = closes.get(month)
        closed = run is not None and run.close_status == CloseStatus.CLOSED
        rows.append(
            {
                "month": month,
                "run": run,
                "closed": closed,
                "totals": totals.get(run.pk) if closed and run is not None else None,
                "ended": month_start(month, 1) <= today,
            }
        )
    return rows
