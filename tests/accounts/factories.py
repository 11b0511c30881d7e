import datetime

import factory

from banso.accounts.choices import AccountKind, ContractStatus, LifecycleStage, TouchTier
from banso.accounts.models import Account, Contact, Contract


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    external_id = factory.Sequence(lambda n: f"acc-{n}")
    name = factory.Sequence(lambda n: f"株式会社テスト{n}")
    name_kana = factory.Sequence(lambda n: f"てすと{n}")
    kind = AccountKind.CUSTOMER
    tier = TouchTier.LOW
    lifecycle_stage = LifecycleStage.ADOPTION


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    external_id = factory.Sequence(lambda n: f"con-{n}")
    name = factory.Sequence(lambda n: f"担当者{n}")
    name_kana = factory.Sequence(lambda n: f"たんとう{n}")
    email = factory.Sequence(lambda n: f"contact{n}@example.jp")


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract

    account = factory.SubFactory(AccountFactory)
    external_id = factory.Sequence(lambda n: f"ctr-{n}")
    plan = "スタンダード"
    mrr = 50_000
    start_date = datetime.date(2025, 4, 1)
    renewal_date = datetime.date(2026, 4, 1)
    status = ContractStatus.ACTIVE
