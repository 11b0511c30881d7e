"""Merchants, members and bookings of the tourism mall (seed 003) for billing tests; any billing test may use
them. Times are given in Tokyo with `tokyo(y, m, d, h)`."""

import datetime as dt
from zoneinfo import ZoneInfo

import factory

from banso.accounts.choices import AccountKind, EndUserKind
from banso.accounts.models import Account, EndUser
from banso.marketplace.models import Booking, BookingStatus

TOKYO = ZoneInfo("Asia/Tokyo")


def tokyo(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=TOKYO)


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    source = "test-mall"
    external_id = factory.Sequence(lambda n: f"m-{n}")
    name = factory.Sequence(lambda n: f"旅館テスト{n}")
    name_kana = factory.Sequence(lambda n: f"りょかんてすと{n}")
    kind = AccountKind.MERCHANT


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EndUser

    source = "test-mall"
    external_id = factory.Sequence(lambda n: f"u-{n}")
    kind = EndUserKind.MEMBER
    name = factory.Sequence(lambda n: f"会員{n}")
    email = factory.Sequence(lambda n: f"member{n}@example.jp")
    created_at = factory.LazyFunction(lambda: tokyo(2024, 1, 1))


class BookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Booking

    source = "test-mall"
    external_id = factory.Sequence(lambda n: f"b-{n}")
    provider = factory.SubFactory(MerchantFactory)
    end_user = factory.SubFactory(MemberFactory)
    plan = "一泊二食プラン"
    scheduled_at = factory.LazyFunction(lambda: tokyo(2025, 5, 10))
    booked_at = factory.LazyAttribute(lambda o: o.scheduled_at - dt.timedelta(days=20))
    guests = 2
    amount = 30_000
    tax_rate = 10
    status = BookingStatus.COMPLETED
    payment_id = factory.Sequence(lambda n: f"ch_{n:028x}")
