"""The records every team works from: accounts of every kind, their contacts, contracts, and end users."""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from banso.core.text import search_key

from .choices import AccountKind, ContactRole, ContractStatus, EndUserKind, LifecycleStage, TouchTier

MANUAL_SOURCE = "banso"


class SourcedModel(models.Model):
    """Records that arrive from outside carry their source and id there, which makes imports idempotent."""

    source = models.CharField(_("source"), max_length=50, default=MANUAL_SOURCE)
    external_id = models.CharField(_("external id"), max_length=100)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        abstract = True


class Account(SourcedModel):
    name = models.CharField(_("name"), max_length=200)
    name_kana = models.CharField(_("reading"), max_length=200, blank=True)
    # NFKC, case-folded, hiragana: what name searches match against (see core.text).
    search_text = models.CharField(max_length=400, editable=False, default="")
    kind = models.CharField(_("kind"), max_length=20, choices=AccountKind.choices, default=AccountKind.CUSTOMER)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner CSM"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_accounts",
    )
    tier = models.CharField(_("touch tier"), max_length=10, choices=TouchTier.choices, default=TouchTier.LOW)
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=20, choices=LifecycleStage.choices, default=LifecycleStage.ONBOARDING
    )
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    attributes = models.JSONField(_("custom attributes"), default=dict, blank=True)
    # Roll-ups of the account's contracts, kept by `accounts.services.refresh_rollups` so the account
    # list can filter and sort 100,000 accounts without joining contracts.
    mrr = models.PositiveBigIntegerField(_("MRR (yen)"), default=0)
    next_renewal_date = models.DateField(_("next renewal"), null=True, blank=True)
    # External merchant users who may sign in to see this account's own documents (and nothing else).
    portal_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("portal users"), blank=True, related_name="portal_accounts"
    )

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="account_source_uniq")]
        indexes = [
            models.Index(fields=["name_kana", "id"]),
            models.Index(fields=["owner", "name_kana"]),
            models.Index(fields=["next_renewal_date", "id"], name="account_renewal_asc"),
            models.Index(fields=["-updated_at", "-id"], name="account_updated_desc"),
            models.Index(fields=["kind", "tier", "lifecycle_stage"]),
            models.Index(fields=["-mrr"]),
        ]
        # Migration 0004 adds two indexes Django cannot declare portably: a trigram index on search_text
        # for name searches (PostgreSQL) and (next_renewal_date DESC NULLS LAST, id DESC) for that sort.

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.search_text = search_key(self.name, self.name_kana)
        super().save(*args, **kwargs)


class Contact(SourcedModel):
    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=200)
    name_kana = models.CharField(_("reading"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    role = models.CharField(_("role"), max_length=20, choices=ContactRole.choices, default=ContactRole.USER)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    left_on = models.DateField(_("left on"), null=True, blank=True)
    successor = models.ForeignKey(
        "self",
        verbose_name=_("successor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="predecessors",
    )

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-is_primary", "name_kana", "id"]
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="contact_source_uniq")]

    def __str__(self) -> str:
        return self.name

    @property
    def current(self) -> "Contact":
        """The person to reach now: follows the successor chain from someone who left."""
        contact, seen = self, {self.pk}
        while contact.successor_id and contact.successor_id not in seen:
            seen.add(contact.successor_id)
            assert contact.successor is not None
            contact = contact.successor
        return contact


class Contract(SourcedModel):
    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="contracts")
    plan = models.CharField(_("plan"), max_length=100)
    mrr = models.PositiveBigIntegerField(_("MRR (yen)"))
    start_date = models.DateField(_("start"))
    end_date = models.DateField(_("end"), null=True, blank=True)
    renewal_date = models.DateField(_("renewal date"), null=True, blank=True)
    auto_renew = models.BooleanField(_("auto-renew"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=ContractStatus.choices, default=ContractStatus.ACTIVE)
    churned_on = models.DateField(_("churned on"), null=True, blank=True)
    churn_reason = models.CharField(_("churn reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")
        ordering = ["-start_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="contract_source_uniq"),
            models.CheckConstraint(
                condition=~models.Q(status=ContractStatus.CHURNED) | models.Q(churned_on__isnull=False),
                name="contract_churned_has_date",
            ),
        ]
        indexes = [models.Index(fields=["renewal_date", "status"])]

    def __str__(self) -> str:
        return f"{self.account} / {self.plan}"


class EndUser(SourcedModel):
    """A consumer of the business: a shopper, booker, applicant or member."""

    kind = models.CharField(_("kind"), max_length=20, choices=EndUserKind.choices, default=EndUserKind.MEMBER)
    name = models.CharField(_("name"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True)
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="end_users",
    )
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)

    class Meta:
        verbose_name = _("end user")
        verbose_name_plural = _("end users")
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="enduser_source_uniq")]

    def __str__(self) -> str:
        return self.name or self.external_id
