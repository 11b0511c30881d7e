"""Merchant operations (seed 003): month close into statements (精算書) and qualified invoices (適格請求書),
credit notes (適格返還請求書), adjustments, card-processor reconciliation and member newsletters.

Money is integer yen; rates are Decimal percentages. A closed month is immutable: its statements,
invoices and lines are never updated; later refunds and corrections become adjustments of a later month
(and credit notes). See docs/BILLING.md.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from banso.accounts.models import Account, EndUser
from banso.core.models import BackgroundRun
from banso.marketplace.models import Booking

PERCENT = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]


class BillingSettings(models.Model):
    """The operator's own details printed on every invoice (one row, pk=1)."""

    issuer_name = models.CharField(_("issuer name"), max_length=200, default="")
    # 登録番号: "T" + 13 digits with a valid check digit (validated in billing.invoicing).
    registration_number = models.CharField(_("registration number"), max_length=14, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    bank_account = models.CharField(_("bank account for payments"), max_length=300, blank=True)
    invoice_prefix = models.CharField(_("invoice number prefix"), max_length=10, default="INV")
    credit_note_prefix = models.CharField(_("credit note number prefix"), max_length=10, default="CN")
    default_commission_rate = models.DecimalField(
        _("default commission rate (%)"), max_digits=5, decimal_places=2, default=Decimal("10.00"), validators=PERCENT
    )
    default_payment_fee_rate = models.DecimalField(
        _("default payment fee rate (%)"), max_digits=5, decimal_places=2, default=Decimal("3.60"), validators=PERCENT
    )
    # Days after the month end on which payouts are made and invoices are due.
    payment_terms_days = models.PositiveSmallIntegerField(_("payment terms (days after month end)"), default=30)
    # Monthly report: a member "repeats" when they book again within this many days.
    repeat_window_days = models.PositiveSmallIntegerField(_("repeat window (days)"), default=365)
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        _("fiscal year start month"), default=4, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )

    class Meta:
        verbose_name = _("billing settings")
        verbose_name_plural = _("billing settings")

    def __str__(self) -> str:
        return self.issuer_name

    @classmethod
    def current(cls) -> BillingSettings:
        return cls.objects.get_or_create(pk=1)[0]


class CommissionRule(models.Model):
    """A commission and payment-fee rate for a merchant (or every merchant), optionally one plan, valid from a
    date. The most specific rule in force on the booking's date applies: merchant+plan, then merchant, then
    the default (no merchant)."""

    merchant = models.ForeignKey(
        Account, verbose_name=_("merchant"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    plan = models.CharField(_("plan"), max_length=200, blank=True)
    commission_rate = models.DecimalField(_("commission rate (%)"), max_digits=5, decimal_places=2, validators=PERCENT)
    payment_fee_rate = models.DecimalField(
        _("payment fee rate (%)"), max_digits=5, decimal_places=2, validators=PERCENT
    )
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective to"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("commission rule")
        verbose_name_plural = _("commission rules")
        ordering = ["merchant_id", "plan", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "plan", "effective_from"], name="commission_rule_uniq"),
            models.CheckConstraint(
                condition=models.Q(effective_to__isnull=True) | models.Q(effective_to__gte=models.F("effective_from")),
                name="commission_rule_dates",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant or '*'} {self.plan or '*'} {self.commission_rate}%"


class MerchantCharge(models.Model):
    """Something else the operator sells a merchant in a month (an ad slot at 10 %, souvenirs for a
    campaign at the reduced 8 %): billed on that month's invoice. Amounts exclude tax."""

    merchant = models.ForeignKey(Account, verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="+")
    month = models.DateField(_("month"))  # the first day of the month it is billed in
    description = models.CharField(_("description"), max_length=200)
    amount = models.PositiveBigIntegerField(_("amount (yen, tax excluded)"))
    tax_rate = models.PositiveSmallIntegerField(_("tax rate (%)"), default=10)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("merchant charge")
        verbose_name_plural = _("merchant charges")
        constraints = [models.CheckConstraint(condition=models.Q(tax_rate__in=[8, 10]), name="charge_tax_8_or_10")]
        indexes = [models.Index(fields=["month", "merchant"])]

    def __str__(self) -> str:
        return self.description


class AdjustmentKind(models.TextChoices):
    REFUND = "refund", _("Refund after close")
    CORRECTION = "correction", _("Correction")
    OTHER = "other", _("Other")


class Adjustment(models.Model):
    """A change to a merchant's payout decided after a month closed, settled in `month` (a later one).
    `payout_amount` is signed: positive raises the payout, negative lowers it. `commission_amount` (signed,
    tax excluded) is the commission given back (negative) or added, which a credit note or invoice line
    documents."""

    merchant = models.ForeignKey(Account, verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="+")
    month = models.DateField(_("settled in month"))
    kind = models.CharField(_("kind"), max_length=12, choices=AdjustmentKind.choices)
    booking = models.ForeignKey(
        Booking, verbose_name=_("booking"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    original_month = models.DateField(_("original month"), null=True, blank=True)
    description = models.CharField(_("description"), max_length=200)
    reason = models.TextField(_("reason"))
    payout_amount = models.BigIntegerField(_("payout change (yen)"), default=0)
    commission_amount = models.BigIntegerField(_("commission change (yen, tax excluded)"), default=0)
    tax_rate = models.PositiveSmallIntegerField(_("tax rate (%)"), default=10)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("adjustment")
        verbose_name_plural = _("adjustments")
        ordering = ["month", "merchant_id", "id"]
        indexes = [models.Index(fields=["month", "merchant"])]
        constraints = [
            # A refund is adjusted once per booking and month it is settled in.
            models.UniqueConstraint(
                fields=["booking", "kind", "month"],
                condition=models.Q(booking__isnull=False),
                name="adjustment_booking_once",
            )
        ]

    def __str__(self) -> str:
        return self.description


class CloseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class MonthClose(BackgroundRun):
    """Closing one month (`as_of` = its first day): statements, invoices and their PDFs for every merchant
    with activity. Once closed, nothing of the month changes."""

    close_status = models.CharField(_("close"), max_length=10, choices=CloseStatus.choices, default=CloseStatus.OPEN)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    merchants = models.PositiveIntegerField(_("merchants"), default=0)
    bookings = models.PositiveIntegerField(_("bookings"), default=0)
    documents = models.PositiveIntegerField(_("documents written"), default=0)

    class Meta(BackgroundRun.Meta):
        verbose_name = _("month close")
        verbose_name_plural = _("month closes")
        constraints = [
            # One close per month can be closed; failed attempts stay as history.
            models.UniqueConstraint(
                fields=["as_of"], condition=models.Q(close_status="closed"), name="month_close_once"
            )
        ]


class Statement(models.Model):
    """精算書: a merchant's month — sales collected for it, commission and fees deducted, adjustments,
    and the net to pay out (positive) or to bill (negative)."""

    close = models.ForeignKey(
        MonthClose, verbose_name=_("month close"), on_delete=models.PROTECT, related_name="statements"
    )
    merchant = models.ForeignKey(
        Account, verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="statements"
    )
    month = models.DateField(_("month"))
    number = models.CharField(_("statement number"), max_length=30)
    merchant_name = models.CharField(_("merchant name"), max_length=200)
    bookings = models.PositiveIntegerField(_("bookings"), default=0)
    cancellations = models.PositiveIntegerField(_("cancellations"), default=0)
    sales = models.BigIntegerField(_("sales (yen, tax included)"), default=0)
    refunds = models.BigIntegerField(_("refunds (yen)"), default=0)
    commission = models.BigIntegerField(_("commission (yen, tax included)"), default=0)
    payment_fees = models.BigIntegerField(_("payment fees (yen, tax included)"), default=0)
    charges = models.BigIntegerField(_("other charges (yen, tax included)"), default=0)
    adjustments = models.BigIntegerField(_("adjustments (yen)"), default=0)
    payout = models.BigIntegerField(_("payout (yen)"), default=0)
    pdf_path = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        ordering = ["-month", "merchant_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["close", "merchant"], name="statement_once_per_close"),
            models.UniqueConstraint(fields=["number"], name="statement_number_uniq"),
        ]
        indexes = [models.Index(fields=["merchant", "-month"])]

    def __str__(self) -> str:
        return self.number


class LineKind(models.TextChoices):
    SALE = "sale", _("Sale")
    CANCELLATION = "cancellation", _("Cancellation")
    REFUND = "refund", _("Refund")
    CHARGE = "charge", _("Other charge")
    ADJUSTMENT = "adjustment", _("Adjustment")


class StatementLine(models.Model):
    """One booking (or charge, adjustment) on a statement, frozen at close."""

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(_("kind"), max_length=12, choices=LineKind.choices)
    booking = models.ForeignKey(Booking, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    date = models.DateField(_("date"))
    description = models.CharField(_("description"), max_length=300)
    sales = models.BigIntegerField(_("sales (yen)"), default=0)
    commission_rate = models.DecimalField(_("commission rate (%)"), max_digits=5, decimal_places=2, null=True)
    commission = models.BigIntegerField(_("commission (yen, tax excluded)"), default=0)
    payment_fee = models.BigIntegerField(_("payment fee (yen, tax excluded)"), default=0)
    net = models.BigIntegerField(_("net (yen)"), default=0)

    class Meta:
        verbose_name = _("statement line")
        verbose_name_plural = _("statement lines")
        ordering = ["statement_id", "date", "id"]

    def __str__(self) -> str:
        return f"{self.date} {self.description}"


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("Qualified invoice")
    CREDIT_NOTE = "credit_note", _("Qualified return invoice")


class Invoice(models.Model):
    """適格請求書 (or 適格返還請求書) from the operator to a merchant, numbered without gaps per kind. The
    issuer and recipient are copied in at issue so the document never changes. Totals are per tax rate,
    with the consumption tax rounded down once per rate."""

    kind = models.CharField(_("kind"), max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE)
    number = models.CharField(_("number"), max_length=30)
    sequence = models.PositiveIntegerField(_("sequence"))
    close = models.ForeignKey(
        MonthClose,
        verbose_name=_("month close"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invoices",
    )
    merchant = models.ForeignKey(Account, verbose_name=_("merchant"), on_delete=models.PROTECT, related_name="invoices")
    statement = models.ForeignKey(
        Statement, verbose_name=_("statement"), null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    original = models.ForeignKey(
        "self",
        verbose_name=_("original invoice"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_notes",
    )
    issue_date = models.DateField(_("issue date"))
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    due_date = models.DateField(_("due date"), null=True, blank=True)
    issuer_name = models.CharField(_("issuer name"), max_length=200)
    registration_number = models.CharField(_("registration number"), max_length=14)
    issuer_address = models.CharField(_("issuer address"), max_length=300, blank=True)
    recipient_name = models.CharField(_("recipient"), max_length=200)
    subtotal_10 = models.BigIntegerField(_("subtotal taxed at 10%"), default=0)
    tax_10 = models.BigIntegerField(_("consumption tax at 10%"), default=0)
    subtotal_8 = models.BigIntegerField(_("subtotal taxed at 8%"), default=0)
    tax_8 = models.BigIntegerField(_("consumption tax at 8%"), default=0)
    total = models.BigIntegerField(_("total (tax included)"), default=0)
    pdf_path = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        ordering = ["-issue_date", "-sequence"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "sequence"], name="invoice_sequence_uniq"),
            models.UniqueConstraint(fields=["number"], name="invoice_number_uniq"),
        ]
        indexes = [models.Index(fields=["merchant", "-issue_date"])]

    def __str__(self) -> str:
        return self.number


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(_("position"))
    description = models.CharField(_("description"), max_length=300)
    date = models.DateField(_("transaction date"), null=True, blank=True)
    # Tax excluded; negative on a credit note never: credit notes carry positive returned amounts.
    amount = models.BigIntegerField(_("amount (yen, tax excluded)"))
    tax_rate = models.PositiveSmallIntegerField(_("tax rate (%)"))
    original_date = models.DateField(_("original transaction date"), null=True, blank=True)

    class Meta:
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")
        ordering = ["invoice_id", "position"]
        constraints = [
            models.CheckConstraint(condition=models.Q(tax_rate__in=[8, 10]), name="invoice_line_tax_8_or_10")
        ]

    def __str__(self) -> str:
        return f"{self.description} {self.amount}"

    @property
    def reduced(self) -> bool:
        return self.tax_rate == 8


class DocumentSequence(models.Model):
    """The next number of each numbered series (invoice, credit_note, statement): taken under a row lock
    inside the transaction that writes the document, so numbers have no gaps."""

    series = models.CharField(max_length=20, primary_key=True)
    next_value = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.series} {self.next_value}"


# --- Reconciliation ------------------------------------------------------------------------------------


class ProcessorKind(models.TextChoices):
    CHARGE = "charge", _("Charge")
    REFUND = "refund", _("Refund")
    FEE = "fee", _("Fee")
    TRANSFER = "transfer", _("Transfer")


class ProcessorImport(models.Model):
    """One file or API fetch of card-processor (PAY.JP) data or bank deposits."""

    kind = models.CharField(_("kind"), max_length=20)  # payjp_charges, payjp_transfers, payjp_api, bank
    filename = models.CharField(_("file"), max_length=255, blank=True)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("imported at"), default=timezone.now)

    class Meta:
        verbose_name = _("processor import")
        verbose_name_plural = _("processor imports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.filename}"


class ProcessorTransaction(models.Model):
    """A charge, refund, fee or transfer (payout to the operator's bank) as the processor reports it."""

    kind = models.CharField(_("kind"), max_length=10, choices=ProcessorKind.choices)
    external_id = models.CharField(_("processor id"), max_length=100)  # ch_…, re_…, tr_…
    charge_id = models.CharField(_("charge id"), max_length=100, blank=True)
    transfer_id = models.CharField(_("transfer id"), max_length=100, blank=True)
    amount = models.BigIntegerField(_("amount (yen)"))
    fee = models.BigIntegerField(_("fee (yen)"), default=0)
    occurred_at = models.DateTimeField(_("occurred at"))
    scheduled_date = models.DateField(_("scheduled deposit date"), null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    imported_by = models.ForeignKey(ProcessorImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("processor transaction")
        verbose_name_plural = _("processor transactions")
        constraints = [models.UniqueConstraint(fields=["kind", "external_id"], name="processor_txn_uniq")]
        indexes = [models.Index(fields=["charge_id"]), models.Index(fields=["transfer_id"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.external_id}"


class BankDeposit(models.Model):
    date = models.DateField(_("deposit date"))
    amount = models.BigIntegerField(_("amount (yen)"))
    description = models.CharField(_("description"), max_length=200, blank=True)
    reference = models.CharField(_("reference"), max_length=100)  # the bank's row id, or a hash of the row
    imported_by = models.ForeignKey(ProcessorImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("bank deposit")
        verbose_name_plural = _("bank deposits")
        constraints = [models.UniqueConstraint(fields=["reference"], name="bank_deposit_ref_uniq")]
        indexes = [models.Index(fields=["date"])]

    def __str__(self) -> str:
        return f"{self.date} {self.amount}"


class MatchStatus(models.TextChoices):
    MATCHED = "matched", _("Matched")
    MISMATCHED = "mismatched", _("Amount differs")
    UNMATCHED = "unmatched", _("Unmatched")
    RESOLVED = "resolved", _("Resolved")


class ReconciliationKind(models.TextChoices):
    CHARGE = "charge", _("Charge")
    REFUND = "refund", _("Refund")
    FEE = "fee", _("Fee")
    TRANSFER = "transfer", _("Transfer")
    DEPOSIT = "deposit", _("Bank deposit")


class ReconciliationItem(models.Model):
    """The result of matching: a processor transaction against a booking, or a transfer against a bank
    deposit, or either one alone. Unmatched and mismatched items stay until an operator resolves them with
    a reason."""

    transaction = models.ForeignKey(
        ProcessorTransaction, null=True, blank=True, on_delete=models.CASCADE, related_name="reconciliation"
    )
    booking = models.ForeignKey(Booking, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    deposit = models.ForeignKey(BankDeposit, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # What was compared (a booking without its charge has no transaction to say so) and the month it
    # belongs to (the charge's, the transfer's scheduled date's, the deposit's): lists filter on both.
    kind = models.CharField(_("kind"), max_length=10, choices=ReconciliationKind.choices)
    month = models.DateField(_("month"))
    status = models.CharField(_("status"), max_length=12, choices=MatchStatus.choices)
    expected = models.BigIntegerField(_("expected (yen)"), null=True, blank=True)
    actual = models.BigIntegerField(_("actual (yen)"), null=True, blank=True)
    difference = models.BigIntegerField(_("difference (yen)"), default=0)
    note = models.CharField(_("note"), max_length=300, blank=True)
    resolution = models.TextField(_("resolution reason"), blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("reconciliation item")
        verbose_name_plural = _("reconciliation items")
        indexes = [
            models.Index(fields=["status", "-updated_at"]),
            models.Index(fields=["month", "status", "kind"], name="recon_month_status_kind"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["transaction"], condition=models.Q(transaction__isnull=False), name="recon_txn_once"
            ),
            models.UniqueConstraint(
                fields=["booking", "kind"],
                condition=models.Q(transaction__isnull=True, deposit__isnull=True, booking__isnull=False),
                name="recon_booking_alone_once",
            ),
            models.UniqueConstraint(
                fields=["deposit"], condition=models.Q(transaction__isnull=True), name="recon_deposit_alone_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_status_display()} {self.difference}"


# --- Newsletters ---------------------------------------------------------------------------------------


class NewsletterStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    CANCELLED = "cancelled", _("Cancelled")


class Newsletter(models.Model):
    title = models.CharField(_("title"), max_length=200)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))  # merge fields as in playbooks.templating
    segment = models.ForeignKey(
        "analytics.Segment",
        verbose_name=_("segment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=NewsletterStatus.choices, default=NewsletterStatus.DRAFT
    )
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    track = models.BooleanField(_("track opens and clicks (members who allow it)"), default=True)
    recipients = models.PositiveIntegerField(_("recipients"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("newsletter")
        verbose_name_plural = _("newsletters")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class NewsletterDelivery(models.Model):
    newsletter = models.ForeignKey(Newsletter, on_delete=models.CASCADE, related_name="deliveries")
    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="+")
    email = models.EmailField(_("email"))
    token = models.CharField(max_length=40, unique=True)
    tracked = models.BooleanField(_("tracked"), default=False)
    outbox_message = models.ForeignKey(
        "playbooks.OutboxMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    clicked_at = models.DateTimeField(_("clicked at"), null=True, blank=True)
    clicks = models.PositiveIntegerField(_("clicks"), default=0)

    class Meta:
        verbose_name = _("newsletter delivery")
        verbose_name_plural = _("newsletter deliveries")
        constraints = [models.UniqueConstraint(fields=["newsletter", "end_user"], name="newsletter_delivery_once")]

    def __str__(self) -> str:
        return f"{self.newsletter_id} {self.email}"
