"""What operators add to a month before it closes: other charges billed on the merchant's invoice
(MerchantCharge, 10 % or reduced 8 %) and manual corrections of a payout (Adjustment), each audited.

Both only go into a month that is still open: a closed month never changes, so a correction of it is an
adjustment settled in a later, open month.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from banso.accounts.models import Account
from banso.core.calendar import month_start
from banso.core.choices import AuditAction
from banso.core.models import User
from banso.core.services import record_change, snapshot

from .closing import closed_close
from .models import Adjustment, AdjustmentKind, MerchantCharge

CHARGE_AUDITED = ("merchant", "month", "description", "amount", "tax_rate")
ADJUSTMENT_AUDITED = ("merchant", "month", "kind", "description", "reason", "payout_amount")


def _open_month(month: dt.date | None, errors: dict[str, str]) -> dt.date | None:
    if month is None:
        errors["month"] = _("Enter the month (YYYY-MM).")
        return None
    month = month_start(month)
    if closed_close(month) is not None:
        errors["month"] = _("%(month)s is closed: add it to a later, open month.") % {"month": f"{month:%Y-%m}"}
    return month


def add_charge(
    *,
    actor: User | None,
    merchant: Account | None,
    month: dt.date | None,
    description: str,
    amount: int | None,
    tax_rate: int | None,
    via: str = "ui",
) -> MerchantCharge:
    """Bill `merchant` for something else in `month` (amount tax excluded), on that month's invoice."""
    errors: dict[str, str] = {}
    if merchant is None:
        errors["merchant"] = _("Choose the merchant.")
    month = _open_month(month, errors)
    description = (description or "").strip()
    if not description:
        errors["description"] = _("Enter what is charged.")
    if amount is None or amount <= 0:
        errors["amount"] = _("Enter an amount of at least 1 yen (tax excluded).")
    if tax_rate not in (8, 10):
        errors["tax_rate"] = _("The tax rate is 10% or the reduced 8%.")
    if errors:
        raise ValidationError(errors)
    assert merchant is not None and month is not None and amount is not None and tax_rate is not None
    charge = MerchantCharge(
        merchant=merchant,
        month=month,
        description=description[:200],
        amount=amount,
        tax_rate=tax_rate,
        created_by=actor,
    )
    with transaction.atomic():
        charge.save()
        record_change(
            actor=actor,
            obj=charge,
            action=AuditAction.CREATE,
            before=None,
            after=snapshot(charge, CHARGE_AUDITED),
            account_id=merchant.pk,
            via=via,
        )
    return charge


def add_adjustment(
    *,
    actor: User | None,
    merchant: Account | None,
    month: dt.date | None,
    description: str,
    reason: str,
    payout_amount: int | None,
    via: str = "ui",
) -> Adjustment:
    """A manual correction of the merchant's payout, settled in the open `month` (signed yen: positive pays
    more, negative less). The reason is required and kept with the audit entry."""
    errors: dict[str, str] = {}
    if merchant is None:
        errors["merchant"] = _("Choose the merchant.")
    month = _open_month(month, errors)
    description, reason = (description or "").strip(), (reason or "").strip()
    if not description:
        errors["description"] = _("Enter a short description for the statement.")
    if not reason:
        errors["reason"] = _("Enter the reason for the correction.")
    if not payout_amount:
        errors["payout_amount"] = _("Enter the change in yen (positive pays more, negative less); not 0.")
    if errors:
        raise ValidationError(errors)
    assert merchant is not None and month is not None and payout_amount is not None
    adjustment = Adjustment(
        merchant=merchant,
        month=month,
        kind=AdjustmentKind.CORRECTION,
        description=description[:200],
        reason=reason,
        payout_amount=payout_amount,
        created_by=actor,
    )
    with transaction.atomic():
        adjustment.save()
        record_change(
            actor=actor,
            obj=adjustment,
            action=AuditAction.CREATE,
            before=None,
            after=snapshot(adjustment, ADJUSTMENT_AUDITED),
            account_id=merchant.pk,
            via=via,
        )
    return adjustment
