"""Success test data shared by the touch, renewal, plan and KPI tests: touches, renewals, plans and targets."""

import datetime as dt

import factory
from django.utils import timezone

from banso.success.models import (
    CoveragePlan,
    CoverageTarget,
    Renewal,
    TargetReason,
    Touch,
    TouchChannel,
    TouchOutcome,
)

from ..accounts.factories import AccountFactory, ContractFactory
from ..core.factories import UserFactory


class TouchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Touch

    account = factory.SubFactory(AccountFactory)
    csm = factory.SubFactory(UserFactory)
    channel = TouchChannel.CALL
    outcome = TouchOutcome.CONVERSATION
    occurred_at = factory.LazyFunction(timezone.now)


class RenewalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Renewal

    contract = factory.SubFactory(ContractFactory)
    account = factory.SelfAttribute("contract.account")
    renewal_date = factory.SelfAttribute("contract.renewal_date")
    mrr = factory.SelfAttribute("contract.mrr")


class CoveragePlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CoveragePlan
        django_get_or_create = ("month",)

    month = dt.date(2026, 4, 1)
    generated_at = factory.LazyFunction(timezone.now)


class CoverageTargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CoverageTarget

    plan = factory.SubFactory(CoveragePlanFactory)
    account = factory.SubFactory(AccountFactory)
    reason = TargetReason.RENEWAL
    reasons = factory.LazyAttribute(lambda o: [o.reason])
    priority = 50.0
    assignee = factory.SubFactory(UserFactory)
    planned_on = dt.date(2026, 4, 6)
    mrr = 50_000
