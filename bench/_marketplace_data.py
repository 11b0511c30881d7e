"""The data of `banso bench marketplace`: a house-services marketplace at national scale, seeded and reused.

Full size: 50,000 providers (Account kind=provider + Provider + 1-3 ProviderService each over 40 service
categories x 47 prefectures), 400,000 members, 5,000,000 bookings scheduled over two years around the
reference instant (about 700 days back, 90 days ahead: completed, cancelled and no-shows in the past, booked
and a few cancelled in the future; each booking is for one of its provider's own category/area pairs, so
alternatives exist), about 100,000 incidents (88 % confirmed; skewed: 400 providers carry 40 % of them, more of
them recent) and four threshold rules. `--scale` shrinks providers, members, bookings and incidents alike.

Everything is under the source "bench-market" and written with COPY (core.arrowdb.insert_frame) except the
accounts (bulk_create: few enough, and Account has many column defaults). `ensure_data` keeps what the
database holds when the counts match. `reset_outcomes` undoes what an evaluation did (firings, their
consumed incidents, cancelled bookings, provider statuses, queued messages, audit entries) so that every
timed run starts from the same state.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from _data import BENCH_SEED, BENCH_TODAY, log

TOKYO = ZoneInfo("Asia/Tokyo")
SOURCE = "bench-market"
FULL_PROVIDERS = 50_000
FULL_MEMBERS = 400_000
FULL_BOOKINGS = 5_000_000
FULL_INCIDENTS = 100_000
PAST_DAYS = 700
FUTURE_DAYS = 90
BAD_SHARE = 0.008  # of providers (400 at full size) ...
BAD_INCIDENT_SHARE = 0.4  # ... carry this share of all incidents
CHUNK = 500_000
# The evaluation's instant: noon in Tokyo on the benchmarks' reference day (cached data stays valid).
NOW = dt.datetime.combine(BENCH_TODAY, dt.time(12), tzinfo=TOKYO)

# (category, typical price in yen tax included)
CATEGORIES: list[tuple[str, int]] = [
    ("ハウスクリーニング", 15_000),
    ("エアコンクリーニング", 12_000),
    ("家事代行", 8_000),
    ("不用品回収", 25_000),
    ("引越し", 60_000),
    ("便利屋", 9_000),
    ("ペットシッター", 5_000),
    ("水回りクリーニング", 18_000),
    ("浴室クリーニング", 14_000),
    ("キッチンクリーニング", 16_000),
    ("トイレクリーニング", 9_000),
    ("窓ガラスクリーニング", 11_000),
    ("換気扇クリーニング", 13_000),
    ("カーペットクリーニング", 10_000),
    ("庭木の剪定", 20_000),
    ("草刈り", 12_000),
    ("害虫駆除", 22_000),
    ("鍵の交換", 18_000),
    ("水漏れ修理", 15_000),
    ("電気工事", 20_000),
    ("家具組み立て", 7_000),
    ("網戸の張り替え", 6_000),
    ("障子・襖の張り替え", 9_000),
    ("畳の表替え", 30_000),
    ("外壁塗装の見積もり", 5_000),
    ("屋根の点検", 8_000),
    ("リフォーム相談", 5_000),
    ("ベビーシッター", 7_000),
    ("家庭教師", 6_000),
    ("料理代行", 10_000),
    ("買い物代行", 4_000),
    ("高齢者の見守り", 6_000),
    ("墓参り代行", 15_000),
    ("遺品整理", 80_000),
    ("出張洗車", 6_000),
    ("パソコン設定", 8_000),
    ("出張写真撮影", 25_000),
    ("出張着付け", 12_000),
    ("エアコン取り付け", 22_000),
    ("ハウスメンテナンス", 10_000),
]
PREFECTURES = [
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
]
# Rough population weights: the big cities have most providers.
BIG = {"東京都": 14, "神奈川県": 9, "大阪府": 9, "愛知県": 7, "埼玉県": 7, "千葉県": 6, "兵庫県": 5, "福岡県": 5}
FAMILIES = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "斎藤",
    "清水",
]
SHOP_WORDS = (
    "クリーンサービス",
    "ハウスケア",
    "サポート",
    "便利サービス",
    "住まいの工房",
    "ライフサポート",
    "ホームサービス",
    "おそうじ本舗",
    "暮らしの手",
    "まごころサービス",
)
INCIDENT_TYPES = ("no_show", "late", "poor_work", "conduct", "rule_violation", "damage", "other")
INCIDENT_TYPE_P = (0.30, 0.20, 0.20, 0.08, 0.10, 0.07, 0.05)
SUMMARIES = {
    "no_show": "予約時間に来なかった",
    "late": "大幅に遅れて到着した",
    "poor_work": "作業の仕上がりが不十分",
    "conduct": "言葉遣いが乱暴だった",
    "rule_violation": "規約外の直接取引を持ちかけた",
    "damage": "作業中に家具を破損した",
    "other": "その他の問題",
}
# Base severity per type (1 minor, 2 moderate, 3 serious, 5 critical); see _incidents for the spread.
BASE_SEVERITY = {"no_show": 2, "late": 1, "poor_work": 2, "conduct": 2, "rule_violation": 3, "damage": 3, "other": 1}

# The rules measured: name -> fields (created once, kept across runs).
RULES: dict[str, dict[str, Any]] = {
    "無断キャンセル 2回/90日（警告・代替提案）": {
        "incident_types": ["no_show"],
        "window_days": 90,
        "threshold": 2,
        "warn_provider": True,
        "notify_customers": True,
        "offer_alternatives": True,
        "alternatives_count": 3,
        "horizon_days": 30,
        "requires_approval": False,
    },
    "重み付き 8点/180日（新規予約停止）": {
        "incident_types": [],
        "window_days": 180,
        "threshold": 8,
        "weighted": True,
        "warn_provider": True,
        "hold_new_bookings": True,
        "requires_approval": False,
    },
    "重大インシデント 1件/30日（予約取消・返金）": {
        "incident_types": [],
        "min_severity": 5,
        "window_days": 30,
        "threshold": 1,
        "warn_provider": True,
        "notify_customers": True,
        "offer_alternatives": True,
        "cancel_upcoming": True,
        "refund_cancelled": True,
        "horizon_days": 30,
        "requires_approval": True,
    },
    "作業品質 3回/60日（警告）": {
        "incident_types": ["poor_work", "damage"],
        "window_days": 60,
        "threshold": 3,
        "warn_provider": True,
        "requires_approval": False,
    },
}


@dataclass(frozen=True)
class Sizes:
    providers: int
    members: int
    bookings: int
    incidents: int


def sizes(scale: float) -> Sizes:
    return Sizes(
        providers=max(50, round(FULL_PROVIDERS * scale)),
        members=max(200, round(FULL_MEMBERS * scale)),
        bookings=max(2_000, round(FULL_BOOKINGS * scale)),
        incidents=max(200, round(FULL_INCIDENTS * scale)),
    )


def counts() -> Sizes:
    from banso.accounts.models import EndUser
    from banso.marketplace.models import Booking, Incident, Provider

    return Sizes(
        providers=Provider.objects.filter(account__source=SOURCE).count(),
        members=EndUser.objects.filter(source=SOURCE).count(),
        bookings=Booking.objects.filter(source=SOURCE).count(),
        incidents=Incident.objects.filter(source=SOURCE).count(),
    )


def ensure_data(want: Sizes) -> float:
    """Build the records unless the database holds them at this size (then only the rules are checked);
    returns the seconds spent building."""
    from django.db import connection

    have = counts()
    if have == want:
        log(f"reusing {want.providers:,} providers, {want.bookings:,} bookings and {want.incidents:,} incidents")
        ensure_rules()
        return 0.0
    started = time.monotonic()
    log(
        f"building {want.providers:,} providers, {want.members:,} members, {want.bookings:,} bookings, "
        f"{want.incidents:,} incidents (found {have})"
    )
    wipe()
    build(want)
    ensure_rules()
    if connection.vendor == "postgresql" and not connection.in_atomic_block:  # (tests run inside one)
        log("VACUUM ANALYZE")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return time.monotonic() - started


def ensure_rules() -> list[int]:
    """The benchmark's rules, created or brought back to their settings; other rules are switched off."""
    from banso.marketplace.models import Rule

    ids = []
    for name, fields in RULES.items():
        rule, _created = Rule.objects.update_or_create(name=name, defaults={**fields, "is_active": True})
        ids.append(rule.pk)
    Rule.objects.exclude(pk__in=ids).update(is_active=False)
    return ids


# Undoing an evaluation ---------------------------------------------------------------------------------------


def reset_outcomes() -> None:
    """Everything an evaluation wrote is undone: this database is the benchmark's own."""
    from django.db import connection, transaction

    from banso.marketplace.models import (
        Booking,
        BookingStatus,
        EvaluationRun,
        Firing,
        FiringIncident,
        Provider,
        ProviderStatus,
    )
    from banso.playbooks.models import OutboxMessage

    with transaction.atomic():
        Booking.objects.filter(cancelled_by__isnull=False).update(
            status=BookingStatus.BOOKED,
            cancelled_at=None,
            refund_due=False,
            cancellation_reason="",
            cancelled_by=None,
        )
        Provider.objects.filter(account__source=SOURCE).exclude(status=ProviderStatus.ACTIVE).update(
            status=ProviderStatus.ACTIVE, status_changed_at=None, status_reason=""
        )
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {FiringIncident._meta.db_table}")
            cursor.execute(f"DELETE FROM {Firing._meta.db_table}")
            cursor.execute("DELETE FROM core_auditentry WHERE object_type LIKE %s", ["marketplace.%"])
        EvaluationRun.objects.all().delete()
        OutboxMessage.objects.filter(source__startswith="marketplace").delete()


# Building ------------------------------------------------------------------------------------------------------


def wipe() -> None:
    """Everything of an earlier build."""
    from django.db import connection

    tables = (
        "marketplace_firingincident",
        "marketplace_firing",
        "marketplace_evaluationrun",
        "marketplace_incident",
        "marketplace_booking",
        "marketplace_providerservice",
        "marketplace_provider",
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")
        cursor.execute("DELETE FROM playbooks_outboxmessage WHERE source LIKE %s", ["marketplace%"])
        cursor.execute("DELETE FROM accounts_enduser WHERE source = %s", [SOURCE])
        cursor.execute("DELETE FROM accounts_account WHERE source = %s", [SOURCE])


def db_time(seconds: np.ndarray) -> pl.Series:
    """Epoch seconds -> the text the database reads as an aware UTC timestamp."""
    from django.db import connection

    stamps = (pl.Series(np.asarray(seconds)).cast(pl.Int64) * 1_000_000).cast(pl.Datetime("us"))
    suffix = "+00:00" if connection.vendor == "postgresql" else ""
    return stamps.dt.strftime("%Y-%m-%d %H:%M:%S") + suffix


def _area_weights() -> np.ndarray:
    w = np.array([BIG.get(p, 1.5) for p in PREFECTURES], dtype=np.float64)
    return w / w.sum()


def build(want: Sizes) -> None:
    from django.db import transaction

    rng = np.random.default_rng([BENCH_SEED, 8])
    with transaction.atomic():
        provider_ids, services = _providers(rng, want.providers)
        member_ids = _members(rng, want.members)
    _bookings(rng, want.bookings, provider_ids, services, member_ids)
    with transaction.atomic():
        _incidents(rng, want.incidents, provider_ids)


def _providers(rng: np.random.Generator, n: int) -> tuple[np.ndarray, pl.DataFrame]:
    """Accounts and profiles; returns the account ids and the services (provider index, category, area)."""
    from banso.accounts.choices import AccountKind
    from banso.accounts.models import Account
    from banso.core import arrowdb
    from banso.core.text import search_key
    from banso.marketplace.models import Provider, ProviderService

    family = rng.integers(0, len(FAMILIES), n)
    word = rng.integers(0, len(SHOP_WORDS), n)
    home = rng.choice(len(PREFECTURES), size=n, p=_area_weights())
    names = [f"{FAMILIES[family[i]]}{SHOP_WORDS[word[i]]} {PREFECTURES[home[i]]}{i:05d}" for i in range(n)]
    log(f"providers: {n:,} accounts")
    Account.objects.bulk_create(
        (
            Account(
                source=SOURCE,
                external_id=f"bp-{i}",
                name=names[i],
                search_text=search_key(names[i]),
                kind=AccountKind.PROVIDER,
                industry="ハウスサービス",
            )
            for i in range(n)
        ),
        batch_size=5000,
    )
    ids = np.array(Account.objects.filter(source=SOURCE).order_by("id").values_list("id", flat=True), dtype=np.int64)
    rated = rng.random(n) > 0.08
    rating = np.clip(rng.normal(4.3, 0.45, n), 1.0, 5.0).round(2)
    reviews = np.where(rated, rng.geometric(0.02, n), 0)
    profiles = pl.DataFrame(
        {
            "account_id": ids,
            "status": pl.repeat("active", n, eager=True),
            "rating": pl.Series(rating).cast(pl.Utf8).zip_with(pl.Series(rated), pl.Series([None] * n, dtype=pl.Utf8)),
            "review_count": reviews,
            "daily_capacity": rng.integers(2, 7, n),
            "email": [f"provider{i}@bench-market.example.jp" for i in range(n)],
            "booking_url": [
                f"https://market.example.jp/p/bp-{i}?category={{category}}&date={{date}}" for i in range(n)
            ],
            "status_changed_at": pl.Series([None] * n, dtype=pl.Utf8),
            "status_reason": pl.repeat("", n, eager=True),
        }
    )
    arrowdb.insert_frame(Provider._meta.db_table, profiles, profiles.columns)
    # 1-3 services: a main category in the home prefecture, sometimes a second category or a neighbouring area.
    per = rng.choice([1, 2, 3], size=n, p=[0.5, 0.35, 0.15])
    owner = np.repeat(np.arange(n), per)
    first = np.concatenate([[0], np.cumsum(per)[:-1]])
    rank = np.arange(len(owner)) - np.repeat(first, per)
    main_cat = rng.integers(0, len(CATEGORIES), n)
    cat = np.where(rank == 0, main_cat[owner], rng.integers(0, len(CATEGORIES), len(owner)))
    area = np.where(
        rng.random(len(owner)) < 0.7, home[owner], np.clip(home[owner] + rng.integers(-1, 2, len(owner)), 0, 46)
    )
    services = pl.DataFrame({"provider": owner, "cat": cat, "area": area}).unique(
        subset=["provider", "cat", "area"], keep="first", maintain_order=True
    )
    cat_names = pl.Series([c for c, _p in CATEGORIES])
    area_names = pl.Series(PREFECTURES)
    rows = pl.DataFrame(
        {
            "provider_id": ids[services["provider"].to_numpy()],
            "category": cat_names.gather(services["cat"]),
            "area": area_names.gather(services["area"]),
        }
    )
    arrowdb.insert_frame(ProviderService._meta.db_table, rows, rows.columns)
    log(f"providers: {len(rows):,} services")
    return ids, services


def _members(rng: np.random.Generator, n: int) -> np.ndarray:
    from banso.accounts.models import EndUser
    from banso.core import arrowdb

    joined = NOW.timestamp() - rng.integers(0, 4 * 365 * 86400, n)
    stamp = db_time(joined)
    frame = pl.DataFrame(
        {
            "source": pl.repeat(SOURCE, n, eager=True),
            "external_id": pl.Series(np.arange(n)).cast(pl.Utf8).str.replace(r"^", "bu-"),
            "created_at": stamp,
            "updated_at": stamp,
            "kind": pl.repeat("member", n, eager=True),
            "name": [f"{FAMILIES[i % len(FAMILIES)]} 会員{i}" for i in range(n)],
            "email": pl.Series(np.arange(n)).cast(pl.Utf8).str.replace(r"^(.*)$", "m${1}@bench-market.example.jp"),
            "attributes": pl.repeat("{}", n, eager=True),
        }
    )
    arrowdb.insert_frame(EndUser._meta.db_table, frame, frame.columns)
    log(f"members: {n:,}")
    return np.array(EndUser.objects.filter(source=SOURCE).order_by("id").values_list("id", flat=True), dtype=np.int64)


def _bookings(
    rng: np.random.Generator, total: int, provider_ids: np.ndarray, services: pl.DataFrame, member_ids: np.ndarray
) -> None:
    """Bookings in chunks (each its own COPY and transaction): provider by popularity, one of its services."""
    from django.db import transaction

    from banso.core import arrowdb

    n_providers = len(provider_ids)
    popularity = rng.lognormal(0.0, 0.8, n_providers)
    popularity /= popularity.sum()
    svc_provider = services["provider"].to_numpy()
    svc_cat = services["cat"].to_numpy()
    svc_area = services["area"].to_numpy()
    svc_count = np.bincount(svc_provider, minlength=n_providers)
    svc_first = np.concatenate([[0], np.cumsum(svc_count)[:-1]])
    cat_names = pl.Series([c for c, _p in CATEGORIES])
    prices = np.array([p for _c, p in CATEGORIES], dtype=np.float64)
    area_names = pl.Series(PREFECTURES)
    now = NOW.timestamp()
    day0 = dt.datetime.combine(BENCH_TODAY - dt.timedelta(days=PAST_DAYS), dt.time(), tzinfo=TOKYO).timestamp()
    days = PAST_DAYS + FUTURE_DAYS
    # Fewer bookings already made the further ahead a day is; the marketplace grows a little over the years.
    day_w = np.linspace(0.8, 1.1, days)
    ahead = np.arange(days) - PAST_DAYS
    day_w = np.where(ahead > 0, day_w * np.exp(-ahead / 45.0), day_w)
    day_w /= day_w.sum()
    written = 0
    while written < total:
        n = min(CHUNK, total - written)
        p = rng.choice(n_providers, size=n, p=popularity)
        s = svc_first[p] + (rng.random(n) * svc_count[p]).astype(np.int64)
        cat = svc_cat[s]
        scheduled = day0 + rng.choice(days, size=n, p=day_w) * 86400.0 + rng.integers(8, 19, n) * 3600.0
        booked = np.minimum(scheduled - np.clip(rng.gamma(2.0, 7.0, n), 0.1, 120) * 86400.0, now - 3600.0)
        amount = (np.clip(prices[cat] * rng.lognormal(0.0, 0.35, n), 2_000, 500_000) // 100 * 100).astype(np.int64)
        past = scheduled < now
        roll = rng.random(n)
        cancelled = roll < np.where(past, 0.07, 0.04)
        no_show = past & ~cancelled & (roll > 0.985)
        status = np.where(cancelled, "cancelled", np.where(no_show, "no_show", np.where(past, "completed", "booked")))
        cancelled_at = booked + rng.random(n) * (np.minimum(scheduled, now) - booked)
        ids = np.arange(written, written + n)
        frame = pl.DataFrame(
            {
                "source": pl.repeat(SOURCE, n, eager=True),
                "external_id": pl.Series(ids).cast(pl.Utf8).str.replace(r"^", "bb-"),
                "created_at": db_time(booked),
                "updated_at": db_time(booked),
                "provider_id": provider_ids[p],
                "end_user_id": member_ids[rng.integers(0, len(member_ids), n)],
                "plan": cat_names.gather(cat),
                "category": cat_names.gather(cat),
                "area": area_names.gather(svc_area[s]),
                "booked_at": db_time(booked),
                "scheduled_at": db_time(scheduled),
                "guests": np.ones(n, dtype=np.int64),
                "amount": amount,
                "tax_rate": np.full(n, 10, dtype=np.int64),
                "status": status,
                "cancelled_at": db_time(cancelled_at).zip_with(
                    pl.Series(cancelled), pl.Series([None] * n, dtype=pl.Utf8)
                ),
                "cancellation_fee": np.zeros(n, dtype=np.int64),
                "refunded_amount": np.zeros(n, dtype=np.int64),
                "payment_id": pl.Series(ids).cast(pl.Utf8).str.replace(r"^", "ch_bm"),
            }
        )
        with transaction.atomic():
            arrowdb.insert_frame("marketplace_booking", frame, frame.columns)
        written += n
        log(f"bookings: {written:,}")


def _incidents(rng: np.random.Generator, n: int, provider_ids: np.ndarray) -> None:
    """Skewed: a few hundred providers get 40 % (mostly in the last half year), the rest spread by a
    long-tailed propensity over two years; 88 % confirmed, 8 % still reported, 4 % dismissed."""
    from banso.core import arrowdb
    from banso.marketplace.models import Incident

    n_providers = len(provider_ids)
    bad_count = max(2, round(n_providers * BAD_SHARE))
    bad = rng.choice(n_providers, size=bad_count, replace=False)
    n_bad = round(n * BAD_INCIDENT_SHARE)
    propensity = rng.lognormal(0.0, 1.0, n_providers)
    propensity[bad] = 0.0
    propensity /= propensity.sum()
    who = np.concatenate([rng.choice(bad, size=n_bad), rng.choice(n_providers, size=n - n_bad, p=propensity)])
    now = NOW.timestamp()
    span = PAST_DAYS * 86400.0
    age = np.concatenate([rng.random(n_bad) ** 2.0 * 365 * 86400.0, rng.random(n - n_bad) * span])
    occurred = now - age - 60.0
    kind = rng.choice(len(INCIDENT_TYPES), size=n, p=INCIDENT_TYPE_P)
    base = np.array([BASE_SEVERITY[t] for t in INCIDENT_TYPES])[kind]
    roll = rng.random(n)
    severity = np.where(roll < 0.006, 5, np.where(roll < 0.15, np.minimum(base + 1, 3), base))
    status_roll = rng.random(n)
    recent = age < 14 * 86400.0
    status = np.where(
        recent & (status_roll < 0.5),
        "reported",
        np.where(status_roll < 0.04, "dismissed", np.where(status_roll > 0.92, "reported", "confirmed")),
    )
    confirmed = status == "confirmed"
    confirmed_at = np.minimum(occurred + rng.uniform(2, 72, n) * 3600.0, now - 1.0)
    order = np.argsort(occurred, kind="stable")  # numbers follow time, like recorded incidents
    who, occurred, kind, severity, status, confirmed, confirmed_at = (
        a[order] for a in (who, occurred, kind, severity, status, confirmed, confirmed_at)
    )
    types = pl.Series(INCIDENT_TYPES)
    null_text = pl.Series([None] * n, dtype=pl.Utf8)
    null_int = pl.Series([None] * n, dtype=pl.Int64)
    frame = pl.DataFrame(
        {
            "source": pl.repeat(SOURCE, n, eager=True),
            "external_id": pl.Series(np.arange(n)).cast(pl.Utf8).str.replace(r"^", "bi-"),
            "created_at": db_time(occurred),
            "updated_at": db_time(occurred),
            "number": pl.Series(np.arange(1, n + 1)).cast(pl.Utf8).str.zfill(7).str.replace(r"^", "INC-B"),
            "provider_id": provider_ids[who],
            "type": types.gather(kind),
            "severity": severity,
            "status": status,
            "occurred_at": db_time(occurred),
            "summary": types.gather(kind).replace_strict(SUMMARIES),
            "evidence": pl.repeat("", n, eager=True),
            "booking_id": null_int,
            "inquiry_number": null_int,
            "reported_by_id": null_int,
            "confirmed_by_id": null_int,
            "confirmed_at": db_time(confirmed_at).zip_with(pl.Series(confirmed), null_text),
            "dismissed_reason": pl.Series(np.where(status == "dismissed", "事実確認できず", "")),
        }
    )
    arrowdb.insert_frame(Incident._meta.db_table, frame, frame.columns)
    log(f"incidents: {n:,} ({bad_count} providers with {n_bad:,} of them)")
