"""Scorecards (versioned), daily score snapshots, and NPS/CSAT surveys with their answers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from banso.core.models import BackgroundRun
from banso.core.models import RunStatus as RunStatus  # re-exported: the app's run status

# Scorecards ----------------------------------------------------------------------------------------


class Band(models.TextChoices):
    RED = "red", _("Red")
    YELLOW = "yellow", _("Yellow")
    GREEN = "green", _("Green")


class Scorecard(models.Model):
    """Which accounts a card scores (a segment's members or a touch tier; neither: the default card) and in
    what order cards are tried. What it measures lives in its immutable versions; `current` is the latest."""

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    segment = models.ForeignKey(
        "analytics.Segment",
        verbose_name=_("segment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    tier = models.CharField(_("touch tier"), max_length=10, blank=True)
    priority = models.PositiveIntegerField(_("priority"), default=100)
    is_active = models.BooleanField(_("active"), default=True)
    current = models.ForeignKey("ScorecardVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("scorecard")
        verbose_name_plural = _("scorecards")
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_default(self) -> bool:
        return self.segment_id is None and not self.tier

    @property
    def tier_label(self) -> str:
        from banso.accounts.choices import TouchTier

        return str(TouchTier(self.tier).label) if self.tier in TouchTier.values else self.tier


class ScorecardVersion(models.Model):
    """One immutable definition of a card (`scoring.CardDefinition` as data); snapshots name the one used."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    definition = models.JSONField(_("definition"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("scorecard version")
        verbose_name_plural = _("scorecard versions")
        ordering = ["scorecard", "-number"]
        constraints = [models.UniqueConstraint(fields=["scorecard", "number"], name="scorecard_version_uniq")]

    def __str__(self) -> str:
        return f"{self.scorecard_id} v{self.number}"


class HealthSnapshot(models.Model):
    """An account's score on one day with the card version that computed it. `values` holds each measure's
    raw value (null: no data) as a list in the version's measure order; the explanation (points, matched
    rule, effective weight) is derived from them and the immutable version, so it is exact for any past day
    without storing it twice."""

    # No database-level foreign keys: a rescore writes 100,000 rows a day, and checking three references per
    # row at commit cost more than writing them (4.5 s of 9 s measured on PostgreSQL). The rescore writes
    # only existing accounts, cards and versions; deleting one still cascades here through the ORM.
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    day = models.DateField(_("day"))
    score = models.DecimalField(_("score"), max_digits=4, decimal_places=1)
    band = models.CharField(_("band"), max_length=6, choices=Band.choices)
    change = models.DecimalField(_("change"), max_digits=4, decimal_places=1, null=True, blank=True)
    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="+", db_constraint=False)
    version = models.ForeignKey(ScorecardVersion, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    values = models.JSONField(_("measured values"), default=list)

    class Meta:
        verbose_name = _("health snapshot")
        verbose_name_plural = _("health snapshots")
        constraints = [models.UniqueConstraint(fields=["account", "day"], name="health_snapshot_uniq")]
        indexes = [
            models.Index(fields=["day", "score"], name="health_snapshot_day_score"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day} {self.score}"


class HealthRun(BackgroundRun):
    """One rescore of a day (every active card, every matching account), with its progress."""

    accounts_scored = models.PositiveIntegerField(_("accounts scored"), default=0)

    class Meta(BackgroundRun.Meta):
        verbose_name = _("health run")
        verbose_name_plural = _("health runs")
        constraints = [
            models.UniqueConstraint(
                fields=["as_of"], condition=models.Q(scheduled=True), name="one_scheduled_health_run_per_day"
            )
        ]


# Surveys (NPS / CSAT) -----------------------------------------------------------------------------


class SurveyKind(models.TextChoices):
    NPS = "nps", _("NPS (0–10)")
    CSAT = "csat", _("CSAT (1–5)")


class SurveyAudience(models.TextChoices):
    ALL = "all", _("All customer accounts")
    TIER = "tier", _("A touch tier")
    SEGMENT = "segment", _("An account segment")


class SurveyRecipients(models.TextChoices):
    PRIMARY = "primary", _("Primary contacts only")
    ALL = "all", _("All contacts with an email address")


class Survey(models.Model):
    """An NPS or CSAT questionnaire, who it goes to, and whether it repeats every N months."""

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=SurveyKind.choices, default=SurveyKind.NPS)
    question = models.TextField(_("question"))
    comment_question = models.CharField(_("comment question"), max_length=300, blank=True)
    audience = models.CharField(
        _("audience"), max_length=10, choices=SurveyAudience.choices, default=SurveyAudience.ALL
    )
    tier = models.CharField(_("touch tier"), max_length=10, blank=True)
    segment = models.ForeignKey(
        "analytics.Segment",
        verbose_name=_("segment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    recipients = models.CharField(
        _("recipients"), max_length=10, choices=SurveyRecipients.choices, default=SurveyRecipients.PRIMARY
    )
    repeat_months = models.PositiveSmallIntegerField(_("repeat every (months)"), null=True, blank=True)
    next_due_on = models.DateField(_("next send"), null=True, blank=True)
    link_valid_days = models.PositiveSmallIntegerField(_("link valid for (days)"), default=30)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def max_score(self) -> int:
        return 10 if self.kind == SurveyKind.NPS else 5

    @property
    def min_score(self) -> int:
        return 0 if self.kind == SurveyKind.NPS else 1


class WaveStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    DONE = "done", _("Sent")
    FAILED = "failed", _("Failed")


class SurveyWave(models.Model):
    """One sending of a survey: its invitations, and the progress of the background send."""

    survey = models.ForeignKey(Survey, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="waves")
    due_on = models.DateField(_("due on"))
    scheduled = models.BooleanField(_("scheduled"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=WaveStatus.choices, default=WaveStatus.QUEUED)
    total = models.PositiveIntegerField(_("recipients"), default=0)
    sent = models.PositiveIntegerField(_("sent"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("survey wave")
        verbose_name_plural = _("survey waves")
        ordering = ["-created_at", "-id"]
        constraints = [
            # Several schedulers may ask at once: one scheduled wave per survey and due day.
            models.UniqueConstraint(
                fields=["survey", "due_on"], condition=models.Q(scheduled=True), name="survey_wave_scheduled_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey} {self.due_on}"

    @property
    def percent(self) -> int:
        return int(100 * (self.sent + self.failed) / self.total) if self.total else 100


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Not sent yet")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class SurveyInvitation(models.Model):
    """One contact's invitation in a wave; its signed link allows one answer until it expires."""

    wave = models.ForeignKey(SurveyWave, verbose_name=_("wave"), on_delete=models.CASCADE, related_name="invitations")
    account = models.ForeignKey(
        "accounts.Account", verbose_name=_("account"), on_delete=models.CASCADE, related_name="+"
    )
    contact = models.ForeignKey(
        "accounts.Contact", verbose_name=_("contact"), on_delete=models.CASCADE, related_name="+"
    )
    email = models.EmailField(_("email"))
    status = models.CharField(
        _("status"), max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.PENDING
    )
    error = models.CharField(_("error"), max_length=500, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"))

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["wave", "contact"], name="survey_invitation_contact_uniq")]
        indexes = [models.Index(fields=["wave", "status"], name="survey_invitation_status")]

    def __str__(self) -> str:
        return f"{self.wave} → {self.email}"


class SurveyResponse(models.Model):
    """An answer. One per invitation, enforced by the database: a double submit or a replayed link fails."""

    invitation = models.OneToOneField(
        SurveyInvitation, verbose_name=_("invitation"), on_delete=models.CASCADE, related_name="response"
    )
    survey = models.ForeignKey(Survey, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="responses")
    account = models.ForeignKey(
        "accounts.Account", verbose_name=_("account"), on_delete=models.CASCADE, related_name="+"
    )
    contact = models.ForeignKey(
        "accounts.Contact", verbose_name=_("contact"), on_delete=models.CASCADE, related_name="+"
    )
    score = models.PositiveSmallIntegerField(_("score"))
    comment = models.TextField(_("comment"), blank=True)
    answered_at = models.DateTimeField(_("answered"), default=timezone.now)

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        ordering = ["-answered_at", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(score__lte=10), name="survey_response_score_range")]
        indexes = [
            models.Index(fields=["account", "-answered_at"], name="survey_response_account"),
            models.Index(fields=["survey", "-answered_at"], name="survey_response_survey"),
        ]

    def __str__(self) -> str:
        return f"{self.survey}: {self.score}"
