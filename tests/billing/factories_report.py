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


def build_mall() -> dict:
    """Two merchants and a provider in May 2025 whose report figures the report tests compute by hand."""
    a = MerchantFactory(name="湯けむり旅館", name_kana="ゆけむりりょかん")
    b = MerchantFactory(name="港の朝市", name_kana="みなとのあさいち")
    other = MerchantFactory(name="出店者", kind=AccountKind.PROVIDER)
    m1 = MemberFactory(created_at=tokyo(2024, 1, 1))
    m3 = MemberFactory(created_at=tokyo(2025, 4, 10))
    m2 = MemberFactory(created_at=tokyo(2025, 5, 3))
    m4 = MemberFactory(created_at=tokyo(2025, 5, 20))
    MemberFactory(created_at=tokyo(2025, 5, 31, 23, 30))  # still May in Tokyo
    MemberFactory(created_at=tokyo(2025, 6, 1, 0, 5))  # June
    book = BookingFactory
    book(provider=a, end_user=m1, scheduled_at=tokyo(2025, 5, 10), amount=30_000, guests=2)
    book(provider=a, end_user=m2, scheduled_at=tokyo(2025, 5, 31, 23, 30), amount=20_000, guests=1)
    book(provider=b, end_user=m3, scheduled_at=tokyo(2025, 6, 1, 0, 10), amount=99_000)  # June in Tokyo
    book(
        provider=b, end_user=m1, scheduled_at=tokyo(2025, 5, 15), amount=50_000, status=BookingStatus.CANCELLED
    )  # free cancellation: nothing
    book(
        provider=b,
        end_user=m4,
        scheduled_at=tokyo(2025, 5, 20),
        amount=40_000,
        status=BookingStatus.CANCELLED,
        cancellation_fee=5_000,
    )
    book(
        provider=b,
        end_user=m3,
        scheduled_at=tokyo(2025, 5, 5),
        amount=10_000,
        guests=1,
        tax_rate=8,
        plan="お土産セット",
    )
    # April booking refunded in part in May: the refund lowers May, April stays as reported.
    book(
        provider=a,
        end_user=m3,
        scheduled_at=tokyo(2025, 4, 20),
        amount=25_000,
        refunded_amount=5_000,
        refunded_at=tokyo(2025, 5, 2),
    )
    # Exactly 365 days before 1 May 2025 (inside the window) and one minute before that (outside).
    book(provider=a, end_user=m1, scheduled_at=tokyo(2024, 5, 1, 0, 0), amount=18_000)
    book(provider=a, end_user=m2, scheduled_at=tokyo(2024, 4, 30, 23, 59), amount=1_000)
    book(provider=other, end_user=m2, scheduled_at=tokyo(2025, 5, 12), amount=77_000)  # not a merchant
    return {"a": a, "b": b}
