import factory

from banso.accounts.models import Account, EndUser


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    source = "crm"
    external_id = factory.Sequence(lambda n: f"A{n:04d}")
    name = factory.Sequence(lambda n: f"株式会社テスト{n}")


class EndUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EndUser

    source = "crm"
    external_id = factory.Sequence(lambda n: f"U{n:04d}")
    name = factory.Sequence(lambda n: f"会員{n}")
