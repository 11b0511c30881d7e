"""Payment reconciliation: PAY.JP charges, refunds, fees and transfers against bookings and bank deposits.

Imports (`import_payjp`, `import_payjp_objects`, `import_bank`) are all-or-nothing and idempotent: records
are keyed by the processor's ids (or the bank row's reference), so re-importing a file changes nothing and a
newer export updates what changed. `match(month)` rebuilds a month's `ReconciliationItem`s from the data in
a handful of set-based queries; items an operator resolved are kept as they are. `resolve(item, reason)`
closes an item with a reason and an audit entry.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Sum
from django.db.models.functions import Abs
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from banso.core.calendar import add_business_days, closed_days, is_business_day, month_start
from banso.core.choices import AuditAction
from banso.core.models import User
from banso.core.services import record_change, snapshot
from banso.marketplace.models import Booking

from . import payjp
from .models import (
    BankDeposit,
    BillingSettings,
    CommissionRule,
    MatchStatus,
    ProcessorImport,
    ProcessorKind,
    ProcessorTransaction,
    ReconciliationItem,
    ReconciliationKind,
)

TOKYO = payjp.TOKYO
DEPOSIT_WINDOW_BUSINESS_DAYS = 3
CHUNK = 5000
ANALYZE_AFTER = 10_000
# Bank statements list every deposit; only those that look like PAY.JP's are expected to match a transfer.
PAYJP_DEPOSIT = re.compile(r"PAY\.?JP|ペイジエイピ|ペイジェイピ", re.IGNORECASE)
TXN_FIELDS = ("amount", "fee", "occurred_at", "scheduled_date", "charge_id", "transfer_id")


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a Japanese calendar month as aware datetimes."""
    first = month_start(month)
    following = month_start(first, 1)
    return (
        dt.datetime.combine(first, dt.time(0), tzinfo=TOKYO),
        dt.datetime.combine(following, dt.time(0), tzinfo=TOKYO),
    )


def _local_month(moment: dt.datetime) -> dt.date:
    return moment.astimezone(TOKYO).date().replace(day=1)


# --- imports ------------------------------------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _write_txns(txns: Sequence[payjp.Txn], record: ProcessorImport) -> None:
    """Upsert by (kind, processor id): new ones created, changed ones updated, identical ones left alone."""
    unique: dict[tuple[str, str], payjp.Txn] = {(t.kind, t.external_id): t for t in txns}
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, external_id in unique:
        by_kind[kind].append(external_id)
    existing: dict[tuple[str, str], ProcessorTransaction] = {}
    for kind, ids in by_kind.items():
        for chunk in _chunks(ids):
            for row in ProcessorTransaction.objects.filter(kind=kind, external_id__in=chunk).only(
                "id", "kind", "external_id", *TXN_FIELDS
            ):
                existing[(row.kind, row.external_id)] = row
    new: list[ProcessorTransaction] = []
    changed: list[ProcessorTransaction] = []
    for key, txn in unique.items():
        found = existing.get(key)
        if found is None:
            new.append(
                ProcessorTransaction(
                    kind=txn.kind,
                    external_id=txn.external_id,
                    charge_id=txn.charge_id,
                    transfer_id=txn.transfer_id,
                    amount=txn.amount,
                    fee=txn.fee,
                    occurred_at=txn.occurred_at,
                    scheduled_date=txn.scheduled_date,
                    raw=txn.raw,
                    imported_by=record,
                )
            )
            continue
        row = found
        values = {name: getattr(txn, name) for name in TXN_FIELDS}
        # A charge export without the transfer column must not forget a transfer learnt earlier.
        if not values["transfer_id"]:
            values["transfer_id"] = row.transfer_id
        if any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            row.raw = txn.raw
            row.imported_by = record
            changed.append(row)
    ProcessorTransaction.objects.bulk_create(new, batch_size=2000)
    if changed:
        ProcessorTransaction.objects.bulk_update(changed, [*TXN_FIELDS, "raw", "imported_by"], batch_size=2000)
    # A transfer that lists its charges tells which transfer pays each of them.
    for txn in unique.values():
        charge_ids = txn.raw.get("charges") if txn.kind == ProcessorKind.TRANSFER else None
        for chunk in _chunks(charge_ids or []):
            ProcessorTransaction.objects.filter(charge_id__in=chunk).exclude(transfer_id=txn.external_id).update(
                transfer_id=txn.external_id
            )
    if len(new) + len(changed) >= ANALYZE_AFTER:
        _analyze(ProcessorTransaction)
    record.rows = len(txns)
    record.created = len(new)
    record.updated = len(changed)
    record.unchanged = len(unique) - len(new) - len(changed)
    record.save()


def _analyze(model: Any) -> None:
    """Refresh PostgreSQL's statistics after a large import: with the table's old row counts the planner
    matches 200,000 charges by nested loops (minutes instead of seconds) until autovacuum catches up."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def _actor(actor: Any) -> User | None:
    return actor if isinstance(actor, User) and actor.is_authenticated else None


def import_payjp(data: bytes, filename: str = "", *, actor: Any = None) -> ProcessorImport:
    """A PAY.JP file (API JSON, or a charges or transfers CSV export); raises ImportRefused with row errors."""
    kind, txns = payjp.read_payjp(data, filename)
    with transaction.atomic():
        record = ProcessorImport.objects.create(kind=kind, filename=filename[:255], created_by=_actor(actor))
        _write_txns(txns, record)
    return record


def import_payjp_objects(
    objects: Iterable[Mapping[str, Any]], *, actor: Any = None, filename: str = ""
) -> ProcessorImport:
    """PAY.JP API objects (as `fetch` or a webhook returns them)."""
    txns = payjp.txns_from_objects(objects)
    with transaction.atomic():
        record = ProcessorImport.objects.create(kind="payjp_api", filename=filename[:255], created_by=_actor(actor))
        _write_txns(txns, record)
    return record


def fetch_payjp(secret_key: str, since: dt.datetime, *, client: Any = None, actor: Any = None) -> ProcessorImport:
    """Charges and transfers created since `since`, read from PAY.JP's API and imported."""
    objects = payjp.fetch(secret_key, since, client=client)
    return import_payjp_objects(objects, actor=actor, filename=f"api since {since:%Y-%m-%d}")


def import_bank(data: bytes, filename: str = "", *, actor: Any = None) -> ProcessorImport:
    """A bank statement CSV's deposits; re-importing finds the same references and adds nothing."""
    deposits = payjp.deposits_from_csv(data)
    with transaction.atomic():
        record = ProcessorImport.objects.create(kind="bank", filename=filename[:255], created_by=_actor(actor))
        refs = [d.reference for d in deposits]
        known: set[str] = set()
        for chunk in _chunks(refs):
            known.update(BankDeposit.objects.filter(reference__in=chunk).values_list("reference", flat=True))
        new = [
            BankDeposit(
                date=d.date, amount=d.amount, description=d.description, reference=d.reference, imported_by=record
            )
            for d in {d.reference: d for d in deposits}.values()
            if d.reference not in known
        ]
        BankDeposit.objects.bulk_create(new, batch_size=2000)
        if len(new) >= ANALYZE_AFTER:
            _analyze(BankDeposit)
        record.rows = len(deposits)
        record.created = len(new)
        record.unchanged = len(deposits) - len(new)
        record.save()
    return record


# --- expected fees ------------------------------------------------------------------------------------


class FeeRates:
    """Fallback when the close's rule resolver (`billing.commission.resolve`) is not installed: the most
    specific `CommissionRule` in force (merchant + plan, then merchant, then every merchant), else
    `BillingSettings.default_payment_fee_rate`."""

    def __init__(self) -> None:
        self.default = BillingSettings.current().default_payment_fee_rate
        self.rules: dict[tuple[int | None, str], list[tuple[dt.date, dt.date | None, Decimal]]] = defaultdict(list)
        for rule in CommissionRule.objects.order_by("-effective_from"):
            self.rules[(rule.merchant_id, rule.plan)].append(
                (rule.effective_from, rule.effective_to, rule.payment_fee_rate)
            )

    def rate(self, merchant_id: int, plan: str, day: dt.date) -> Decimal:
        for key in ((merchant_id, plan), (merchant_id, ""), (None, "")):
            for start, end, rate in self.rules.get(key, ()):
                if start <= day and (end is None or day <= end):
                    return rate
        return self.default


def fee_basis(rows: Sequence[tuple[int, int, str, dt.datetime]]) -> dict[int, int]:
    """Booking id → its payment-fee rate in hundredths of a percent (360 = 3.60 %), for (id, merchant id,
    plan, scheduled_at) rows: the same rule resolution as the month close (one vectorised pass), so the fee
    the statement deducts is the fee expected from PAY.JP."""
    if not rows:
        return {}
    try:
        from . import commission
    except ImportError:
        commission = None  # type: ignore[assignment]
    days = [scheduled.astimezone(TOKYO).date() for _pk, _m, _p, scheduled in rows]
    if commission is not None and hasattr(commission, "resolve"):
        frame = pl.DataFrame(
            {
                "id": [r[0] for r in rows],
                "merchant_id": [r[1] for r in rows],
                "plan": [r[2] or "" for r in rows],
                "day": days,
            },
            schema={"id": pl.Int64, "merchant_id": pl.Int64, "plan": pl.Utf8, "day": pl.Date},
        )
        resolved = commission.resolve(frame)
        return dict(zip(resolved["id"].to_list(), resolved["fee_bp"].to_list(), strict=True))
    rates = FeeRates()
    return {
        pk: int(rates.rate(merchant_id, plan, day) * 100)
        for (pk, merchant_id, plan, _s), day in zip(rows, days, strict=True)
    }


def fee_at(amount: int, basis: int) -> int:
    """amount × rate, fractions of a yen dropped (as `payjp.fee_for` and the month close compute it)."""
    return amount * basis // 10000


# --- matching -----------------------------------------------------------------------------------------


@dataclass
class _Group:
    """The bookings one charge paid (usually one)."""

    booking_ids: list[int] = field(default_factory=list)
    amount: int = 0
    refunded: int = 0
    fee: int = 0
    basis: int = 0  # the first booking's fee rate (hundredths of a percent)


@dataclass
class MatchResult:
    months: list[dt.date]
    items: int = 0
    kept: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def _months_with_data() -> list[dt.date]:
    months: set[dt.date] = set()
    charges = ProcessorTransaction.objects.filter(kind=ProcessorKind.CHARGE)
    months.update(moment.date() for moment in charges.datetimes("occurred_at", "month", tzinfo=TOKYO))
    months.update(
        d.replace(day=1)
        for d in ProcessorTransaction.objects.filter(kind=ProcessorKind.TRANSFER, scheduled_date__isnull=False).dates(
            "scheduled_date", "month"
        )
    )
    months.update(d.replace(day=1) for d in BankDeposit.objects.dates("date", "month"))
    return sorted(months)


def match(month: dt.date | None = None) -> MatchResult:
    """Rebuild the reconciliation items of `month` (every month with data when None). Re-runnable: items not
    resolved are replaced, resolved ones kept (and their transaction, booking or deposit not matched again)."""
    months = [month_start(month)] if month else _months_with_data()
    result = MatchResult(months=months)
    with translation.override(settings.LANGUAGE_CODE):
        for first in months:
            with transaction.atomic():
                items, kept = _match_month(first)
            result.items += items
            result.kept += kept
    counts = ReconciliationItem.objects.filter(month__in=months).values("status").annotate(n=Count("id"))
    result.by_status = {row["status"]: row["n"] for row in counts}
    return result


def _match_month(first: dt.date) -> tuple[int, int]:
    start, end = month_bounds(first)
    scope = ReconciliationItem.objects.filter(month=first)
    scope.exclude(status=MatchStatus.RESOLVED).delete()
    resolved = list(scope.values_list("transaction_id", "booking_id", "deposit_id", "kind"))
    done_txns = {t for t, _b, _d, _k in resolved if t}
    done_bookings = {(b, k) for t, b, _d, k in resolved if b and not t}
    # Deposits already matched (other months, or resolved here) are not offered again.
    used_deposits = set(ReconciliationItem.objects.filter(deposit__isnull=False).values_list("deposit_id", flat=True))
    now = timezone.now()
    items: list[ReconciliationItem] = []

    def add(
        kind: str,
        status: str,
        *,
        txn: int | None = None,
        booking: int | None = None,
        deposit: int | None = None,
        expected: int | None = None,
        actual: int | None = None,
        note: str = "",
    ) -> None:
        if txn is not None and txn in done_txns:
            return
        if txn is None and deposit is None and booking is not None and (booking, kind) in done_bookings:
            return
        difference = (actual or 0) - (expected or 0)
        items.append(
            ReconciliationItem(
                transaction_id=txn,
                booking_id=booking,
                deposit_id=deposit,
                kind=kind,
                month=first,
                status=status,
                expected=expected,
                actual=actual,
                difference=difference,
                note=note[:300],
                updated_at=now,
            )
        )

    month_charges = ProcessorTransaction.objects.filter(
        kind=ProcessorKind.CHARGE, occurred_at__gte=start, occurred_at__lt=end
    )
    charges = list(month_charges.values_list("id", "external_id", "amount", "transfer_id"))
    charge_ids = month_charges.values("external_id")

    groups: dict[str, _Group] = defaultdict(_Group)
    bookings = Booking.objects.filter(payment_id__in=charge_ids).values_list(
        "id", "payment_id", "amount", "refunded_amount", "provider_id", "plan", "scheduled_at"
    )
    rows = list(bookings.iterator(chunk_size=CHUNK))
    bases = fee_basis([(pk, provider_id, plan, when) for pk, _p, _a, _r, provider_id, plan, when in rows])
    for pk, payment_id, amount, refunded, _provider, _plan, _when in rows:
        target = groups[payment_id]
        if not target.booking_ids:
            target.basis = bases[pk]
        target.booking_ids.append(pk)
        target.amount += amount
        target.refunded += refunded
        target.fee += fee_at(amount, bases[pk])

    charge_amount: dict[str, int] = {}
    for pk, external_id, amount, _transfer in charges:
        charge_amount[external_id] = amount
        group = groups.get(external_id)
        if group is None:
            add(
                ReconciliationKind.CHARGE,
                MatchStatus.UNMATCHED,
                txn=pk,
                actual=amount,
                note=_("No booking has this payment id."),
            )
        elif group.amount == amount:
            add(
                ReconciliationKind.CHARGE,
                MatchStatus.MATCHED,
                txn=pk,
                booking=group.booking_ids[0],
                expected=group.amount,
                actual=amount,
                note=_many(group),
            )
        else:
            add(
                ReconciliationKind.CHARGE,
                MatchStatus.MISMATCHED,
                txn=pk,
                booking=group.booking_ids[0],
                expected=group.amount,
                actual=amount,
                note=_("The charge differs from the booking's amount.") + _many(group, lead=" "),
            )

    refunds = ProcessorTransaction.objects.filter(kind=ProcessorKind.REFUND, charge_id__in=charge_ids)
    refunded_charges: set[str] = set()
    for pk, charge_id, amount in refunds.values_list("id", "charge_id", "amount").iterator(chunk_size=CHUNK):
        refunded_charges.add(charge_id)
        group = groups.get(charge_id)
        if group is None:
            add(
                ReconciliationKind.REFUND,
                MatchStatus.UNMATCHED,
                txn=pk,
                actual=amount,
                note=_("No booking has this payment id."),
            )
        elif group.refunded == amount:
            add(
                ReconciliationKind.REFUND,
                MatchStatus.MATCHED,
                txn=pk,
                booking=group.booking_ids[0],
                expected=group.refunded,
                actual=amount,
            )
        else:
            add(
                ReconciliationKind.REFUND,
                MatchStatus.MISMATCHED,
                txn=pk,
                booking=group.booking_ids[0],
                expected=group.refunded,
                actual=amount,
                note=_("The refund differs from the booking's refunded amount."),
            )
    for charge_id, group in groups.items():
        if group.refunded and charge_id not in refunded_charges and charge_id in charge_amount:
            add(
                ReconciliationKind.REFUND,
                MatchStatus.MISMATCHED,
                booking=group.booking_ids[0],
                expected=group.refunded,
                actual=0,
                note=_("The booking was refunded but the charge shows no refund."),
            )

    fees = ProcessorTransaction.objects.filter(kind=ProcessorKind.FEE, charge_id__in=charge_ids)
    for pk, charge_id, amount in fees.values_list("id", "charge_id", "amount").iterator(chunk_size=CHUNK):
        group = groups.get(charge_id)
        if group is None:
            add(
                ReconciliationKind.FEE,
                MatchStatus.UNMATCHED,
                txn=pk,
                actual=amount,
                note=_("No booking has this payment id."),
            )
            continue
        charged = charge_amount.get(charge_id, group.amount)
        # The processor's fee is on what it charged; one booking's rate applies to that whole amount.
        expected = group.fee if len(group.booking_ids) > 1 else fee_at(charged, group.basis)
        status = MatchStatus.MATCHED if expected == amount else MatchStatus.MISMATCHED
        add(
            ReconciliationKind.FEE,
            status,
            txn=pk,
            booking=group.booking_ids[0],
            expected=expected,
            actual=amount,
            note=""
            if status == MatchStatus.MATCHED
            else _("The processor's fee differs from the merchant's fee rate."),
        )

    # Paid bookings of the month whose charge was never imported (in any month).
    # NOT EXISTS (an anti-join on the processor id index), not NOT IN: PostgreSQL runs NOT IN over a subquery
    # larger than work_mem row by row.
    imported = ProcessorTransaction.objects.filter(kind=ProcessorKind.CHARGE, external_id=OuterRef("payment_id"))
    missing = (
        Booking.objects.filter(booked_at__gte=start, booked_at__lt=end)
        .exclude(payment_id="")
        .filter(~Exists(imported))
        .values_list("id", "amount")
    )
    for pk, amount in missing.iterator(chunk_size=CHUNK):
        add(
            ReconciliationKind.CHARGE,
            MatchStatus.UNMATCHED,
            booking=pk,
            expected=amount,
            note=_("No PAY.JP charge was imported for this booking's payment id."),
        )

    _match_transfers(first, add, used_deposits)

    ReconciliationItem.objects.bulk_create(items, batch_size=2000)
    return len(items), len(resolved)


def _many(group: _Group, lead: str = "") -> str:
    if len(group.booking_ids) < 2:
        return ""
    return lead + _("The charge paid %(count)s bookings.") % {"count": len(group.booking_ids)}


def _window(day: dt.date, closed: set[dt.date]) -> tuple[dt.date, dt.date]:
    """± DEPOSIT_WINDOW_BUSINESS_DAYS business days around `day` (weekends, holidays and closed days skipped)."""
    low = high = day
    for _i in range(DEPOSIT_WINDOW_BUSINESS_DAYS):
        low -= dt.timedelta(days=1)
        while not is_business_day(low, closed):
            low -= dt.timedelta(days=1)
        high += dt.timedelta(days=1)
        while not is_business_day(high, closed):
            high += dt.timedelta(days=1)
    return low, high


def _business_distance(a: dt.date, b: dt.date, closed: set[dt.date]) -> int:
    low, high = min(a, b), max(a, b)
    days = (low + dt.timedelta(days=i) for i in range(1, (high - low).days + 1))
    return sum(1 for d in days if is_business_day(d, closed))


def expected_transfer(raw: Mapping[str, Any], transfer_id: str) -> tuple[int | None, str]:
    """What a transfer should pay: its charges − their refunds − their fees, from the imported charges of its
    term (the charges it lists, else those charged in term_start…term_end, else those marked with its id);
    without imported charges, the processor's own summary (charge_gross − charge_fee − refund_amount −
    dispute_amount). Returns (amount or None, how it was computed)."""
    charges = ProcessorTransaction.objects.filter(kind=ProcessorKind.CHARGE)
    listed = raw.get("charges") or []
    if listed:
        charges = charges.filter(external_id__in=listed)
    elif raw.get("term_start") and raw.get("term_end"):
        charges = charges.filter(
            occurred_at__gte=dt.datetime.fromisoformat(raw["term_start"]),
            occurred_at__lt=dt.datetime.fromisoformat(raw["term_end"]),
        )
    else:
        charges = charges.filter(transfer_id=transfer_id)
    ids = charges.values("external_id")
    totals = ProcessorTransaction.objects.filter(charge_id__in=ids).values("kind").annotate(total=Sum("amount"))
    by_kind = {row["kind"]: row["total"] or 0 for row in totals}
    if by_kind.get(ProcessorKind.CHARGE):
        amount = (
            by_kind[ProcessorKind.CHARGE] - by_kind.get(ProcessorKind.REFUND, 0) - by_kind.get(ProcessorKind.FEE, 0)
        )
        return amount, "charges"
    summary = raw.get("summary") or {}
    if summary.get("charge_gross") is not None:
        amount = (
            int(summary.get("charge_gross") or 0)
            - int(summary.get("charge_fee") or 0)
            - int(summary.get("refund_amount") or 0)
            - int(summary.get("dispute_amount") or 0)
        )
        return amount, "summary"
    return None, ""


def _match_transfers(first: dt.date, add: Any, used: set[int]) -> None:
    following = month_start(first, 1)
    transfers = list(
        ProcessorTransaction.objects.filter(
            kind=ProcessorKind.TRANSFER, scheduled_date__gte=first, scheduled_date__lt=following
        )
        .order_by("scheduled_date", "id")
        .values_list("id", "external_id", "amount", "scheduled_date", "raw")
    )
    margin = dt.timedelta(days=20)
    closed = closed_days(first - margin, following + margin)
    deposits = list(
        BankDeposit.objects.filter(date__gte=first - margin, date__lt=following + margin)
        .exclude(id__in=used)
        .values_list("id", "date", "amount", "description")
    )
    taken: set[int] = set()
    for pk, external_id, amount, scheduled, raw in transfers:
        if scheduled is None:
            continue
        low, high = _window(scheduled, closed)
        candidates = [
            (_business_distance(day, scheduled, closed), day, dep_id)
            for dep_id, day, dep_amount, _desc in deposits
            if dep_id not in taken and dep_amount == amount and low <= day <= high
        ]
        expected, _basis = expected_transfer(raw or {}, external_id)
        if not candidates:
            add(
                ReconciliationKind.TRANSFER,
                MatchStatus.UNMATCHED,
                txn=pk,
                expected=expected,
                actual=amount,
                note=_("No bank deposit of this amount within %(days)s business days of %(date)s.")
                % {"days": DEPOSIT_WINDOW_BUSINESS_DAYS, "date": scheduled.isoformat()},
            )
            continue
        _distance, _day, deposit_id = min(candidates)
        taken.add(deposit_id)
        if expected is not None and expected != amount:
            add(
                ReconciliationKind.TRANSFER,
                MatchStatus.MISMATCHED,
                txn=pk,
                deposit=deposit_id,
                expected=expected,
                actual=amount,
                note=_("The transfer differs from its charges less refunds and fees."),
            )
        else:
            add(
                ReconciliationKind.TRANSFER,
                MatchStatus.MATCHED,
                txn=pk,
                deposit=deposit_id,
                expected=expected if expected is not None else amount,
                actual=amount,
            )
    for dep_id, day, amount, description in deposits:
        if dep_id in taken or not (first <= day < following):
            continue
        if PAYJP_DEPOSIT.search(unicodedata.normalize("NFKC", description)):
            add(
                ReconciliationKind.DEPOSIT,
                MatchStatus.UNMATCHED,
                deposit=dep_id,
                actual=amount,
                note=_("No PAY.JP transfer matches this deposit."),
            )


# --- resolving ----------------------------------------------------------------------------------------

AUDITED = ("status", "resolution", "resolved_by", "resolved_at")


def resolve(item: ReconciliationItem, reason: str, actor: Any = None, *, via: str = "ui") -> ReconciliationItem:
    """Mark an item resolved with the operator's reason (required), who and when; audited."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"resolution": _("Give the reason this item is resolved.")})
    if item.status == MatchStatus.RESOLVED:
        raise ValidationError({"resolution": _("This item is already resolved.")})
    with transaction.atomic():
        item = ReconciliationItem.objects.select_for_update().get(pk=item.pk)
        before = snapshot(item, AUDITED)
        item.status = MatchStatus.RESOLVED
        item.resolution = reason
        item.resolved_by = _actor(actor)
        item.resolved_at = timezone.now()
        item.updated_at = item.resolved_at
        item.save(update_fields=[*AUDITED, "updated_at"])
        account_id = item.booking.provider_id if item.booking_id and item.booking else None
        record_change(
            actor=_actor(actor),
            obj=item,
            action=AuditAction.UPDATE,
            before=before,
            after=snapshot(item, AUDITED),
            account_id=account_id,
            via=via,
        )
    return item


# --- reading ------------------------------------------------------------------------------------------


def summary(months: int = 12) -> list[dict[str, Any]]:
    """Per month (newest first): count, difference total and absolute difference per status."""
    rows = (
        ReconciliationItem.objects.values("month", "status")
        .annotate(
            n=Count("id"), diff_total=Sum("difference"), gap_total=Sum(Abs("difference")), actual_total=Sum("actual")
        )
        .order_by("-month")
    )
    table: dict[dt.date, dict[str, Any]] = {}
    for row in rows:
        entry = table.setdefault(row["month"], {"month": row["month"], "statuses": {}, "total": 0, "open": 0})
        entry["statuses"][row["status"]] = {
            "count": row["n"],
            "difference": row["diff_total"] or 0,
            "gap": row["gap_total"] or 0,
            "actual": row["actual_total"] or 0,
        }
        entry["total"] += row["n"]
        if row["status"] in (MatchStatus.MISMATCHED, MatchStatus.UNMATCHED):
            entry["open"] += row["n"]
    return list(table.values())[:months]


def items(status: str = "", kind: str = "", month: dt.date | None = None) -> Any:
    """Items filtered, newest month first, largest differences first (shared with the API)."""
    qs = ReconciliationItem.objects.all()
    if status in MatchStatus.values:
        qs = qs.filter(status=status)
    elif status == "open":
        qs = qs.filter(status__in=[MatchStatus.MISMATCHED, MatchStatus.UNMATCHED])
    if kind in ReconciliationKind.values:
        qs = qs.filter(kind=kind)
    if month:
        qs = qs.filter(month=month_start(month))
    return qs.select_related("transaction", "booking", "booking__provider", "deposit", "resolved_by").order_by(
        "-month", "status", "-difference", "id"
    )


# --- demo ---------------------------------------------------------------------------------------------


def demo_data(
    bookings: Iterable[Booking] | None = None,
    month: dt.date | None = None,
    *,
    seed: int = 3,
    fee_rate: Decimal | None = None,
    mismatches: int = 3,
) -> dict[str, int]:
    """A realistic month of PAY.JP data for the demo's bookings of `month` (last month by default): a charge per
    paid booking (refunds where the booking was refunded, the fee at the merchant's rate), weekly transfers
    paid into the bank three business days after each term, plus a few deliberate problems: a charge with
    a different amount, a booking whose charge is missing, a charge for no booking, a refund that differs, a
    fee at the wrong rate, and a transfer whose deposit never arrived. Returns counts. Idempotent (ids are
    derived from the bookings)."""
    rng = random.Random(seed)
    first = month_start(month or month_start(timezone.localdate(), -1))
    start, end = month_bounds(first)
    if bookings is None:
        bookings = Booking.objects.filter(booked_at__gte=start, booked_at__lt=end).order_by("id")
    chosen = list(bookings)
    changed: list[Booking] = []
    objects: list[dict[str, Any]] = []
    for booking in chosen:
        if not booking.payment_id:
            booking.payment_id = f"ch_demo{booking.pk:012d}"
            changed.append(booking)
    if changed:
        Booking.objects.bulk_update(changed, ["payment_id"], batch_size=2000)
    problems = chosen[:]
    rng.shuffle(problems)
    special = {b.pk: i for i, b in enumerate(problems[: max(0, mismatches) * 5])}
    terms: dict[int, list[dict[str, Any]]] = defaultdict(list)
    bases = fee_basis([(b.pk, b.provider_id, b.plan, b.scheduled_at) for b in chosen])
    for booking in chosen:
        role = special.get(booking.pk, -1) % 5 if booking.pk in special else -1
        if role == 1:  # the charge never reached the import
            continue
        rate = fee_rate if fee_rate is not None else Decimal(bases[booking.pk]) / 100
        amount = booking.amount + (500 if role == 0 else 0)
        refunded = booking.refunded_amount + (1000 if role == 2 and booking.refunded_amount + 1000 <= amount else 0)
        charged_rate = rate + Decimal("0.5") if role == 3 else rate
        created = max(booking.booked_at, start)
        charge = {
            "object": "charge",
            "id": booking.payment_id,
            "amount": amount,
            "amount_refunded": refunded,
            "refunded": refunded > 0,
            "captured": True,
            "paid": True,
            "created": int(created.timestamp()),
            "currency": "jpy",
            "fee_rate": f"{charged_rate:.2f}",
            "metadata": {"booking": booking.external_id},
        }
        objects.append(charge)
        week = min(3, (created.astimezone(TOKYO).day - 1) // 7)
        terms[week].append(charge)
    for i in range(mismatches):
        stray = {
            "object": "charge",
            "id": f"ch_demo_stray{first:%Y%m}{i}",
            "amount": 3300 * (i + 1),
            "amount_refunded": 0,
            "captured": True,
            "paid": True,
            "created": int((start + dt.timedelta(days=3 + i)).timestamp()),
            "currency": "jpy",
            "fee_rate": "3.60",
        }
        objects.append(stray)
        terms[0].append(stray)
    deposits: list[BankDeposit] = []
    for week, charges in sorted(terms.items()):
        gross = sum(c["amount"] for c in charges)
        refunds = sum(c["amount_refunded"] for c in charges)
        fees = sum(payjp.fee_for(c["amount"], Decimal(c["fee_rate"])) for c in charges)
        term_end = min(first + dt.timedelta(days=7 * (week + 1)), month_start(first, 1))
        scheduled = add_business_days(term_end, 3)
        transfer_id = f"tr_demo{first:%Y%m}w{week}"
        objects.append(
            {
                "object": "transfer",
                "id": transfer_id,
                "amount": gross - refunds - fees,
                "currency": "jpy",
                "scheduled_date": scheduled.isoformat(),
                "status": "paid",
                "summary": {
                    "charge_count": len(charges),
                    "charge_fee": fees,
                    "charge_gross": gross,
                    "net": gross - fees - refunds,
                    "refund_amount": refunds,
                    "refund_count": sum(1 for c in charges if c["amount_refunded"]),
                },
                "charges": [c["id"] for c in charges],
            }
        )
        if week == 3 and mismatches:
            continue  # the deposit that never arrived
        deposit_day = add_business_days(scheduled, rng.choice([0, 0, 1]))
        deposits.append(
            BankDeposit(
                date=deposit_day,
                amount=gross - refunds - fees,
                description="ﾌﾘｺﾐ ﾍﾟｲｼﾞｪｲﾋﾟｰ(ｶ",
                reference=f"demo:{transfer_id}",
            )
        )
    record = import_payjp_objects(objects, filename="demo")
    known = set(
        BankDeposit.objects.filter(reference__in=[d.reference for d in deposits]).values_list("reference", flat=True)
    )
    BankDeposit.objects.bulk_create([d for d in deposits if d.reference not in known])
    return {
        "charges": sum(1 for o in objects if o["object"] == "charge"),
        "transfers": len(terms),
        "deposits": len(deposits),
        "created": record.created,
    }
