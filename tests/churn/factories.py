"""Churn records and the contract histories the analysis reads."""

import datetime

import factory

from banso.accounts.choices import ContractStatus
from banso.churn.models import ChurnReason, ChurnRecord
from tests.accounts.factories import AccountFactory, ContractFactory

__all__ = ["AccountFactory", "ChurnRecordFactory", "ContractFactory", "contract", "reason"]


def reason(code: str) -> ChurnReason:
    """A reason of the default taxonomy (the data migration adds it)."""
    return ChurnReason.objects.get(code=code)


def contract(
    account,
    mrr: int,
    start: datetime.date,
    end: datetime.date | None = None,
    *,
    churned: bool = False,
    plan: str = "スタンダード",
):
    """A contract running from `start` up to `end` (exclusive): churned there, or renewed there, or still running."""
    if end is None:
        status = ContractStatus.ACTIVE
    elif churned:
        status = ContractStatus.CHURNED
    else:
        status = ContractStatus.RENEWED
    return ContractFactory(
        account=account,
        mrr=mrr,
        plan=plan,
        start_date=start,
        end_date=end,
        renewal_date=end,
        status=status,
        churned_on=end if churned else None,
    )


class ChurnRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChurnRecord

    account = factory.SubFactory(AccountFactory)
    churned_on = datetime.date(2025, 3, 1)
    reason = factory.LazyFunction(lambda: reason("budget"))
    lost_mrr = 50_000
