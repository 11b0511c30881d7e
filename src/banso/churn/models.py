"""Churn reasons and records, and the churn-risk model: trained versions and their predictions."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from banso.accounts.models import Account, Contract

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
    reason = models.ForeignKey(
        ChurnReason, verbose_name=_("reason"), on_delete=models.PROTECT, related_name="records"
    )
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
