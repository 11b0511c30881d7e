"""Demo local-tourism booking mall (seed 003): 40 merchants (inns, tours, restaurants, experiences), about
4,000 members who joined over three years and about 60,000 bookings over 25 months, with the seasons of a
Japanese tourist area (Golden Week, Obon, autumn leaves, the New Year), cancellations with and without fees,
refunds (a few after their month), reduced-rate (8 %) take-away food and souvenir plans, PAY.JP-like charge
ids, the operator's invoice details and commission rules (a default, merchants at 8 % and 12 %, one plan's
own rate, one merchant's rate changing mid-period).

Everything is under its own source ("demo-mall") so the core demo's counts of its `--accounts` customers
stay as they are. Bookings are written in one bulk insert (COPY on PostgreSQL). A second run adds nothing.

Later billing parts (month close, reconciliation, newsletters) add their demo data by appending a
callable to `STEPS` (and `RESETS`); `build` calls them after the mall exists, with `ctx.shared["mall"]`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
from django.db import connection, transaction
from django.utils import timezone

from banso.accounts.choices import AccountKind, EndUserKind, TouchTier
from banso.accounts.models import Account, EndUser
from banso.core import arrowdb
from banso.core.calendar import month_start
from banso.core.demo import DemoContext, person_name
from banso.core.models import User
from banso.core.text import search_key
from banso.marketplace.models import Booking, BookingStatus

from .models import BillingSettings, CommissionRule
from .tax import registration_check_digit

TOKYO = ZoneInfo("Asia/Tokyo")
DEMO_SOURCE = "demo-mall"
MEMBERS = 4_000
BOOKINGS = 60_000
MONTHS = 25  # the current month and the 24 before it
MEMBER_YEARS = 3
# A fictional corporate number body; the check digit is computed (JAPAN.md), it is not the NTA's own number.
REGISTRATION_BODY = "048201520803"

# (category, per-person?): plans as (name, price in yen tax included, tax rate, per person)
PLANS: dict[str, list[tuple[str, int, int, bool]]] = {
    "宿泊": [
        ("一泊二食付きプラン", 18_000, 10, True),
        ("素泊まりプラン", 8_000, 10, True),
        ("記念日プラン（部屋食）", 28_000, 10, True),
        ("地酒と郷土菓子の土産セット（持ち帰り）", 3_240, 8, False),
    ],
    "ツアー": [
        ("半日ガイドツアー", 5_500, 10, True),
        ("一日ツアー（昼食付き）", 12_000, 10, True),
        ("貸切プライベートツアー", 38_000, 10, False),
    ],
    "飲食": [
        ("ランチ予約", 2_200, 10, True),
        ("会席コース", 8_800, 10, True),
        ("テイクアウト弁当", 1_620, 8, True),
        ("お土産詰め合わせ（持ち帰り）", 4_320, 8, False),
    ],
    "体験": [
        ("体験教室（90分）", 4_400, 10, True),
        ("親子体験プラン", 6_600, 10, False),
        ("作品と地元菓子の持ち帰りセット", 2_160, 8, False),
    ],
}
PLAN_WEIGHTS = {"宿泊": [0.5, 0.2, 0.15, 0.15], "ツアー": [0.5, 0.35, 0.15], "飲食": [0.35, 0.25, 0.25, 0.15]}
PLAN_WEIGHTS["体験"] = [0.55, 0.3, 0.15]
HOURS = {"宿泊": [15], "ツアー": [9, 13], "飲食": [11, 18], "体験": [10, 14]}
GUESTS = {"宿泊": [1, 2, 3, 4], "ツアー": [1, 2, 3, 4, 5, 6], "飲食": [1, 2, 3, 4, 5, 6], "体験": [1, 2, 3, 4]}
GUEST_WEIGHTS = {
    "宿泊": [0.15, 0.55, 0.12, 0.18],
    "ツアー": [0.2, 0.45, 0.12, 0.13, 0.05, 0.05],
    "飲食": [0.2, 0.45, 0.12, 0.13, 0.05, 0.05],
    "体験": [0.25, 0.45, 0.15, 0.15],
}
AREAS = ["北山温泉", "南浜", "城下町", "白樺湖畔", "翠渓谷", "里山地区"]
# (name, reading, category); the first is the demo merchant user's own.
MERCHANTS: list[tuple[str, str, str]] = [
    ("湯けむりの宿 松風", "ゆけむりのやど まつかぜ", "宿泊"),
    ("旅館 山水荘", "りょかん さんすいそう", "宿泊"),
    ("民宿 はまなす", "みんしゅく はまなす", "宿泊"),
    ("温泉旅館 月見亭", "おんせんりょかん つきみてい", "宿泊"),
    ("ゲストハウス 縁", "げすとはうす えにし", "宿泊"),
    ("古民家の宿 ひだまり", "こみんかのやど ひだまり", "宿泊"),
    ("ホテル 潮騒", "ほてる しおさい", "宿泊"),
    ("割烹旅館 清流", "かっぽうりょかん せいりゅう", "宿泊"),
    ("湖畔の宿 白樺", "こはんのやど しらかば", "宿泊"),
    ("農家民泊 たんぼ", "のうかみんぱく たんぼ", "宿泊"),
    ("宿坊 蓮華院", "しゅくぼう れんげいん", "宿泊"),
    ("温泉宿 かじか", "おんせんやど かじか", "宿泊"),
    ("山の宿 木漏れ日", "やまのやど こもれび", "宿泊"),
    ("海辺の宿 さざなみ", "うみべのやど さざなみ", "宿泊"),
    ("里山ガイドツアーズ", "さとやまがいどつあーず", "ツアー"),
    ("渓谷カヌー倶楽部", "けいこくかぬーくらぶ", "ツアー"),
    ("星空観察ツアー ほしぞら", "ほしぞらかんさつつあー ほしぞら", "ツアー"),
    ("城下町まち歩き案内所", "じょうかまちまちあるきあんないしょ", "ツアー"),
    ("紅葉バスツアー 錦", "こうようばすつあー にしき", "ツアー"),
    ("漁港クルーズ 海鳥", "ぎょこうくるーず うみどり", "ツアー"),
    ("サイクリングツアー 風", "さいくりんぐつあー かぜ", "ツアー"),
    ("雪見トレッキング 白銀", "ゆきみとれっきんぐ はくぎん", "ツアー"),
    ("酒蔵めぐりツアー", "さかぐらめぐりつあー", "ツアー"),
    ("港の食堂 まるいち", "みなとのしょくどう まるいち", "飲食"),
    ("手打ちそば 山彦", "てうちそば やまびこ", "飲食"),
    ("郷土料理 いろり", "きょうどりょうり いろり", "飲食"),
    ("海鮮丼 大漁", "かいせんどん たいりょう", "飲食"),
    ("和菓子処 花月", "わがしどころ かげつ", "飲食"),
    ("地ビール醸造所 ほっぷ", "じびーるじょうぞうしょ ほっぷ", "飲食"),
    ("炉端焼き 漁火", "ろばたやき いさりび", "飲食"),
    ("茶房 こけもも", "さぼう こけもも", "飲食"),
    ("精肉店 牛の里", "せいにくてん うしのさと", "飲食"),
    ("陶芸工房 土の音", "とうげいこうぼう つちのね", "体験"),
    ("藍染め体験 あいいろ", "あいぞめたいけん あいいろ", "体験"),
    ("そば打ち道場", "そばうちどうじょう", "体験"),
    ("果樹園 みのり", "かじゅえん みのり", "体験"),
    ("着付け体験 和心", "きつけたいけん わごころ", "体験"),
    ("座禅体験 静寂庵", "ざぜんたいけん せいじゃくあん", "体験"),
    ("和紙すき体験 紙の里", "わしすきたいけん かみのさと", "体験"),
    ("釣り体験 いそかぜ", "つりたいけん いそかぜ", "体験"),
]
# Merchants that joined the mall in the last year (no year-on-year figures yet): index → months ago.
LATE_JOINERS = {9: 10, 21: 8, 31: 6, 39: 4}
# Month of the year → demand; days in the peaks below are multiplied again.
MONTH_WEIGHTS = {
    1: 1.0,
    2: 0.65,
    3: 0.85,
    4: 0.95,
    5: 1.25,
    6: 0.7,
    7: 1.05,
    8: 1.45,
    9: 0.9,
    10: 1.1,
    11: 1.4,
    12: 0.95,
}


@dataclass
class Mall:
    """What later demo steps build on."""

    merchants: list[Account]
    start: dt.date  # the first month with bookings
    end: dt.date  # the current month (the last with bookings)
    bookings: int
    members: int


def _close_last_months(ctx: DemoContext) -> None:
    """Billing went live two months ago: the two months before this one are closed in Banso (statements,
    invoices, PDFs, a late refund's credit note), everything earlier is history billed elsewhere; then
    last month's PAY.JP data and bank deposits are reconciled, and two newsletters went out."""
    from . import closing, newsletter_demo, reconcile

    last = month_start(ctx.today, -1)
    closing.mark_history_closed(month_start(last, -1))
    for month in (month_start(last, -1), last):
        if closing.closed_close(month) is None:
            closing.close_month(month)
    recon = reconcile.demo_data(month=last)
    reconcile.match(month=last)
    letters = newsletter_demo.demo_data()
    ctx.progress(f"booking mall: 2 months closed, reconciliation {recon}, newsletters {letters}")


def _reset_billing(ctx: DemoContext) -> None:
    from . import immutability
    from .models import (
        Adjustment,
        BankDeposit,
        DocumentSequence,
        Invoice,
        MonthClose,
        Newsletter,
        ProcessorImport,
        ProcessorTransaction,
        ReconciliationItem,
        Statement,
    )

    with immutability.lifted(), transaction.atomic():
        ReconciliationItem.objects.all().delete()
        ProcessorTransaction.objects.all().delete()
        BankDeposit.objects.all().delete()
        ProcessorImport.objects.all().delete()
        Newsletter.objects.all().delete()
        Invoice.objects.filter(kind="credit_note").delete()
        Invoice.objects.all().delete()
        Statement.objects.all().delete()
        Adjustment.objects.all().delete()
        MonthClose.objects.all().delete()
        DocumentSequence.objects.all().delete()


STEPS: list[Callable[[DemoContext], None]] = [_close_last_months]
RESETS: list[Callable[[DemoContext], None]] = [_reset_billing]


def merchant_id(i: int) -> str:
    return f"mall-merchant-{i:02d}"


def member_id(i: int) -> str:
    return f"mall-member-{i:05d}"


def registration_number() -> str:
    return f"T{registration_check_digit(REGISTRATION_BODY)}{REGISTRATION_BODY}"


def _day_weight(day: dt.date) -> float:
    weight = MONTH_WEIGHTS[day.month]
    md = (day.month, day.day)
    if (4, 29) <= md <= (5, 5):  # Golden Week
        weight *= 3.0
    elif (8, 11) <= md <= (8, 16):  # Obon
        weight *= 2.6
    elif (11, 5) <= md <= (11, 25):  # autumn leaves
        weight *= 1.7
    elif md >= (12, 29) or md <= (1, 3):  # New Year
        weight *= 2.4
    if day.weekday() >= 5:
        weight *= 1.5
    return weight


def _settings() -> None:
    BillingSettings.objects.update_or_create(
        pk=1,
        defaults={
            "issuer_name": "株式会社ふるさと旅モール",
            "registration_number": registration_number(),
            "address": "〒390-0000 長野県松本市中央9丁目9-9 ふるさとビル3階",
            "phone": "0263-00-0000",
            "bank_account": "ふるさと銀行 本店営業部 普通 1234567 カ）フルサトタビモール",
            "default_commission_rate": Decimal("10.00"),
            "default_payment_fee_rate": Decimal("3.60"),
        },
    )


def _merchants(ctx: DemoContext) -> list[Account]:
    rng = ctx.rng_for("billing.merchants")
    now = timezone.now()
    rows = []
    for i, (name, reading, category) in enumerate(MERCHANTS):
        joined = month_start(ctx.today, -LATE_JOINERS.get(i, 36))
        rows.append(
            Account(
                source=DEMO_SOURCE,
                external_id=merchant_id(i),
                name=name,
                name_kana=reading,
                search_text=search_key(name, reading),
                kind=AccountKind.MERCHANT,
                tier=TouchTier.LOW,
                industry=category,
                attributes={"area": AREAS[int(rng.integers(len(AREAS)))], "joined": joined.isoformat()},
                created_at=dt.datetime.combine(joined, dt.time(10), tzinfo=TOKYO),
                updated_at=now,
            )
        )
    Account.objects.bulk_create(rows, ignore_conflicts=True)
    by_ext = {a.external_id: a for a in Account.objects.filter(source=DEMO_SOURCE, kind=AccountKind.MERCHANT)}
    return [by_ext[merchant_id(i)] for i in range(len(MERCHANTS))]


def _commission_rules(ctx: DemoContext, merchants: list[Account]) -> None:
    origin = month_start(ctx.today, -36)
    change = month_start(ctx.today, -6)
    fee = Decimal("3.60")
    rules: list[tuple[Account | None, str, str, dt.date, dt.date | None]] = [
        (None, "", "10.00", origin, None),
        (merchants[3], "", "8.00", origin, None),  # long-standing partners
        (merchants[24], "", "8.00", origin, None),
        (merchants[12], "", "12.00", origin, None),  # heavy promotion on the mall's top page
        (merchants[16], "", "12.00", origin, None),
        (merchants[0], "記念日プラン（部屋食）", "15.00", origin, None),  # a plan sold with the mall's campaign
        (merchants[6], "", "10.00", origin, change - dt.timedelta(days=1)),  # moves to 12 % mid-period
        (merchants[6], "", "12.00", change, None),
    ]
    for merchant, plan, rate, start, end in rules:
        CommissionRule.objects.get_or_create(
            merchant=merchant,
            plan=plan,
            effective_from=start,
            defaults={"commission_rate": Decimal(rate), "payment_fee_rate": fee, "effective_to": end},
        )


def _members(ctx: DemoContext) -> tuple[np.ndarray, np.ndarray]:
    """(ids, created_at as epoch seconds), ordered by creation."""
    rng = ctx.rng_for("billing.members")
    end = dt.datetime.combine(ctx.today, dt.time(12), tzinfo=TOKYO)
    span = (end - end.replace(year=end.year - MEMBER_YEARS)).total_seconds()
    # More join as the mall grows: u^0.8 leans towards recent dates.
    offsets = np.sort(rng.random(MEMBERS) ** 0.8) * span
    created = [end - dt.timedelta(seconds=float(span - o)) for o in offsets]
    now = timezone.now()
    rows = []
    for i, when in enumerate(created):
        name, _reading, romaji = person_name(rng)
        rows.append(
            EndUser(
                source=DEMO_SOURCE,
                external_id=member_id(i),
                kind=EndUserKind.MEMBER,
                name=name,
                email=f"{romaji}.{i}@mall-demo.example",
                attributes={"newsletter": bool(rng.random() < 0.7)},
                created_at=when,
                updated_at=now,
            )
        )
    EndUser.objects.bulk_create(rows, batch_size=2_000, ignore_conflicts=True)
    found = dict(EndUser.objects.filter(source=DEMO_SOURCE).values_list("external_id", "id"))
    ids = np.array([found[member_id(i)] for i in range(MEMBERS)], dtype=np.int64)
    stamps = np.array([c.timestamp() for c in created], dtype=np.float64)
    return ids, stamps


def _db_time(seconds: np.ndarray) -> pl.Series:
    """Epoch seconds → the text the database takes for an aware UTC timestamp (nulls stay null)."""
    stamps = (pl.Series(seconds).cast(pl.Int64) * 1_000_000).cast(pl.Datetime("us"))
    suffix = "+00:00" if connection.vendor == "postgresql" else ""
    return stamps.dt.strftime("%Y-%m-%d %H:%M:%S") + suffix


def _nulls(n: int, dtype: type[pl.DataType]) -> pl.Series:
    return pl.Series([None] * n, dtype=dtype)


def _bookings(ctx: DemoContext, merchants: list[Account], member_ids: np.ndarray, joined: np.ndarray) -> int:
    rng = ctx.rng_for("billing.bookings")
    first = month_start(ctx.today, -(MONTHS - 1))
    last = month_start(ctx.today, 1) - dt.timedelta(days=1)
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    growth = np.linspace(0.8, 1.2, len(days))  # the mall grows
    weights = np.array([_day_weight(d) for d in days]) * growth
    popularity = rng.lognormal(0.0, 0.6, len(MERCHANTS))
    opened = np.array(
        [
            (month_start(ctx.today, -LATE_JOINERS[i]) - first).days if i in LATE_JOINERS else 0
            for i in range(len(MERCHANTS))
        ]
    )
    draw = int(BOOKINGS * 1.15)
    day_idx = rng.choice(len(days), size=draw, p=weights / weights.sum())
    merchant_idx = rng.choice(len(MERCHANTS), size=draw, p=popularity / popularity.sum())
    keep = day_idx >= opened[merchant_idx]
    day_idx, merchant_idx = day_idx[keep][:BOOKINGS], merchant_idx[keep][:BOOKINGS]
    n = len(day_idx)

    categories = [MERCHANTS[i][2] for i in range(len(MERCHANTS))]
    price_factor = np.round(rng.uniform(0.8, 1.4, len(MERCHANTS)), 1)
    plan = np.empty(n, dtype=object)
    category = np.empty(n, dtype=object)
    area = np.empty(n, dtype=object)
    amount = np.zeros(n, dtype=np.int64)
    tax = np.zeros(n, dtype=np.int64)
    guests = np.zeros(n, dtype=np.int64)
    hour = np.zeros(n, dtype=np.int64)
    for m in range(len(MERCHANTS)):
        rows = np.flatnonzero(merchant_idx == m)
        if not len(rows):
            continue
        cat = categories[m]
        plans = PLANS[cat]
        choice = rng.choice(len(plans), size=len(rows), p=PLAN_WEIGHTS[cat])
        g = rng.choice(GUESTS[cat], size=len(rows), p=GUEST_WEIGHTS[cat])
        prices = np.array([p[1] for p in plans]) * price_factor[m]
        unit = (np.round(prices / 10) * 10).astype(np.int64)[choice]
        per_person = np.array([p[3] for p in plans])[choice]
        plan[rows] = np.array([p[0] for p in plans], dtype=object)[choice]
        tax[rows] = np.array([p[2] for p in plans])[choice]
        guests[rows] = g
        amount[rows] = np.where(per_person, unit * g, unit)
        hour[rows] = rng.choice(HOURS[cat], size=len(rows))
        category[rows] = cat
        area[rows] = merchants[m].attributes.get("area", AREAS[0])

    base = dt.datetime.combine(first, dt.time(0), tzinfo=TOKYO).timestamp()
    scheduled = base + day_idx * 86_400.0 + hour * 3_600.0
    # The reference date's evening is "now": the same seed and date give the same statuses whenever it runs.
    now = min(timezone.now(), dt.datetime.combine(ctx.today, dt.time(20), tzinfo=TOKYO)).timestamp()
    lead = np.clip(rng.gamma(2.0, 12.0, n), 0.2, 180) * 86_400.0
    booked = np.minimum(scheduled - lead, now - rng.uniform(600, 86_400, n))

    # The member: someone who had joined by then, earlier members more often (they are the repeaters).
    joined_before = np.searchsorted(joined, booked)
    pick = np.floor(joined_before * rng.random(n) ** 1.8).astype(np.int64)
    has_member = (joined_before > 0) & (rng.random(n) > 0.04)  # a few book as guests without membership
    end_user = np.where(has_member, member_ids[np.minimum(pick, len(member_ids) - 1)], 0)

    past = scheduled < now
    roll = rng.random(n)
    cancel_rate = np.where(np.array(categories, dtype=object)[merchant_idx] == "宿泊", 0.11, 0.07)
    cancelled = roll < np.where(past, cancel_rate, cancel_rate * 0.5)
    no_show = past & ~cancelled & (roll > 0.99)
    status = np.where(
        cancelled,
        BookingStatus.CANCELLED.value,
        np.where(no_show, BookingStatus.NO_SHOW.value, np.where(past, "completed", "booked")),
    )
    cancelled_at = booked + rng.random(n) * (np.minimum(scheduled, now) - booked)
    late = cancelled & (scheduled - cancelled_at < 3 * 86_400)
    fee_share = np.where(scheduled - cancelled_at < 86_400, 0.5, 0.3)
    fee = np.where(late, (np.floor(amount * fee_share / 10) * 10).astype(np.int64), 0)

    refunded_at = scheduled + rng.uniform(1, 25, n) * 86_400.0
    refund = past & ~cancelled & ~no_show & (rng.random(n) < 0.01) & (refunded_at < now)
    refund_share = rng.choice([0.2, 0.5, 1.0], size=n, p=[0.4, 0.35, 0.25])
    refunded = np.where(refund, (np.floor(amount * refund_share / 10) * 10).astype(np.int64), 0)

    hexes = rng.integers(0, 16, size=(n, 28))
    payment = ["ch_" + "".join("0123456789abcdef"[d] for d in row) for row in hexes]
    stamp = _db_time(np.full(n, now))
    frame = pl.DataFrame(
        {
            "source": [DEMO_SOURCE] * n,
            "external_id": [f"mall-booking-{i:06d}" for i in range(n)],
            "created_at": _db_time(booked),
            "updated_at": stamp,
            "provider_id": np.array([merchants[m].pk for m in merchant_idx], dtype=np.int64),
            "end_user_id": pl.Series(end_user, dtype=pl.Int64).zip_with(pl.Series(has_member), _nulls(n, pl.Int64)),
            "plan": plan.tolist(),
            "category": category.tolist(),
            "area": area.tolist(),
            "booked_at": _db_time(booked),
            "scheduled_at": _db_time(scheduled),
            "guests": guests,
            "amount": amount,
            "tax_rate": tax,
            "status": status.tolist(),
            "cancelled_at": _db_time(cancelled_at).zip_with(
                pl.Series(cancelled), pl.Series([None] * n, dtype=pl.String)
            ),
            "cancellation_fee": fee,
            "refunded_amount": refunded,
            "refunded_at": _db_time(refunded_at).zip_with(pl.Series(refund), _nulls(n, pl.String)),
            "payment_id": payment,
        }
    )
    return arrowdb.insert_frame(Booking._meta.db_table, frame, frame.columns)


def build_mall(ctx: DemoContext) -> Mall:
    """The mall itself (idempotent): settings, merchants, commission rules, members and bookings."""
    with transaction.atomic():
        _settings()
        merchants = _merchants(ctx)
        _commission_rules(ctx, merchants)
        member_ids, joined = _members(ctx)
        written = 0
        if not Booking.objects.filter(source=DEMO_SOURCE).exists():
            written = _bookings(ctx, merchants, member_ids, joined)
        users = ctx.shared.get("users", {})
        merchant_user = users.get("merchant") or User.objects.filter(username="merchant").first()
        if merchant_user is not None:
            merchant_user.portal_accounts.set([merchants[0].pk])
    ctx.count("bookings", written)
    total = Booking.objects.filter(source=DEMO_SOURCE).count()
    ctx.progress(f"booking mall: {len(merchants)} merchants, {MEMBERS:,} members, {total:,} bookings ({written:,} new)")
    return Mall(merchants, month_start(ctx.today, -(MONTHS - 1)), month_start(ctx.today), total, MEMBERS)


def build(ctx: DemoContext) -> None:
    mall = build_mall(ctx)
    ctx.shared["mall"] = mall
    for step in STEPS:
        step(ctx)


def reset(ctx: DemoContext) -> None:
    for step in reversed(RESETS):
        step(ctx)
    with transaction.atomic():
        merchants = Account.objects.filter(source=DEMO_SOURCE)
        CommissionRule.objects.filter(merchant__in=merchants).delete()
        Booking.objects.filter(source=DEMO_SOURCE).delete()
        EndUser.objects.filter(source=DEMO_SOURCE).delete()
        merchants.delete()
