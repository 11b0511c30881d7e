"""Churn reasons and records, and the churn-risk model: trained versions and their predictions."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from banso.accounts.models import Account, Contract
from banso.core.models import BackgroundRun
from banso.core.models import RunStatus as RunStatus  # re-exported: the app's run status

# --- Churn records: why accounts left ---------------------------------------------------------------


class ChurnReason(models.Model):
    """A node of the editable two-level churn-reason taxonomy: a reason, or a sub-reason under one."""

    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent reason"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("churn reason")
        verbose_name_plural = _("churn reasons")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class ChurnRecord(models.Model):
    """Why one account (or one of its contracts) churned; the contract stays the source of truth for revenue."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="churn_records"
    )
    contract = models.ForeignKey(
        Contract,
        verbose_name=_("contract"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="churn_records",
    )
    churned_on = models.DateField(_("churned on"))
    reason = models.ForeignKey(ChurnReason, verbose_name=_("reason"), on_delete=models.PROTECT, related_name="records")
    sub_reason = models.ForeignKey(
        ChurnReason,
        verbose_name=_("sub-reason"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sub_records",
    )
    note = models.TextField(_("details"), blank=True)
    lost_mrr = models.PositiveBigIntegerField(_("lost MRR (yen)"), default=0)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("churn record")
        verbose_name_plural = _("churn records")
        ordering = ["-churned_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract"], condition=models.Q(contract__isnull=False), name="churnrecord_one_per_contract"
            )
        ]
        indexes = [models.Index(fields=["-churned_on", "-id"]), models.Index(fields=["account", "-churned_on"])]

    def __str__(self) -> str:
        return f"{self.account} / {self.churned_on}"


# --- Churn-risk model: trained versions, their runs and their predictions ---------------------------


class RiskRunKind(models.TextChoices):
    TRAIN = "train", _("Training")
    PREDICT = "predict", _("Prediction")


RiskRunStatus = RunStatus


class RiskModel(models.Model):
    """One trained version of the churn-risk model: the booster as LightGBM text, the calibrator as JSON."""

    created_at = models.DateTimeField(_("trained at"), default=timezone.now)
    as_of = models.DateField(_("as of"))
    horizon_days = models.PositiveSmallIntegerField(_("horizon (days)"))
    params = models.JSONField(_("parameters"), default=dict)
    # ROC AUC, precision at the top decile, base rate, Brier score, calibration bins, windows, row counts.
    metrics = models.JSONField(_("quality"), default=dict)
    features = models.JSONField(_("features"), default=list)
    importance = models.JSONField(_("feature importance"), default=dict)
    booster = models.TextField(_("booster (LightGBM text)"))
    calibrator = models.JSONField(_("calibrator"), default=dict)

    class Meta:
        verbose_name = _("churn-risk model")
        verbose_name_plural = _("churn-risk models")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.as_of} #{self.pk}"


class RiskRun(BackgroundRun):
    """A training or a prediction as background work, with the progress shown while it runs."""

    kind = models.CharField(_("kind"), max_length=10, choices=RiskRunKind.choices)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    model = models.ForeignKey(
        RiskModel, verbose_name=_("model"), null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )

    class Meta(BackgroundRun.Meta):
        verbose_name = _("churn-risk run")
        verbose_name_plural = _("churn-risk runs")
        constraints = [
            # However many schedulers ask, only one scheduled run of a kind per day.
            models.UniqueConstraint(
                fields=["kind", "as_of"], condition=models.Q(scheduled=True), name="churn_one_scheduled_risk_run"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.as_of} {self.get_status_display()}"


# Churn-risk bands by calibrated probability: (floor, name), highest first.
RISK_BANDS = ((0.5, "high"), (0.2, "medium"), (0.0, "low"))


class RiskPrediction(models.Model):
    """An account's calibrated churn probability on a day, by one model version, with its top drivers."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="risk_predictions"
    )
    model = models.ForeignKey(RiskModel, verbose_name=_("model"), on_delete=models.CASCADE, related_name="predictions")
    day = models.DateField(_("day"))
    probability = models.FloatField(_("churn probability"))
    # [[feature, value, contribution], ...]: the top contributions that raise the risk, largest first.
    drivers = models.JSONField(_("drivers"), default=list)

    class Meta:
        verbose_name = _("churn-risk prediction")
        verbose_name_plural = _("churn-risk predictions")
        constraints = [
            models.UniqueConstraint(fields=["day", "model", "account"], name="churn_one_prediction_per_day_model")
        ]
        indexes = [models.Index(fields=["account", "-day"]), models.Index(fields=["day", "-probability"])]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day} {self.probability:.3f}"
