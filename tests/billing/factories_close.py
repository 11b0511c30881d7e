"""The month close's test data: the operator's invoice details, commission rules and charges. Merchants,
members and bookings come from factories_report (shared by the billing tests)."""

import datetime as dt
from decimal import Decimal

import factory

from banso.billing.models import BillingSettings, CommissionRule, MerchantCharge

from .factories_report import BookingFactory, MemberFactory, MerchantFactory, tokyo

__all__ = ["BookingFactory", "ChargeFactory", "MemberFactory", "MerchantFactory", "RuleFactory", "issuer", "tokyo"]


def issuer(**changes: object) -> BillingSettings:
    """The operator's details as a valid qualified-invoice issuer (the NTA's own registration number)."""
    billing = BillingSettings.current()
    billing.issuer_name = "株式会社バンソウ観光"
    billing.registration_number = "T7000012050002"
    billing.address = "東京都千代田区霞が関3-1-1"
    for name, value in changes.items():
        setattr(billing, name, value)
    billing.save()
    return billing


class RuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CommissionRule

    merchant = None
    plan = ""
    commission_rate = Decimal("10.00")
    payment_fee_rate = Decimal("3.50")
    effective_from = dt.date(2026, 1, 1)
    effective_to = None


class ChargeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MerchantCharge

    merchant = factory.SubFactory(MerchantFactory)
    month = dt.date(2026, 10, 1)
    description = "特集ページ広告"
    amount = 30_000
    tax_rate = 10
