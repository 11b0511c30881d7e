"""Issuing the operator's qualified invoices (適格請求書) and return invoices (適格返還請求書) to merchants:
gapless numbers, the issuer copied in from BillingSettings, totals and consumption tax once per rate.

`issue_invoices` is the one way documents are created (the month close calls it with every merchant at once;
`issue_credit_note` wraps it for one refund). It runs inside the caller's transaction, so numbers taken by a
transaction that rolls back are given back: DocumentSequence rows are locked (select_for_update) until the
transaction ends, and concurrent issuers wait for each other instead of skipping numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from banso.accounts.models import Account
from banso.core.choices import AuditAction
from banso.core.models import User
from banso.core.services import record_change

from .models import BillingSettings, DocumentSequence, Invoice, InvoiceKind, InvoiceLine, MonthClose
from .tax import RATES, totals_per_rate, validate_registration_number

STATEMENT_SERIES = "statement"


class IssueError(ValueError):
    """A document cannot be issued (no lines, bad amount or rate, the issuer's registration number missing)."""


@dataclass
class LineSpec:
    """One line of a document: `amount` tax excluded (>= 0; a credit note carries the returned amount)."""

    description: str
    amount: int
    tax_rate: int
    date: dt.date | None = None
    original_date: dt.date | None = None


@dataclass
class InvoiceSpec:
    merchant_id: int
    recipient_name: str
    period_start: dt.date
    period_end: dt.date
    lines: list[LineSpec] = field(default_factory=list)
    statement_id: int | None = None
    original_id: int | None = None
    due_date: dt.date | None = None


def format_number(prefix: str, month: dt.date, sequence: int) -> str:
    """`INV-202610-000123`: the prefix, the month the document is about, and the gapless sequence of its
    series (the sequence alone is unique; the month helps people find it)."""
    return f"{prefix}-{month:%Y%m}-{sequence:06d}"


def take_numbers(series: str, count: int) -> int:
    """Reserve `count` consecutive numbers of `series` and return the first. The row stays locked until the
    caller's transaction ends; a rollback gives the numbers back."""
    if count < 0:
        raise ValueError("count must not be negative")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("take_numbers must run inside the transaction that writes the documents")
    DocumentSequence.objects.bulk_create([DocumentSequence(series=series, next_value=1)], ignore_conflicts=True)
    row = DocumentSequence.objects.select_for_update().get(series=series)
    first = row.next_value
    if count:
        DocumentSequence.objects.filter(series=series).update(next_value=F("next_value") + count)
    return first


def issuer_details(billing: BillingSettings | None = None) -> tuple[str, str, str]:
    """(issuer name, registration number, address) to print, refusing when they would make an invalid
    qualified invoice."""
    billing = billing or BillingSettings.current()
    if not billing.issuer_name.strip():
        raise IssueError(_("Enter the issuer name in the billing settings before issuing invoices."))
    if not billing.registration_number:
        raise IssueError(_("Enter the registration number in the billing settings before issuing invoices."))
    try:
        number = validate_registration_number(billing.registration_number)
    except ValidationError as exc:
        raise IssueError(
            _("The registration number in the billing settings is invalid: %(error)s")
            % {"error": " ".join(exc.messages)}
        ) from exc
    return billing.issuer_name.strip(), number, billing.address


def _check_spec(index: int, spec: InvoiceSpec) -> None:
    where = _("document %(index)d (%(recipient)s)") % {"index": index + 1, "recipient": spec.recipient_name}
    if not spec.lines:
        raise IssueError(_("%(where)s has no lines: a document needs at least one.") % {"where": where})
    if spec.period_end < spec.period_start:
        raise IssueError(_("%(where)s ends before it starts.") % {"where": where})
    for n, line in enumerate(spec.lines, start=1):
        if line.tax_rate not in RATES:
            raise IssueError(
                _("%(where)s line %(line)d: the tax rate must be 10 or 8 (%(rate)s given).")
                % {"where": where, "line": n, "rate": line.tax_rate}
            )
        if not isinstance(line.amount, int) or line.amount < 0:
            raise IssueError(
                _("%(where)s line %(line)d: the amount must be a whole number of yen, zero or more.")
                % {"where": where, "line": n}
            )
        if not line.description.strip():
            raise IssueError(_("%(where)s line %(line)d has no description.") % {"where": where, "line": n})


def issue_invoices(
    specs: Sequence[InvoiceSpec],
    *,
    issue_date: dt.date,
    kind: str = InvoiceKind.INVOICE,
    close: MonthClose | None = None,
) -> list[Invoice]:
    """Create one numbered document per spec (in order), with its lines and totals per rate. Call inside the
    caller's transaction. Refuses everything when one spec is invalid or the issuer is not set up."""
    if kind not in InvoiceKind.values:
        raise ValueError(f"unknown invoice kind {kind}")
    if not specs:
        return []
    billing = BillingSettings.current()
    issuer_name, registration_number, issuer_address = issuer_details(billing)
    for index, spec in enumerate(specs):
        _check_spec(index, spec)
    prefix = billing.credit_note_prefix if kind == InvoiceKind.CREDIT_NOTE else billing.invoice_prefix
    terms = dt.timedelta(days=billing.payment_terms_days)
    first = take_numbers(str(kind), len(specs))
    invoices = []
    for offset, spec in enumerate(specs):
        totals = totals_per_rate((line.amount, line.tax_rate) for line in spec.lines)
        t10, t8 = totals.get(10), totals.get(8)
        sequence = first + offset
        due = spec.due_date
        if due is None and kind == InvoiceKind.INVOICE:
            due = spec.period_end + terms
        invoices.append(
            Invoice(
                kind=kind,
                number=format_number(prefix, spec.period_start, sequence),
                sequence=sequence,
                close=close,
                merchant_id=spec.merchant_id,
                statement_id=spec.statement_id,
                original_id=spec.original_id,
                issue_date=issue_date,
                period_start=spec.period_start,
                period_end=spec.period_end,
                due_date=due,
                issuer_name=issuer_name,
                registration_number=registration_number,
                issuer_address=issuer_address,
                recipient_name=spec.recipient_name,
                subtotal_10=t10.subtotal if t10 else 0,
                tax_10=t10.tax if t10 else 0,
                subtotal_8=t8.subtotal if t8 else 0,
                tax_8=t8.tax if t8 else 0,
                total=sum(t.total for t in totals.values()),
            )
        )
    created = Invoice.objects.bulk_create(invoices, batch_size=2000)
    if any(invoice.pk is None for invoice in created):
        # Databases that cannot return ids from a bulk insert: read them back by the unique sequence.
        ids = dict(
            Invoice.objects.filter(kind=kind, sequence__gte=first, sequence__lt=first + len(specs)).values_list(
                "sequence", "id"
            )
        )
        for invoice in created:
            invoice.pk = invoice.id = ids[invoice.sequence]
    lines = [
        InvoiceLine(
            invoice_id=invoice.pk,
            position=position,
            description=line.description,
            date=line.date,
            amount=line.amount,
            tax_rate=line.tax_rate,
            original_date=line.original_date,
        )
        for invoice, spec in zip(created, specs, strict=True)
        for position, line in enumerate(spec.lines, start=1)
    ]
    InvoiceLine.objects.bulk_create(lines, batch_size=5000)
    return created


def issue_credit_note(
    *,
    merchant: Account,
    original: Invoice | None,
    lines: list[LineSpec],
    issue_date: dt.date,
    recipient_name: str | None = None,
    close: MonthClose | None = None,
) -> Invoice:
    """Issue one 適格返還請求書 for amounts given back to `merchant` (e.g. commission on a booking refunded
    after its month closed). Each line carries the return date (`date`, default the issue date) and the
    original transaction date (`original_date`, default the end of the original invoice's period)."""
    if original is not None and original.merchant_id != merchant.pk:
        raise IssueError(_("The original invoice %(number)s is not this merchant's.") % {"number": original.number})
    if original is not None and original.kind != InvoiceKind.INVOICE:
        raise IssueError(_("A credit note can only refer to an invoice."))
    filled = []
    for n, line in enumerate(lines, start=1):
        original_date = line.original_date or (original.period_end if original else None)
        if original_date is None:
            raise IssueError(
                _("Line %(line)d: enter the date of the original transaction for the credit note.") % {"line": n}
            )
        filled.append(
            LineSpec(
                description=line.description,
                amount=line.amount,
                tax_rate=line.tax_rate,
                date=line.date or issue_date,
                original_date=original_date,
            )
        )
    dates = [line.date for line in filled if line.date] or [issue_date]
    spec = InvoiceSpec(
        merchant_id=merchant.pk,
        recipient_name=recipient_name or merchant.name,
        period_start=min(dates),
        period_end=max(dates),
        lines=filled,
        original_id=original.pk if original else None,
    )
    with transaction.atomic():
        (invoice,) = issue_invoices([spec], issue_date=issue_date, kind=InvoiceKind.CREDIT_NOTE, close=close)
    return invoice


def update_billing_settings(values: Mapping[str, Any], *, actor: User | None, via: str = "ui") -> BillingSettings:
    """Change the operator's billing settings (fields not given keep their value), validated by
    BillingSettingsForm (the registration number's check digit among others), with an audit entry.
    Raises ValidationError naming the fields; nothing is written then."""
    from .invoice_forms import SETTINGS_FIELDS, BillingSettingsForm

    with transaction.atomic():
        BillingSettings.current()
        billing = BillingSettings.objects.select_for_update().get(pk=1)
        before = {name: str(getattr(billing, name)) for name in SETTINGS_FIELDS}
        data = {name: getattr(billing, name) for name in SETTINGS_FIELDS}
        data.update({name: value for name, value in values.items() if name in SETTINGS_FIELDS})
        form = BillingSettingsForm(data, instance=billing)
        if not form.is_valid():
            raise ValidationError(form.errors.as_data())
        billing = form.save()  # type: ignore[assignment,unused-ignore]
        after = {name: str(getattr(billing, name)) for name in SETTINGS_FIELDS}
        record_change(
            actor=actor, obj=billing, action=AuditAction.UPDATE, before=before, after=after, account_id=None, via=via
        )
    return billing
