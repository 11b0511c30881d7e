"""`banso bench billing`: closing a month for 10,000 merchants (statements, qualified invoices and all their PDFs)
and building the merchant monthly report, over 5,000,000 bookings.

Issue 9 (merchant operations): the month close for 10,000 merchants and 5,000,000 bookings, statements and
invoice PDFs written, in under 10 minutes; report generation in under 30 s. `--scale` shrinks merchants,
members and bookings (at least 20 merchants). Without `--database` it runs on PostgreSQL (database
banso_bench_billing).

Data (seeded, built once with COPY and reused while the sizes match): merchants with skewed popularity,
members joining over three years, bookings spread over the 25 months up to the closed month (October 2026,
the month before the reference day; about 200,000 of them in it at full scale) so that the report has a
previous month and a previous year; 88 % completed, 8 % cancelled (a third with a cancellation fee), 1 %
no-shows, 3 % still booked, 3 % reduced-rate (8 %) sales, 2 % refunded (some after their month). Commission
rules: a default, merchant rules for a fifth of the merchants (some changing mid-month) and plan rules for
one in twenty; other charges for one merchant in twenty (a third at 8 %). The 24 earlier months are marked
closed without statements (history from before billing went live), as the close requires.

Timed: `closing.close_month(month)` end to end — reading the month's bookings, rates, statements, lines
(COPY), invoices, then every statement and invoice PDF — once (the previous close is thrown away first,
untimed); `close_db_seconds` is the part up to the commit, `documents_seconds` the PDFs. Then
`reports.build(month)`, the median of 3.
"""

from __future__ import annotations

import datetime as dt
import resource
import statistics
import time
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl

from _data import BENCH_SEED, BENCH_TODAY, default_postgres, log, prepare_database

FULL_MERCHANTS = 10_000
FULL_MEMBERS = 300_000
FULL_BOOKINGS = 5_000_000
MONTHS = 25
SOURCE = "bench-billing"
PLANS = [
    "一泊二食プラン",
    "素泊まりプラン",
    "貸切露天風呂プラン",
    "朝食付きプラン",
    "体験ツアー",
    "地元弁当",
    "日帰り温泉",
    "カヌー体験",
]
AREAS = ["北海道", "東北", "関東", "中部", "近畿", "九州"]


def sizes(scale: float) -> tuple[int, int, int]:
    return (
        max(20, round(FULL_MERCHANTS * scale)),
        max(100, round(FULL_MEMBERS * scale)),
        max(MONTHS * 40, round(FULL_BOOKINGS * scale)),
    )


def closed_month() -> dt.date:
    from banso.core.calendar import month_start

    return month_start(BENCH_TODAY, -1)


def run(scale: float = 1.0) -> dict[str, Any]:
    figures = default_postgres("billing", scale, database="banso_bench_billing")
    if figures is not None:
        return figures
    vendor = prepare_database()
    merchants, members, bookings = sizes(scale)
    build_seconds = ensure_data(merchants, members, bookings)

    from banso.billing import closing
    from banso.billing.models import Invoice, MonthClose, Statement
    from banso.marketplace.models import Booking

    month = closed_month()
    reset_close(month)
    start, end = closing.month_bounds(month)
    month_bookings = Booking.objects.filter(scheduled_at__gte=start, scheduled_at__lt=end).count()
    log(f"closing {month:%Y-%m}: {month_bookings:,} bookings of {merchants:,} merchants")
    started = time.perf_counter()
    run_ = closing.close_month(month)
    close_seconds = time.perf_counter() - started
    run_ = MonthClose.objects.get(pk=run_.pk)
    assert run_.closed_at is not None and run_.started_at is not None
    close_db_seconds = (run_.closed_at - run_.started_at).total_seconds()
    pdfs = Statement.objects.filter(close=run_).exclude(pdf_path="").count()
    pdfs += Invoice.objects.filter(close=run_).exclude(pdf_path="").count()
    statements = Statement.objects.filter(close=run_).count()
    invoices = Invoice.objects.filter(close=run_).count()
    log(f"closed in {close_seconds:.1f} s ({close_db_seconds:.1f} s to commit), {pdfs:,} PDFs")

    report_seconds: float | str
    try:
        from banso.billing import reports
    except ImportError:
        report_seconds = "missing"
    else:
        runs = []
        for repetition in range(3):
            started = time.perf_counter()
            reports.build(month)
            runs.append(time.perf_counter() - started)
            log(f"report run {repetition + 1}: {runs[-1]:.2f} s")
            if runs[-1] >= 10:
                break
        report_seconds = round(statistics.median(runs), 2)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "merchants": merchants,
        "bookings": bookings,
        "close_seconds": round(close_seconds, 1),
        "report_seconds": report_seconds,
        "month_bookings": month_bookings,
        "statements": statements,
        "invoices": invoices,
        "pdfs": pdfs,
        "close_db_seconds": round(close_db_seconds, 1),
        "documents_seconds": round(close_seconds - close_db_seconds, 1),
        "members": members,
        "peak_rss_mib": round(max(own, children), 1),
        "database": vendor,
        "data_build_seconds": round(build_seconds, 1),
    }


# Data ------------------------------------------------------------------------------------------------------


def ensure_data(merchants: int, members: int, bookings: int) -> float:
    """Build the benchmark's records unless the database holds them at this size; returns the build time."""
    from banso.accounts.models import Account, EndUser
    from banso.marketplace.models import Booking

    have = (
        Account.objects.filter(source=SOURCE).count(),
        EndUser.objects.filter(source=SOURCE).count(),
        Booking.objects.filter(source=SOURCE).count(),
    )
    if have == (merchants, members, bookings):
        log(f"reusing {merchants:,} merchants, {members:,} members and {bookings:,} bookings")
        return 0.0
    started = time.monotonic()
    log(f"building {merchants:,} merchants, {members:,} members and {bookings:,} bookings")
    _wipe()
    _build(merchants, members, bookings)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return time.monotonic() - started


BILLING_TABLES = (
    "billing_invoiceline",
    "billing_invoice",
    "billing_statementline",
    "billing_statement",
    "billing_adjustment",
    "billing_merchantcharge",
    "billing_commissionrule",
    "billing_monthclose",
    "billing_documentsequence",
)


def _wipe() -> None:
    """Everything of an earlier build (this database is the benchmark's own)."""
    from django.db import connection

    from banso.billing import immutability

    with immutability.lifted(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tables = ", ".join((*BILLING_TABLES, "billing_reconciliationitem", "marketplace_booking"))
            cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY")
        else:
            for table in (*BILLING_TABLES, "billing_reconciliationitem", "marketplace_booking"):
                cursor.execute(f"DELETE FROM {table}")
        cursor.execute("DELETE FROM accounts_enduser WHERE source = %s", [SOURCE])
        cursor.execute("DELETE FROM accounts_account WHERE source = %s", [SOURCE])


def reset_close(month: dt.date) -> None:
    """Throw away an earlier close of the benchmark month (untimed) and mark the months before it closed."""
    from django.db import connection

    from banso.billing import closing, immutability

    with immutability.lifted(), connection.cursor() as cursor:
        for table in BILLING_TABLES:
            if table not in ("billing_merchantcharge", "billing_commissionrule"):
                cursor.execute(f"DELETE FROM {table}")
    closing.mark_history_closed(month)


def _build(n_merchants: int, n_members: int, n_bookings: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from banso.accounts.choices import AccountKind, EndUserKind
    from banso.accounts.models import Account, EndUser
    from banso.billing.models import BillingSettings, CommissionRule, MerchantCharge
    from banso.core import arrowdb
    from banso.core.calendar import month_start
    from banso.core.text import search_key

    rng = np.random.default_rng(BENCH_SEED)
    month = closed_month()
    first_month = month_start(month, -(MONTHS - 1))
    now = timezone.now().strftime("%Y-%m-%d %H:%M:%S")
    with transaction.atomic():
        billing = BillingSettings.current()
        billing.issuer_name = "株式会社バンソウ観光"
        billing.registration_number = "T7000012050002"
        billing.address = "東京都千代田区霞が関3-1-1"
        billing.save()
        log("merchants")
        Account.objects.bulk_create(
            (
                Account(
                    source=SOURCE,
                    external_id=f"bm-{i}",
                    name=f"{AREAS[i % len(AREAS)]}の宿{i:05d}",
                    name_kana=f"やど{i:05d}",
                    search_text=search_key(f"{AREAS[i % len(AREAS)]}の宿{i:05d}", f"やど{i:05d}"),
                    kind=AccountKind.MERCHANT,
                )
                for i in range(n_merchants)
            ),
            batch_size=5000,
        )
        merchant_ids = np.array(
            Account.objects.filter(source=SOURCE).order_by("id").values_list("id", flat=True), dtype=np.int64
        )
        log("members")
        joined = rng.integers(0, 3 * 365 * 86400, n_members)
        base = dt.datetime(2023, 11, 1, tzinfo=dt.UTC).timestamp()
        members = pl.DataFrame(
            {
                "source": [SOURCE] * n_members,
                "external_id": [f"bu-{i}" for i in range(n_members)],
                "created_at": pl.from_epoch(pl.Series((base + joined).astype(np.int64)), time_unit="s").dt.strftime(
                    "%Y-%m-%d %H:%M:%S"
                ),
                "updated_at": [now] * n_members,
                "kind": [EndUserKind.MEMBER.value] * n_members,
                "name": [f"会員{i}" for i in range(n_members)],
                "email": [f"m{i}@bench.example.jp" for i in range(n_members)],
                "attributes": ["{}"] * n_members,
            }
        )
        arrowdb.insert_frame(EndUser._meta.db_table, members, members.columns)
        member_ids = np.array(
            EndUser.objects.filter(source=SOURCE).order_by("id").values_list("id", flat=True), dtype=np.int64
        )
        log("rules and charges")
        rules = [
            CommissionRule(
                commission_rate=Decimal("10.00"), payment_fee_rate=Decimal("3.60"), effective_from=first_month
            )
        ]
        for i, merchant_id in enumerate(merchant_ids[::5]):
            rate = Decimal(int(rng.integers(6, 16)))
            if i % 4 == 0:  # a rate change in the middle of the closed month
                rules.append(
                    CommissionRule(
                        merchant_id=int(merchant_id),
                        commission_rate=rate,
                        payment_fee_rate=Decimal("3.60"),
                        effective_from=first_month,
                        effective_to=month + dt.timedelta(days=14),
                    )
                )
                rules.append(
                    CommissionRule(
                        merchant_id=int(merchant_id),
                        commission_rate=rate - 1,
                        payment_fee_rate=Decimal("3.25"),
                        effective_from=month + dt.timedelta(days=15),
                    )
                )
            else:
                rules.append(
                    CommissionRule(
                        merchant_id=int(merchant_id),
                        commission_rate=rate,
                        payment_fee_rate=Decimal("3.60"),
                        effective_from=first_month,
                    )
                )
        for merchant_id in merchant_ids[3::20]:
            rules.append(
                CommissionRule(
                    merchant_id=int(merchant_id),
                    plan=PLANS[2],
                    commission_rate=Decimal("15.00"),
                    payment_fee_rate=Decimal("3.00"),
                    effective_from=first_month,
                )
            )
        CommissionRule.objects.bulk_create(rules, batch_size=5000)
        MerchantCharge.objects.bulk_create(
            [
                MerchantCharge(
                    merchant_id=int(merchant_id),
                    month=month,
                    description="キャンペーン用土産品" if i % 3 == 0 else "特集ページ広告",
                    amount=int(rng.integers(1, 60)) * 1000,
                    tax_rate=8 if i % 3 == 0 else 10,
                )
                for i, merchant_id in enumerate(merchant_ids[7::20])
            ]
        )
    popularity = rng.lognormal(0, 1.0, n_merchants)
    popularity /= popularity.sum()
    per_month = n_bookings // MONTHS
    written = 0
    for index in range(MONTHS):
        first = month_start(first_month, index)
        count = per_month if index < MONTHS - 1 else n_bookings - per_month * (MONTHS - 1)
        with transaction.atomic():
            frame = _bookings(rng, first, count, written, merchant_ids, popularity, member_ids, now)
            arrowdb.insert_frame("marketplace_booking", frame, frame.columns)
        written += count
        log(f"bookings {first:%Y-%m}: {written:,}")


def _bookings(
    rng: np.random.Generator,
    month: dt.date,
    n: int,
    offset: int,
    merchant_ids: np.ndarray,
    popularity: np.ndarray,
    member_ids: np.ndarray,
    now: str,
) -> pl.DataFrame:
    from banso.core.calendar import month_start

    tokyo = dt.timezone(dt.timedelta(hours=9))
    start = dt.datetime.combine(month, dt.time.min, tzinfo=tokyo).timestamp()
    end = dt.datetime.combine(month_start(month, 1), dt.time.min, tzinfo=tokyo).timestamp()
    scheduled = (start + rng.integers(0, int(end - start), n)).astype(np.int64)
    booked = scheduled - rng.integers(86400, 60 * 86400, n)
    amount = (np.clip(rng.lognormal(np.log(18_000), 0.6, n), 2_000, 300_000) // 100 * 100).astype(np.int64)
    status = rng.choice(["completed", "cancelled", "no_show", "booked"], size=n, p=[0.88, 0.08, 0.01, 0.03])
    cancelled = status == "cancelled"
    fee = np.where(cancelled & (rng.random(n) < 1 / 3), amount // 5, 0)
    refunded = ~cancelled & (rng.random(n) < 0.02)
    refund_amount = np.where(refunded, np.where(rng.random(n) < 0.5, amount, amount // 2), 0)
    refunded_at = np.where(refunded, scheduled + rng.integers(3600, 20 * 86400, n), 0)
    plan_index = rng.integers(0, len(PLANS), n)
    tax = np.where(plan_index == 5, 8, np.where(rng.random(n) < 0.01, 8, 10))

    def stamp(seconds: np.ndarray) -> pl.Series:
        return pl.from_epoch(pl.Series(seconds), time_unit="s").dt.strftime("%Y-%m-%d %H:%M:%S")

    ids = np.arange(offset, offset + n)
    frame = pl.DataFrame(
        {
            "source": pl.repeat(SOURCE, n, eager=True),
            "external_id": pl.Series(ids).cast(pl.Utf8).str.replace(r"^", "bb-"),
            "created_at": pl.repeat(now, n, eager=True),
            "updated_at": pl.repeat(now, n, eager=True),
            "provider_id": rng.choice(merchant_ids, size=n, p=popularity),
            "end_user_id": rng.choice(member_ids, size=n),
            "plan": pl.Series(PLANS)[plan_index],
            "category": pl.repeat("宿泊", n, eager=True),
            "area": pl.Series(AREAS)[rng.integers(0, len(AREAS), n)],
            "booked_at": stamp(booked),
            "scheduled_at": stamp(scheduled),
            "guests": rng.integers(1, 5, n),
            "amount": amount,
            "tax_rate": tax,
            "status": status,
            "cancelled_at": stamp(booked + 86400),
            "cancellation_fee": fee,
            "refunded_amount": refund_amount,
            "refunded_at": stamp(refunded_at),
            "payment_id": pl.Series(ids).cast(pl.Utf8).str.replace(r"^", "ch_bench"),
        }
    )
    return frame.with_columns(
        pl.when(pl.Series(cancelled)).then(pl.col("cancelled_at")).otherwise(None).alias("cancelled_at"),
        pl.when(pl.Series(refunded)).then(pl.col("refunded_at")).otherwise(None).alias("refunded_at"),
    )
