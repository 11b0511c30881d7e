"""Client funnels: stages an end user passes through for a client (application → interview → offer for a
recruiting agency, trial → activation → paid for a SaaS), fed by events of configured kinds.

A `Funnel` lists its `FunnelStage`s in order, each counted from events of one kind. The nightly
`FunnelRun` computes every client's funnel over a period, its own history and the benchmark of similar
clients, and stores one `ClientFunnel` per client (and project) with the bottleneck: the stage whose
shortfall against the benchmark costs the most final outcomes. `StalenessRule`s watch days since the last
application, report or touch per tier and raise `StalenessAlert`s. `ApplicantResponse` follows each new
applicant until their first contact, in business minutes. `ClientReport` is a periodic report to a client.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from banso.accounts.models import Account, EndUser
from banso.core.models import BackgroundRun


class Funnel(models.Model):
    """A workspace's funnel. Exactly one is the default (`is_default`): the one pages open first."""

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    is_default = models.BooleanField(_("default funnel"), default=False)
    # What makes clients comparable for the benchmark: an account column ("industry") or "attributes.<key>"
    # (e.g. "attributes.job_type"); blank compares with every client.
    peer_attribute = models.CharField(_("similar clients share"), max_length=100, blank=True, default="industry")
    # Events may carry a project (a job opening, a campaign) in this property; blank: no per-project funnels.
    project_property = models.CharField(_("project property"), max_length=50, blank=True, default="project")
    period_days = models.PositiveSmallIntegerField(
        _("period (days)"), default=30, validators=[MinValueValidator(7), MaxValueValidator(366)]
    )
    history_periods = models.PositiveSmallIntegerField(
        _("history (periods)"), default=6, validators=[MinValueValidator(1), MaxValueValidator(24)]
    )
    # First response: the event kind that counts as contacting a new applicant (the first stage's events are
    # the applications), the target in business minutes and the business hours (split shifts allowed).
    response_event_kind = models.CharField(_("first contact event kind"), max_length=50, blank=True)
    response_target_minutes = models.PositiveIntegerField(_("first response target (business minutes)"), default=15)
    business_hours = models.JSONField(
        _("business hours"), default=list, blank=True, help_text=_('e.g. [["09:00", "12:00"], ["13:00", "18:00"]]')
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("funnel")
        verbose_name_plural = _("funnels")
        ordering = ["-is_default", "name"]

    def __str__(self) -> str:
        return self.name


class FunnelStage(models.Model):
    """One stage, counted from events of `event_kind` (distinct end users; events without one count each).

    `rate_label` names the conversion into this stage from the previous one (面接実施率); the first stage
    has no rate. The last stage is the funnel's outcome (内定)."""

    funnel = models.ForeignKey(Funnel, verbose_name=_("funnel"), on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveSmallIntegerField(_("order"))
    label = models.CharField(_("stage"), max_length=100)
    rate_label = models.CharField(_("rate name"), max_length=100, blank=True)
    event_kind = models.CharField(_("event kind"), max_length=50)

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["funnel", "position"]
        constraints = [
            models.UniqueConstraint(fields=["funnel", "position"], name="funnel_stage_position"),
            models.UniqueConstraint(fields=["funnel", "event_kind"], name="funnel_stage_kind"),
        ]

    def __str__(self) -> str:
        return self.label


class FunnelRun(BackgroundRun):
    """One computation of every client's funnel for the period ending on `as_of`."""

    funnel = models.ForeignKey(Funnel, verbose_name=_("funnel"), on_delete=models.CASCADE, related_name="runs")
    clients = models.PositiveIntegerField(_("clients"), default=0)
    events = models.PositiveBigIntegerField(_("events counted"), default=0)

    class Meta:
        verbose_name = _("funnel computation")
        verbose_name_plural = _("funnel computations")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["funnel", "as_of"], condition=models.Q(scheduled=True), name="funnel_run_scheduled_once"
            )
        ]


class ClientFunnel(models.Model):
    """A client's (and optionally one project's) funnel for one period, as the run computed it.

    counts: [n per stage]; rates: [None, rate into stage 2, ...] (None for a zero denominator);
    history_rates / benchmark_rates alike; bottleneck_position is the stage whose shortfall costs the most
    outcomes, `loss_per_month` that cost (outcomes per month, Decimal), `explanation` the sentence shown."""

    run = models.ForeignKey(FunnelRun, on_delete=models.CASCADE, related_name="results")
    account = models.ForeignKey(Account, verbose_name=_("client"), on_delete=models.CASCADE, related_name="+")
    project = models.CharField(_("project"), max_length=200, blank=True)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    counts = models.JSONField(_("counts"), default=list)
    rates = models.JSONField(_("rates"), default=list)
    history_rates = models.JSONField(_("own history"), default=list)
    benchmark_rates = models.JSONField(_("benchmark"), default=list)
    peer_group = models.CharField(_("peer group"), max_length=200, blank=True)
    peers = models.PositiveIntegerField(_("similar clients"), default=0)
    bottleneck_position = models.PositiveSmallIntegerField(_("bottleneck stage"), null=True, blank=True)
    loss_per_month = models.DecimalField(_("outcomes lost per month"), max_digits=12, decimal_places=2, default=0)
    explanation = models.CharField(_("explanation"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("client funnel")
        verbose_name_plural = _("client funnels")
        constraints = [models.UniqueConstraint(fields=["run", "account", "project"], name="client_funnel_once")]
        indexes = [models.Index(fields=["run", "-loss_per_month"], name="client_funnel_loss")]

    def __str__(self) -> str:
        return f"{self.account} {self.project}".strip()


class StalenessMeasure(models.TextChoices):
    DAYS_SINCE_STAGE = "stage", _("Days since the latest event of a stage")
    DAYS_SINCE_REPORT = "report", _("Days since the latest report to the client")
    DAYS_SINCE_TOUCH = "touch", _("Days since the latest touch")


class StalenessRule(models.Model):
    """A tracker: `measure` for every client, alerting when it reaches the threshold of the client's tier.

    thresholds: {"high": 7, "low": 14, "tech": 30}; a tier missing from it is not watched."""

    name = models.CharField(_("name"), max_length=200)
    measure = models.CharField(_("measure"), max_length=10, choices=StalenessMeasure.choices)
    stage = models.ForeignKey(
        FunnelStage, verbose_name=_("stage"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    thresholds = models.JSONField(_("thresholds per tier (days)"), default=dict)
    account_kinds = models.JSONField(_("account kinds"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("staleness tracker")
        verbose_name_plural = _("staleness trackers")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class StalenessAlert(models.Model):
    """A client past a tracker's threshold. Open until the measure drops below it again (resolved)."""

    rule = models.ForeignKey(StalenessRule, verbose_name=_("tracker"), on_delete=models.CASCADE, related_name="alerts")
    account = models.ForeignKey(Account, verbose_name=_("client"), on_delete=models.CASCADE, related_name="+")
    days = models.PositiveIntegerField(_("days"))
    threshold = models.PositiveIntegerField(_("threshold"))
    last_seen_on = models.DateField(_("latest"), null=True, blank=True)
    raised_at = models.DateTimeField(_("raised"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    task_id = models.BigIntegerField(null=True, blank=True)  # the playbooks task put in the owner's queue

    class Meta:
        verbose_name = _("staleness alert")
        verbose_name_plural = _("staleness alerts")
        ordering = ["-days"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "account"],
                condition=models.Q(resolved_at__isnull=True),
                name="staleness_alert_open_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule} / {self.account}"


class ApplicantResponse(models.Model):
    """One application by an end user to a client, followed until its first contact.

    Kept in step with the events by `responses.sync()` (a watermark on event ids)."""

    funnel = models.ForeignKey(Funnel, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(Account, verbose_name=_("client"), on_delete=models.CASCADE, related_name="+")
    end_user = models.ForeignKey(EndUser, verbose_name=_("applicant"), on_delete=models.CASCADE, related_name="+")
    project = models.CharField(_("project"), max_length=200, blank=True)
    applied_at = models.DateTimeField(_("applied"))
    first_contact_at = models.DateTimeField(_("first contact"), null=True, blank=True)
    response_minutes = models.PositiveIntegerField(_("response (business minutes)"), null=True, blank=True)
    next_stage_at = models.DateTimeField(_("reached the next stage"), null=True, blank=True)

    class Meta:
        verbose_name = _("applicant response")
        verbose_name_plural = _("applicant responses")
        constraints = [
            models.UniqueConstraint(fields=["funnel", "account", "end_user"], name="applicant_response_once")
        ]
        indexes = [
            models.Index(
                fields=["funnel", "applied_at"],
                name="applicant_waiting",
                condition=models.Q(first_contact_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.end_user} → {self.account}"


class ResponseSync(models.Model):
    """The watermark of `responses.sync()`: the highest event id already read, per funnel."""

    funnel = models.OneToOneField(Funnel, on_delete=models.CASCADE, related_name="+")
    last_event_id = models.BigIntegerField(default=0)
    synced_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.funnel}: {self.last_event_id}"


class ReportBatch(BackgroundRun):
    """Reports generated in bulk for a month: every client of one CSM (`owner`), or every counted client."""

    funnel = models.ForeignKey(Funnel, verbose_name=_("funnel"), on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    reports = models.PositiveIntegerField(_("reports"), default=0)

    class Meta:
        verbose_name = _("report batch")
        verbose_name_plural = _("report batches")
        ordering = ["-created_at"]


class ClientReport(models.Model):
    """A periodic report to a client (funnel, trend, actions taken) for a period: generated, then sent."""

    account = models.ForeignKey(Account, verbose_name=_("client"), on_delete=models.CASCADE, related_name="+")
    funnel = models.ForeignKey(Funnel, verbose_name=_("funnel"), on_delete=models.CASCADE, related_name="reports")
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    data = models.JSONField(_("content"), default=dict)  # what the PDF and XLSX render, frozen at generation
    generated_at = models.DateTimeField(_("generated"), default=timezone.now)
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("client report")
        verbose_name_plural = _("client reports")
        ordering = ["-period_end", "account"]
        indexes = [models.Index(fields=["account", "-sent_at"], name="client_report_sent")]

    def __str__(self) -> str:
        return f"{self.account} {self.period_start:%Y-%m-%d}–{self.period_end:%Y-%m-%d}"
