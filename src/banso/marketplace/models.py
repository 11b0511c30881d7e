"""Bookings between end users (members) and the merchants or providers that serve them.

Seed 003's tourism mall sells merchants' plans and collects the payment (billing builds statements and
invoices from these rows); seed 004's marketplace counts provider problems against them (issue 8). Amounts
are integer yen, tax included, as the customer paid them.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from banso.accounts.models import Account, EndUser, SourcedModel


class BookingStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    NO_SHOW = "no_show", _("No-show")


class Booking(SourcedModel):
    provider = models.ForeignKey(
        Account, verbose_name=_("merchant / provider"), on_delete=models.PROTECT, related_name="bookings"
    )
    end_user = models.ForeignKey(
        EndUser, verbose_name=_("member"), null=True, blank=True, on_delete=models.SET_NULL, related_name="bookings"
    )
    plan = models.CharField(_("plan"), max_length=200, blank=True)
    category = models.CharField(_("service category"), max_length=100, blank=True)
    area = models.CharField(_("area"), max_length=100, blank=True)
    booked_at = models.DateTimeField(_("booked at"))
    # When the service is used (the stay, the tour): sales belong to the month of this date in Asia/Tokyo.
    scheduled_at = models.DateTimeField(_("scheduled at"))
    guests = models.PositiveSmallIntegerField(_("guests"), default=1)
    amount = models.PositiveBigIntegerField(_("amount (yen, tax included)"))
    # The consumption-tax rate of what was sold: 10 (standard) or 8 (reduced: food and drink to take away).
    tax_rate = models.PositiveSmallIntegerField(_("tax rate (%)"), default=10)
    status = models.CharField(_("status"), max_length=10, choices=BookingStatus.choices, default=BookingStatus.BOOKED)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    # What the customer still pays when cancelling late (yen, tax included); 0 = free cancellation.
    cancellation_fee = models.PositiveBigIntegerField(_("cancellation fee (yen)"), default=0)
    refunded_amount = models.PositiveBigIntegerField(_("refunded (yen)"), default=0)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)
    # The card processor's charge (PAY.JP `ch_…`) that collected the payment.
    payment_id = models.CharField(_("payment id"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="booking_source_uniq"),
            models.CheckConstraint(condition=models.Q(tax_rate__in=[8, 10]), name="booking_tax_rate_8_or_10"),
            models.CheckConstraint(
                condition=models.Q(refunded_amount__lte=models.F("amount")), name="booking_refund_le_amount"
            ),
        ]
        indexes = [
            models.Index(fields=["scheduled_at", "provider"], name="booking_sched_provider"),
            models.Index(fields=["provider", "scheduled_at"], name="booking_provider_sched"),
            models.Index(fields=["end_user", "scheduled_at"], name="booking_user_sched"),
            models.Index(fields=["payment_id"], name="booking_payment"),
            models.Index(fields=["refunded_at"], name="booking_refunded"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.scheduled_at:%Y-%m-%d} {self.plan}"
