"""Commission and payment-fee rules: which rates apply to a booking, and creating or ending a rule.

The most specific rule in force on the booking's day (its scheduled date in Asia/Tokyo) applies:
merchant + plan, else merchant, else the default rule (no merchant), else the BillingSettings defaults.
Rules of one merchant and plan never overlap in time, so at most one rule of each level applies.
Rates are Decimal percentages with two decimals; the close turns them into integer hundredths of a percent
(`basis`) so that every amount is computed in integers.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils.translation import gettext as _

from banso.accounts.models import Account
from banso.core.choices import AuditAction
from banso.core.models import User
from banso.core.services import record_change, snapshot

from .models import BillingSettings, CloseStatus, CommissionRule, MonthClose

RULE_AUDITED = ("merchant", "plan", "commission_rate", "payment_fee_rate", "effective_from", "effective_to")
FAR_FUTURE = dt.date(9999, 12, 31)


def basis(rate: Decimal) -> int:
    """A percentage as integer hundredths of a percent: 10.50 % → 1050 (amount × basis // 10000)."""
    return int((rate * 100).to_integral_value())


def last_closed_month() -> dt.date | None:
    month: dt.date | None = MonthClose.objects.filter(close_status=CloseStatus.CLOSED).aggregate(m=Max("as_of"))["m"]
    return month


def rules_frame() -> pl.DataFrame:
    """Every rule as merchant_id (null = default), plan, start, end (inclusive), commission and fee basis."""
    rows = [
        (
            r.merchant_id,
            r.plan,
            r.effective_from,
            r.effective_to or FAR_FUTURE,
            basis(r.commission_rate),
            basis(r.payment_fee_rate),
        )
        for r in CommissionRule.objects.all()
    ]
    schema = {
        "merchant_id": pl.Int64,
        "plan": pl.Utf8,
        "start": pl.Date,
        "end": pl.Date,
        "commission_bp": pl.Int64,
        "fee_bp": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def resolve(bookings: pl.DataFrame) -> pl.DataFrame:
    """`bookings` (id, merchant_id, plan, day) with commission_bp and fee_bp added, by the most specific
    rule in force on `day`. Vectorised: each level is one join on its keys filtered to the day."""
    rules = rules_frame()
    billing = BillingSettings.current()
    keys = bookings.select("id", "merchant_id", "plan", "day")
    levels = [
        (rules.filter(pl.col("merchant_id").is_not_null() & (pl.col("plan") != "")), ["merchant_id", "plan"]),
        (rules.filter(pl.col("merchant_id").is_not_null() & (pl.col("plan") == "")).drop("plan"), ["merchant_id"]),
        (rules.filter(pl.col("merchant_id").is_null() & (pl.col("plan") == "")).drop("merchant_id", "plan"), []),
    ]
    found = []
    for level, (table, on) in enumerate(levels):
        if table.is_empty():
            continue
        joined = keys.join(table, on=on, how="inner") if on else keys.join(table, how="cross")
        found.append(
            joined.filter((pl.col("start") <= pl.col("day")) & (pl.col("day") <= pl.col("end"))).select(
                "id", "commission_bp", "fee_bp", pl.lit(level).alias("level")
            )
        )
    schema = {"id": pl.Int64, "commission_bp": pl.Int64, "fee_bp": pl.Int64, "level": pl.Int32}
    matches = (
        pl.concat([f.cast(schema) for f in found]) if found else pl.DataFrame(schema=schema)  # type: ignore[arg-type]
    )
    best = matches.sort("id", "level").unique("id", keep="first").drop("level")
    return bookings.join(best, on="id", how="left").with_columns(
        pl.col("commission_bp").fill_null(basis(billing.default_commission_rate)),
        pl.col("fee_bp").fill_null(basis(billing.default_payment_fee_rate)),
    )


def rates_for(merchant_id: int | None, plan: str, day: dt.date) -> tuple[Decimal, Decimal]:
    """(commission rate, payment fee rate) in percent for one booking, by the same rules as `resolve`."""
    frame = resolve(pl.DataFrame({"id": [1], "merchant_id": [merchant_id], "plan": [plan], "day": [day]}))
    return Decimal(int(frame["commission_bp"][0])) / 100, Decimal(int(frame["fee_bp"][0])) / 100


def _overlapping(rule: CommissionRule) -> CommissionRule | None:
    end = rule.effective_to or FAR_FUTURE
    others = CommissionRule.objects.filter(merchant_id=rule.merchant_id, plan=rule.plan).exclude(pk=rule.pk)
    return (
        others.filter(effective_from__lte=end)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=rule.effective_from))
        .order_by("effective_from")
        .first()
    )


def _check(rule: CommissionRule, *, changed: tuple[str, ...]) -> None:
    errors: dict[str, str] = {}
    if rule.plan and rule.merchant_id is None:
        errors["plan"] = _("A plan-specific rule needs a merchant.")
    for name in ("commission_rate", "payment_fee_rate"):
        value = getattr(rule, name)
        if value is None or not Decimal("0") <= value <= Decimal("100"):
            errors[name] = _("Enter a percentage between 0 and 100.")
    if rule.effective_to and rule.effective_to < rule.effective_from:
        errors["effective_to"] = _("The end date must not be before the start date.")
    closed = last_closed_month()
    if closed is not None:
        from banso.core.calendar import month_start

        first_open = month_start(closed, 1)
        for name in changed:
            day = getattr(rule, name)
            if day is not None and day < first_open:
                errors[name] = _("%(month)s is closed: a rule can only start or end from %(day)s on.") % {
                    "month": f"{closed:%Y-%m}",
                    "day": first_open.isoformat(),
                }
    if not errors:
        other = _overlapping(rule)
        if other is not None:
            field = "effective_to" if other.effective_from > rule.effective_from else "effective_from"
            errors[field] = _(
                "This period overlaps the rule from %(start)s (%(rate)s%%) for the same merchant and plan."
            ) % {
                "start": other.effective_from.isoformat(),
                "rate": other.commission_rate,
            }
    if errors:
        raise ValidationError(errors)


def create_rule(
    *,
    actor: User | None,
    merchant: Account | None,
    plan: str,
    commission_rate: Decimal,
    payment_fee_rate: Decimal,
    effective_from: dt.date,
    effective_to: dt.date | None = None,
    via: str = "ui",
) -> CommissionRule:
    """Add a rule; refuses (ValidationError naming the field) an overlap with the same merchant and plan, and
    dates inside a closed month (what was closed stays as it was billed)."""
    rule = CommissionRule(
        merchant=merchant,
        plan=(plan or "").strip(),
        commission_rate=commission_rate,
        payment_fee_rate=payment_fee_rate,
        effective_from=effective_from,
        effective_to=effective_to,
    )
    with transaction.atomic():
        _check(rule, changed=("effective_from", "effective_to"))
        rule.save()
        record_change(
            actor=actor,
            obj=rule,
            action=AuditAction.CREATE,
            before=None,
            after=snapshot(rule, RULE_AUDITED),
            account_id=rule.merchant_id,
            via=via,
        )
    return rule


def end_rule(rule: CommissionRule, effective_to: dt.date, *, actor: User | None, via: str = "ui") -> CommissionRule:
    """End a rule on `effective_to` (inclusive); a later rule can then take over."""
    with transaction.atomic():
        rule = CommissionRule.objects.select_for_update().get(pk=rule.pk)
        before = snapshot(rule, RULE_AUDITED)
        rule.effective_to = effective_to
        _check(rule, changed=("effective_to",))
        rule.save(update_fields=["effective_to"])
        record_change(
            actor=actor,
            obj=rule,
            action=AuditAction.UPDATE,
            before=before,
            after=snapshot(rule, RULE_AUDITED),
            account_id=rule.merchant_id,
            via=via,
        )
    return rule


def rule_dict(rule: CommissionRule) -> dict[str, Any]:
    return {
        "id": rule.pk,
        "merchant_id": rule.merchant_id,
        "plan": rule.plan,
        "commission_rate": str(rule.commission_rate),
        "payment_fee_rate": str(rule.payment_fee_rate),
        "effective_from": rule.effective_from.isoformat(),
        "effective_to": rule.effective_to.isoformat() if rule.effective_to else None,
    }
