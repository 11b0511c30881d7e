"""Enumerations for accounts, contacts, contracts and end users."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AccountKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    MERCHANT = "merchant", _("Merchant")
    PROVIDER = "provider", _("Provider")
    ADVERTISER = "advertiser", _("Advertiser")
    CLIENT = "client", _("Client")


class TouchTier(models.TextChoices):
    HIGH = "high", _("High touch")
    LOW = "low", _("Low touch")
    TECH = "tech", _("Tech touch")


class LifecycleStage(models.TextChoices):
    ONBOARDING = "onboarding", _("Onboarding")
    ADOPTION = "adoption", _("Adoption")
    EXPANSION = "expansion", _("Expansion")
    RENEWAL = "renewal", _("Renewal")
    AT_RISK = "at_risk", _("At risk")
    CHURNED = "churned", _("Churned")


class ContactRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    CHAMPION = "champion", _("Champion")
    USER = "user", _("User")
    BILLING = "billing", _("Billing")
    OTHER = "other", _("Other")


class ContractStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PENDING = "pending", _("Pending start")
    RENEWED = "renewed", _("Renewed")
    EXPIRED = "expired", _("Expired")
    CHURNED = "churned", _("Churned")


class EndUserKind(models.TextChoices):
    SHOPPER = "shopper", _("Shopper")
    BOOKER = "booker", _("Booker")
    APPLICANT = "applicant", _("Applicant")
    MEMBER = "member", _("Member")
