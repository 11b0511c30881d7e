"""Advertisers, ASPs, offers, special rates, conversions and users for campaigns tests. Times are given in Tokyo
with `tokyo(y, m, d, h)`; any campaigns test may use these."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import factory

from banso.accounts.choices import AccountKind, EndUserKind
from banso.accounts.models import Account, EndUser
from banso.campaigns.models import (
    Asp,
    Conversion,
    ConversionStatus,
    Offer,
    OfferCategory,
    OfferStatus,
    RewardType,
    SpecialRate,
)

TOKYO = ZoneInfo("Asia/Tokyo")


def tokyo(y: int, m: int, d: int, h: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, minute, tzinfo=TOKYO)


class AdvertiserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    source = "test-plug"
    external_id = factory.Sequence(lambda n: f"adv-{n}")
    name = factory.Sequence(lambda n: f"通販ショップ{n}")
    name_kana = factory.Sequence(lambda n: f"つうはんしょっぷ{n}")
    kind = AccountKind.ADVERTISER


class AspFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Asp
        django_get_or_create = ("code",)

    code = "a8"
    name = "A8.net"


class OfferFactory(factory.django.DjangoModelFactory):
    """A published offer paying 5 % of the order amount, half of it back to the user."""

    class Meta:
        model = Offer

    source = "test-plug"
    external_id = factory.Sequence(lambda n: f"off-{n}")
    advertiser = factory.SubFactory(AdvertiserFactory)
    asp = factory.SubFactory(AspFactory)
    asp_offer_id = factory.Sequence(lambda n: f"s{n:08d}")
    name = factory.Sequence(lambda n: f"通販ショップ{n} 新規購入")
    category = OfferCategory.EC
    landing_url = "https://shop.example.jp/"
    base_reward_type = RewardType.RATE
    base_rate = Decimal("5.00")
    reward_type = RewardType.RATE
    reward_rate = Decimal("5.00")
    cashback_share = Decimal("50.00")
    status = OfferStatus.PUBLISHED


class SpecialRateFactory(factory.django.DjangoModelFactory):
    """December 2026 at 10 %: from 00:00 on the 1st to 00:00 on the 1st of the next month, Tokyo."""

    class Meta:
        model = SpecialRate

    offer = factory.SubFactory(OfferFactory)
    starts_at = factory.LazyFunction(lambda: tokyo(2026, 12, 1))
    ends_at = factory.LazyFunction(lambda: tokyo(2027, 1, 1))
    reward_type = RewardType.RATE
    rate = Decimal("10.00")


class UserFactory(factory.django.DjangoModelFactory):
    """An end user of the cashback extension."""

    class Meta:
        model = EndUser

    source = "test-plug"
    external_id = factory.Sequence(lambda n: f"u-{n}")
    kind = EndUserKind.MEMBER
    name = factory.Sequence(lambda n: f"ユーザー{n}")
    email = factory.Sequence(lambda n: f"user{n}@example.jp")


class ConversionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversion

    offer = factory.SubFactory(OfferFactory)
    asp = factory.LazyAttribute(lambda o: o.offer.asp)
    asp_conversion_id = factory.Sequence(lambda n: f"cv-{n:08d}")
    end_user = factory.SubFactory(UserFactory)
    occurred_at = factory.LazyFunction(lambda: tokyo(2026, 11, 10, 20))
    status = ConversionStatus.PENDING
    order_amount = 10_000
    reward = 500
    cashback = 250
