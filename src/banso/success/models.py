"""Success operations: touches with their outcomes, renewals in the pipeline, the monthly coverage plan
(who contacts which account on which business day) and the team's settings for all three."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from banso.accounts.models import Account, Contact, Contract
from banso.core.models import BackgroundRun


class TouchChannel(models.TextChoices):
    CALL = "call", pgettext_lazy("touch channel", "Call")
    EMAIL = "email", pgettext_lazy("touch channel", "Email")
    MEETING = "meeting", pgettext_lazy("touch channel", "Meeting")
    CHAT = "chat", pgettext_lazy("touch channel", "Chat")


class TouchOutcome(models.TextChoices):
    """How the customer responded (seed 001, Q9), plus a plain conversation with nothing asked."""

    APPOINTMENT = "appointment", _("Appointment accepted")
    OTHER_DATE = "other_date", _("Other date requested")
    DECLINED_BUSY = "declined_busy", _("Declined (busy)")
    DECLINED_NO_NEED = "declined_no_need", _("Declined (no need)")
    CONTACT_CHANGED = "contact_changed", _("Contact person changed")
    QUESTION = "question", _("Question received")
    NO_REACTION = "no_reaction", _("No reaction")
    CONVERSATION = "conversation", _("Conversation held")


# Outcomes in which the customer answered: a touch with one of these counts as reaching the account.
REACHED_OUTCOMES = frozenset(set(TouchOutcome.values) - {TouchOutcome.NO_REACTION})


class Touch(models.Model):
    """One contact with a customer: who reached whom, how, what came of it and the next step."""

    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="touches")
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), null=True, blank=True, on_delete=models.SET_NULL, related_name="touches"
    )
    csm = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="touches",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=TouchChannel.choices)
    outcome = models.CharField(_("outcome"), max_length=20, choices=TouchOutcome.choices)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    note = models.TextField(_("note"), blank=True)
    # Contact person changed: the successor the customer introduced, who becomes the contact to reach.
    successor = models.ForeignKey(
        Contact, verbose_name=_("successor"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    next_step_due = models.DateField(_("next step due"), null=True, blank=True)
    next_step_done_at = models.DateTimeField(_("next step done"), null=True, blank=True)
    # The coverage-plan target this touch worked on, if any (set when logged from the plan or My day).
    target = models.ForeignKey(
        "CoverageTarget",
        verbose_name=_("plan target"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="touches",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("logged"), default=timezone.now)

    class Meta:
        verbose_name = _("touch")
        verbose_name_plural = _("touches")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-occurred_at"], name="touch_account_time"),
            models.Index(fields=["csm", "-occurred_at"], name="touch_csm_time"),
            models.Index(
                fields=["next_step_due"],
                condition=models.Q(next_step_done_at__isnull=True, next_step_due__isnull=False),
                name="touch_open_next_step",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d} {self.get_channel_display()} {self.get_outcome_display()}"


class RenewalStage(models.TextChoices):
    NOT_CONTACTED = "not_contacted", _("Not contacted")
    CONTACTED = "contacted", _("Contacted")
    APPOINTMENT_SET = "appointment_set", _("Appointment set")
    PROPOSAL = "proposal", _("Proposal")
    RENEWED = "renewed", _("Renewed")
    UPGRADED = "upgraded", _("Renewed (upgraded)")
    DOWNGRADED = "downgraded", _("Renewed (downgraded)")
    CHURNED = "churned", _("Churned")


OPEN_STAGES = (
    RenewalStage.NOT_CONTACTED,
    RenewalStage.CONTACTED,
    RenewalStage.APPOINTMENT_SET,
    RenewalStage.PROPOSAL,
)
WON_STAGES = (RenewalStage.RENEWED, RenewalStage.UPGRADED, RenewalStage.DOWNGRADED)


class Renewal(models.Model):
    """A contract coming up for renewal on a date: the MRR at stake and how far the conversation has got."""

    contract = models.ForeignKey(
        Contract, verbose_name=_("contract"), on_delete=models.CASCADE, related_name="renewals"
    )
    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="renewals")
    renewal_date = models.DateField(_("renewal date"))
    mrr = models.PositiveBigIntegerField(_("MRR at stake (yen)"))
    stage = models.CharField(
        _("stage"), max_length=20, choices=RenewalStage.choices, default=RenewalStage.NOT_CONTACTED
    )
    # What the customer renewed at (yen per month); set when the stage closes as renewed/upgraded/downgraded.
    renewed_mrr = models.PositiveBigIntegerField(_("renewed MRR (yen)"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("renewal")
        verbose_name_plural = _("renewals")
        ordering = ["renewal_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "renewal_date"], name="success_one_renewal_per_contract_date")
        ]
        indexes = [models.Index(fields=["renewal_date", "stage"]), models.Index(fields=["account", "-renewal_date"])]

    def __str__(self) -> str:
        return f"{self.account_id} {self.renewal_date} {self.get_stage_display()}"

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES


class SuccessSettings(models.Model):
    """The team's rules for planning and KPIs (one row; `SuccessSettings.current()` creates it)."""

    plan_day = models.PositiveSmallIntegerField(
        _("plan generation day"),
        default=25,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text=_(
            "Day of the month on which next month's coverage plan is generated "
            "(the business day before, if it is a holiday)."
        ),
    )
    lead_business_days = models.PositiveSmallIntegerField(
        _("contact lead time (business days)"),
        default=10,
        help_text=_("Renewing accounts are scheduled at least this many business days before their renewal date."),
    )
    untouched_days_high = models.PositiveSmallIntegerField(_("max days without a touch (high touch)"), default=30)
    untouched_days_low = models.PositiveSmallIntegerField(_("max days without a touch (low touch)"), default=90)
    untouched_days_tech = models.PositiveSmallIntegerField(
        _("max days without a touch (tech touch)"), default=0, help_text=_("0: never planned for being untouched.")
    )
    touches_min = models.PositiveSmallIntegerField(_("touches per person per month (minimum)"), default=30)
    touches_max = models.PositiveSmallIntegerField(_("touches per person per month (target)"), default=40)
    retention_target_new = models.PositiveSmallIntegerField(_("retention target, first months (%)"), default=90)
    retention_target = models.PositiveSmallIntegerField(_("retention target, after (%)"), default=95)
    new_client_months = models.PositiveSmallIntegerField(_("months a client counts as new"), default=3)
    weight_mrr = models.PositiveSmallIntegerField(_("priority weight: MRR"), default=40)
    weight_risk = models.PositiveSmallIntegerField(_("priority weight: churn risk"), default=40)
    weight_renewal = models.PositiveSmallIntegerField(_("priority weight: days to renewal"), default=20)

    class Meta:
        verbose_name = _("success settings")
        verbose_name_plural = _("success settings")

    def __str__(self) -> str:
        return str(_("Success settings"))

    @classmethod
    def current(cls) -> SuccessSettings:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj

    def untouched_days(self) -> dict[str, int]:
        """Per touch tier, the days without a touch after which an account is planned (0: never)."""
        return {"high": self.untouched_days_high, "low": self.untouched_days_low, "tech": self.untouched_days_tech}


class CoveragePlan(models.Model):
    """Next month's target list: who contacts which account, on which business day. Generated near month
    end, reviewed and adjusted by a manager, then locked."""

    month = models.DateField(_("month"), unique=True, help_text=_("The first day of the month the plan covers."))
    generated_at = models.DateTimeField(_("generated"), null=True, blank=True)
    locked_at = models.DateTimeField(_("locked"), null=True, blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("locked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The settings the plan was generated with, so its page can say why an account is on it.
    rules = models.JSONField(_("rules"), default=dict, blank=True)

    class Meta:
        verbose_name = _("coverage plan")
        verbose_name_plural = _("coverage plans")
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"

    @property
    def locked(self) -> bool:
        return self.locked_at is not None


class TargetReason(models.TextChoices):
    RENEWAL = "renewal", _("Renewal this month")
    HEALTH = "health", _("Health changed")
    RISK = "risk", _("Churn risk changed")
    UNTOUCHED = "untouched", _("Untouched too long")
    MANUAL = "manual", _("Added by hand")


class CoverageTarget(models.Model):
    """One account on a plan: why it is there, how urgent, who contacts it and when."""

    plan = models.ForeignKey(
        CoveragePlan, verbose_name=pgettext_lazy("coverage", "plan"), on_delete=models.CASCADE, related_name="targets"
    )
    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("main reason"), max_length=10, choices=TargetReason.choices)
    reasons = models.JSONField(_("reasons"), default=list)
    priority = models.FloatField(_("priority"), default=0.0)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="coverage_targets",
    )
    planned_on = models.DateField(_("planned contact date"), null=True, blank=True)
    # What the plan saw when it was generated: shown on the plan and used to explain the priority.
    mrr = models.PositiveBigIntegerField(_("MRR (yen)"), default=0)
    renewal_date = models.DateField(_("renewal date"), null=True, blank=True)
    risk = models.FloatField(_("churn probability"), null=True, blank=True)
    health_band = models.CharField(_("health band"), max_length=6, blank=True)
    # Set when a manager moved the target by hand; regeneration keeps manual and moved targets as they are.
    adjusted = models.BooleanField(_("adjusted by hand"), default=False)

    class Meta:
        verbose_name = _("coverage target")
        verbose_name_plural = _("coverage targets")
        ordering = ["planned_on", "-priority", "id"]
        constraints = [models.UniqueConstraint(fields=["plan", "account"], name="success_one_target_per_account")]
        indexes = [
            models.Index(fields=["plan", "assignee", "planned_on"], name="success_target_assignee"),
            models.Index(fields=["assignee", "planned_on"], name="success_target_day"),
        ]

    def __str__(self) -> str:
        return f"{self.plan} {self.account_id}"


class PlanRun(BackgroundRun):
    """One generation of a month's plan (as_of: the day it was generated for), with its progress."""

    month = models.DateField(_("month"))
    plan = models.ForeignKey(CoveragePlan, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    targets = models.PositiveIntegerField(_("targets"), default=0)

    class Meta(BackgroundRun.Meta):
        verbose_name = _("plan run")
        verbose_name_plural = _("plan runs")
        constraints = [
            models.UniqueConstraint(
                fields=["month"], condition=models.Q(scheduled=True), name="one_scheduled_plan_run_per_month"
            )
        ]
