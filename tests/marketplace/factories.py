"""Providers (出店者) with their profile and services, members, bookings and incidents for marketplace tests.
Times are given in Tokyo with `tokyo(y, m, d, h)`; any marketplace test may use these."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import factory

from banso.accounts.choices import AccountKind, EndUserKind
from banso.accounts.models import Account, EndUser
from banso.marketplace.models import (
    Booking,
    BookingStatus,
    Incident,
    IncidentStatus,
    IncidentType,
    Provider,
    ProviderService,
    Rule,
    Severity,
)

TOKYO = ZoneInfo("Asia/Tokyo")


def tokyo(y: int, m: int, d: int, h: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, minute, tzinfo=TOKYO)


class ProviderAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    source = "test-market"
    external_id = factory.Sequence(lambda n: f"p-{n}")
    name = factory.Sequence(lambda n: f"ハウスクリーニング{n}")
    name_kana = factory.Sequence(lambda n: f"はうすくりーにんぐ{n}")
    kind = AccountKind.PROVIDER


class ProviderFactory(factory.django.DjangoModelFactory):
    """A provider's profile (and its Account): `ProviderFactory(services=[("エアコンクリーニング", "渋谷区")])`."""

    class Meta:
        model = Provider
        skip_postgeneration_save = True

    account = factory.SubFactory(ProviderAccountFactory)
    rating = Decimal("4.50")
    review_count = 20
    daily_capacity = 3
    email = factory.Sequence(lambda n: f"provider{n}@example.jp")
    booking_url = factory.Sequence(lambda n: f"https://market.example.jp/p/{n}?date={{date}}")

    @factory.post_generation
    def services(self, create: bool, extracted: list[tuple[str, str]] | None, **kwargs: object) -> None:
        if create and extracted:
            for category, area in extracted:
                ProviderService.objects.create(provider=self, category=category, area=area)


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EndUser

    source = "test-market"
    external_id = factory.Sequence(lambda n: f"m-{n}")
    kind = EndUserKind.MEMBER
    name = factory.Sequence(lambda n: f"会員{n}")
    email = factory.Sequence(lambda n: f"member{n}@example.jp")


class BookingFactory(factory.django.DjangoModelFactory):
    """An upcoming booking by default; pass `provider=<Account>` (e.g. `ProviderFactory().account`)."""

    class Meta:
        model = Booking

    source = "test-market"
    external_id = factory.Sequence(lambda n: f"mb-{n}")
    provider = factory.LazyFunction(lambda: ProviderFactory().account)
    end_user = factory.SubFactory(MemberFactory)
    plan = "エアコンクリーニング（1台）"
    category = "エアコンクリーニング"
    area = "東京都渋谷区"
    scheduled_at = factory.LazyFunction(lambda: tokyo(2026, 12, 10, 10))
    booked_at = factory.LazyAttribute(lambda o: o.scheduled_at - dt.timedelta(days=10))
    guests = 1
    amount = 12_000
    tax_rate = 10
    status = BookingStatus.BOOKED


class IncidentFactory(factory.django.DjangoModelFactory):
    """A confirmed no-show by default (confirmed incidents are the ones rules count)."""

    class Meta:
        model = Incident

    source = "test-market"
    external_id = factory.Sequence(lambda n: f"inc-{n}")
    number = factory.Sequence(lambda n: f"INC-T{n:05d}")
    provider = factory.LazyFunction(lambda: ProviderFactory().account)
    type = IncidentType.NO_SHOW
    severity = Severity.MEDIUM
    status = IncidentStatus.CONFIRMED
    occurred_at = factory.LazyFunction(lambda: tokyo(2026, 11, 1, 10))
    confirmed_at = factory.LazyAttribute(lambda o: o.occurred_at + dt.timedelta(hours=2))
    summary = "予約時間に来なかった"


class RuleFactory(factory.django.DjangoModelFactory):
    """ "2 confirmed no-shows in 90 days": warn the provider, no approval needed."""

    class Meta:
        model = Rule

    name = factory.Sequence(lambda n: f"無断キャンセル2回/90日 {n}")
    incident_types = factory.LazyFunction(lambda: [IncidentType.NO_SHOW.value])
    window_days = 90
    threshold = 2
    requires_approval = False
