"""Bookings between end users (members) and the merchants or providers that serve them.

Seed 003's tourism mall sells merchants' plans and collects the payment (billing builds statements and
invoices from these rows); seed 004's marketplace counts provider problems against them (issue 8). Amounts
are integer yen, tax included, as the customer paid them.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from banso.accounts.models import Account, EndUser, SourcedModel
from banso.core.models import BackgroundRun


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
    # Bulk loaders (billing's demo, benchmarks) insert bookings without these columns: hence the db defaults.
    # Set when a rule cancels the booking with a refund: payment operations still owe the customer the money.
    refund_due = models.BooleanField(_("refund due"), default=False, db_default=False)
    cancellation_reason = models.CharField(_("cancellation reason"), max_length=300, blank=True, db_default="")
    cancelled_by = models.ForeignKey(
        "Firing",
        verbose_name=_("cancelled by rule firing"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cancelled_bookings",
    )
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


# Providers ---------------------------------------------------------------------------------------------------


class ProviderStatus(models.TextChoices):
    # In their own translation context: other catalogues read "Active" as a contract's state (契約中).
    ACTIVE = "active", pgettext_lazy("provider status", "Active")
    WARNED = "warned", pgettext_lazy("provider status", "Warned")
    # New bookings are held: the booking import refuses them and the platform is told (rules' hold action).
    ON_HOLD = "on_hold", pgettext_lazy("provider status", "Bookings on hold")
    SUSPENDED = "suspended", pgettext_lazy("provider status", "Suspended")


class Provider(models.Model):
    """What the marketplace knows of a provider (出店者) beyond its Account: status, rating, capacity, and the
    categories and areas it serves (ProviderService). Alternatives and the concierge rank providers from these."""

    account = models.OneToOneField(
        Account,
        verbose_name=_("account"),
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="provider_profile",
    )
    status = models.CharField(_("status"), max_length=10, choices=ProviderStatus.choices, default=ProviderStatus.ACTIVE)
    # Average review score 0.00–5.00 and how many reviews it rests on (ranking shrinks few reviews to the mean).
    rating = models.DecimalField(_("rating"), max_digits=3, decimal_places=2, null=True, blank=True)
    review_count = models.PositiveIntegerField(_("reviews"), default=0)
    # Bookings the provider can serve per day: availability is this minus the day's booked bookings.
    daily_capacity = models.PositiveSmallIntegerField(_("bookings per day"), default=3)
    email = models.EmailField(_("email for notices"), blank=True)
    # Where a customer books this provider; "{category}" and "{date}" are filled in when handed over.
    booking_url = models.URLField(_("booking link"), max_length=500, blank=True)
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    status_reason = models.CharField(_("reason for status"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("provider")
        verbose_name_plural = _("providers")
        indexes = [models.Index(fields=["status"], name="provider_status")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=0, rating__lte=5),
                name="provider_rating_0_5",
            )
        ]

    def __str__(self) -> str:
        return str(self.account)

    @property
    def takes_bookings(self) -> bool:
        return self.status in (ProviderStatus.ACTIVE, ProviderStatus.WARNED)


class ProviderService(models.Model):
    """One (service category, area) a provider serves."""

    provider = models.ForeignKey(
        Provider, verbose_name=_("provider"), on_delete=models.CASCADE, related_name="services"
    )
    category = models.CharField(_("service category"), max_length=100)
    area = models.CharField(_("area"), max_length=100)

    class Meta:
        verbose_name = _("provider service")
        verbose_name_plural = _("provider services")
        constraints = [models.UniqueConstraint(fields=["provider", "category", "area"], name="provider_service_uniq")]
        indexes = [models.Index(fields=["category", "area"], name="provider_service_match")]

    def __str__(self) -> str:
        return f"{self.provider} {self.category} / {self.area}"


# Incidents ---------------------------------------------------------------------------------------------------


class IncidentType(models.TextChoices):
    NO_SHOW = "no_show", _("No-show")
    LATE = "late", _("Late arrival")
    POOR_WORK = "poor_work", _("Poor work")
    CONDUCT = "conduct", _("Conduct")
    RULE_VIOLATION = "rule_violation", _("Rule violation")
    DAMAGE = "damage", _("Damage")
    OTHER = "other", _("Other")


class Severity(models.IntegerChoices):
    """The value is the incident's weight in weighted rules."""

    LOW = 1, _("Minor")
    MEDIUM = 2, _("Moderate")
    HIGH = 3, _("Serious")
    CRITICAL = 5, _("Critical")


class IncidentStatus(models.TextChoices):
    REPORTED = "reported", _("Reported")
    CONFIRMED = "confirmed", _("Confirmed")
    DISMISSED = "dismissed", _("Dismissed")


class Incident(SourcedModel):
    """A problem recorded against a provider. Only confirmed incidents count toward rules, in the window of
    `occurred_at` (when it happened, not when it was recorded)."""

    number = models.CharField(_("number"), max_length=20, unique=True)
    provider = models.ForeignKey(
        Account, verbose_name=_("provider"), on_delete=models.PROTECT, related_name="provider_incidents"
    )
    type = models.CharField(_("type"), max_length=20, choices=IncidentType.choices)
    severity = models.PositiveSmallIntegerField(_("severity"), choices=Severity.choices, default=Severity.MEDIUM)
    status = models.CharField(
        _("status"), max_length=10, choices=IncidentStatus.choices, default=IncidentStatus.REPORTED
    )
    occurred_at = models.DateTimeField(_("occurred at"))
    summary = models.CharField(_("summary"), max_length=300)
    evidence = models.TextField(_("evidence"), blank=True)
    booking = models.ForeignKey(
        Booking, verbose_name=_("booking"), null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    # The support inquiry it came from, by its number (support depends on marketplace, not the other way).
    inquiry_number = models.PositiveIntegerField(_("inquiry"), null=True, blank=True, db_index=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    dismissed_reason = models.CharField(_("reason dismissed"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="incident_source_uniq"),
            models.CheckConstraint(
                condition=~models.Q(status="confirmed") | models.Q(confirmed_at__isnull=False),
                name="incident_confirmed_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["provider", "status", "occurred_at"], name="incident_provider_window"),
            models.Index(fields=["status", "occurred_at"], name="incident_status_window"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.summary}"


# Rules and what they do ----------------------------------------------------------------------------------------


class Rule(models.Model):
    """ "2 confirmed no-shows in 90 days": confirmed incidents of `incident_types` (all when empty) of at least
    `min_severity`, occurred in the last `window_days`, counted (or summed by severity weight) per provider;
    at `threshold` the rule fires its actions for the provider. Incidents a firing used are not counted again
    by the same rule, so a rule never fires twice for the same incidents."""

    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    incident_types = models.JSONField(_("incident types"), default=list, blank=True)
    min_severity = models.PositiveSmallIntegerField(
        _("minimum severity"), choices=Severity.choices, default=Severity.LOW
    )
    window_days = models.PositiveSmallIntegerField(_("window (days)"), default=90)
    threshold = models.PositiveSmallIntegerField(_("threshold"), default=2)
    weighted = models.BooleanField(_("weighted by severity"), default=False)
    # Actions, mildest first.
    warn_provider = models.BooleanField(_("warn the provider"), default=True)
    notify_customers = models.BooleanField(_("notify customers with upcoming bookings"), default=False)
    offer_alternatives = models.BooleanField(_("offer alternative providers"), default=False)
    alternatives_count = models.PositiveSmallIntegerField(_("alternatives per booking"), default=3)
    hold_new_bookings = models.BooleanField(_("hold new bookings"), default=False)
    cancel_upcoming = models.BooleanField(_("cancel upcoming bookings"), default=False)
    refund_cancelled = models.BooleanField(_("refund cancelled bookings"), default=True)
    # Upcoming = scheduled within this many days from the evaluation.
    horizon_days = models.PositiveSmallIntegerField(_("upcoming horizon (days)"), default=30)
    requires_approval = models.BooleanField(_("requires approval"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("rule")
        verbose_name_plural = _("rules")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(threshold__gte=1), name="rule_threshold_positive"),
            models.CheckConstraint(condition=models.Q(window_days__gte=1), name="rule_window_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class FiringStatus(models.TextChoices):
    # The dry run: what would be done, waiting for approval (or for execution when no approval is needed).
    PROPOSED = "proposed", _("Awaiting approval")
    EXECUTED = "executed", _("Executed")
    REJECTED = "rejected", _("Rejected")


class Firing(models.Model):
    """A rule reached for one provider: the plan (exactly who is affected and how, fixed at the dry run),
    its approval, and what execution did. Its incidents are consumed for this rule."""

    rule = models.ForeignKey(Rule, verbose_name=_("rule"), on_delete=models.PROTECT, related_name="firings")
    provider = models.ForeignKey(Account, verbose_name=_("provider"), on_delete=models.PROTECT, related_name="firings")
    status = models.CharField(_("status"), max_length=10, choices=FiringStatus.choices, default=FiringStatus.PROPOSED)
    score = models.PositiveIntegerField(_("count in window"))
    # The dry run, as shown and as executed: {"warn": {...}, "bookings": [{"id", "action", "notify",
    # "refund", "alternatives": [...]}, ...], "hold": bool}. Execution follows it item by item.
    plan = models.JSONField(_("plan"), default=dict)
    # What execution did per item (done / skipped with the reason, e.g. booking already cancelled).
    outcome = models.JSONField(_("outcome"), default=dict, blank=True)
    evaluated_at = models.DateTimeField(_("evaluated at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("note"), max_length=300, blank=True)
    executed_at = models.DateTimeField(_("executed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("rule firing")
        verbose_name_plural = _("rule firings")
        ordering = ["-evaluated_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-evaluated_at"], name="firing_status"),
            models.Index(fields=["provider", "-evaluated_at"], name="firing_provider"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} / {self.provider}"


class FiringIncident(models.Model):
    """The incidents a firing counted. Unique per (rule, incident): the same incidents never fire a rule twice.
    A rejected firing keeps them: rejecting is a decision about those incidents, not a request to ask again."""

    firing = models.ForeignKey(Firing, on_delete=models.CASCADE, related_name="links")
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="+")
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="firing_links")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "incident"], name="firing_incident_once")]

    def __str__(self) -> str:
        return f"{self.firing_id}: {self.incident_id}"


class EvaluationRun(BackgroundRun):
    """One evaluation of every active rule over every provider (scheduled hourly, or by hand)."""

    providers = models.PositiveIntegerField(_("providers evaluated"), default=0)
    firings = models.PositiveIntegerField(_("firings"), default=0)
    executed = models.PositiveIntegerField(_("executed without approval"), default=0)

    class Meta(BackgroundRun.Meta):
        verbose_name = _("rule evaluation")
        verbose_name_plural = _("rule evaluations")
        constraints = [
            models.UniqueConstraint(
                fields=["as_of"], condition=models.Q(scheduled=True), name="marketplace_one_scheduled_evaluation"
            )
        ]
