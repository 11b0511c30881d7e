"""Demo house-services marketplace (seed 004): about 300 providers (出店者) of house cleaning, air-conditioner
cleaning, housekeeping, junk removal, moving, handyman, pet sitting… in wards and cities of 東京都, 神奈川県 and
大阪府, with their services, ratings and booking links (https://market.example.jp/…); about 3,000 members and
20,000 bookings over the past year and the next 60 days (completed, cancelled, customer no-shows, booked);
about 150 incidents of every type (most confirmed, some reported and awaiting confirmation, some dismissed);
three rules (no-shows warn and notify customers with alternatives; weighted points hold new bookings; a
critical incident cancels upcoming bookings with a refund, after approval); then one evaluation, which
executes the no-show rule for one provider and leaves two critical-incident firings awaiting approval. One
more provider stands at 6 of the 8 weighted points with a serious incident reported but not yet confirmed:
confirming it fires the hold rule.

Everything is under its own source ("demo-market"): the core demo's counts of its `--accounts` customers stay
as they are. Bookings are written in one bulk insert (COPY on PostgreSQL). A second run adds nothing.
`ctx.shared["marketplace.scale"]` shrinks providers, members, bookings and background incidents (tests).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
from django.db import connection, transaction
from django.utils import timezone

from banso.accounts.choices import AccountKind, EndUserKind
from banso.accounts.models import Account, EndUser
from banso.core import arrowdb
from banso.core.demo import FAMILY_NAMES, DemoContext, person_name
from banso.core.models import User
from banso.core.text import search_key

from .models import (
    Booking,
    BookingStatus,
    Firing,
    Incident,
    IncidentStatus,
    IncidentType,
    Provider,
    ProviderService,
    Rule,
    Severity,
)

TOKYO = ZoneInfo("Asia/Tokyo")
DEMO_SOURCE = "demo-market"
SCALE_KEY = "marketplace.scale"
PROVIDERS = 300
MEMBERS = 3_000
BOOKINGS = 20_000
BACKGROUND_INCIDENTS = 140
PAST_DAYS = 365
FUTURE_DAYS = 60
BOOKING_URL = "https://market.example.jp/providers/{ext}/book?category={{category}}&date={{date}}"

# (category, plans as (name, price in yen tax included), shop words as (name, reading))
CATEGORIES: list[tuple[str, list[tuple[str, int]], list[tuple[str, str]]]] = [
    (
        "ハウスクリーニング",
        [("まるごとクリーニング（2LDK）", 38_000), ("リビング・居室クリーニング", 16_500)],
        [("おそうじサービス", "オソウジサービス"), ("クリーンワークス", "クリーンワークス")],
    ),
    (
        "エアコンクリーニング",
        [("エアコンクリーニング（壁掛け1台）", 11_000), ("お掃除機能付きエアコン（1台）", 19_800)],
        [("エアコン洗浄センター", "エアコンセンジョウセンター"), ("エアコン工房", "エアコンコウボウ")],
    ),
    (
        "家事代行",
        [("家事代行 2時間", 6_600), ("家事代行 3時間（作り置き付き）", 9_900)],
        [("家事サポート", "カジサポート"), ("ハウスキーピング", "ハウスキーピング")],
    ),
    (
        "不用品回収",
        [("不用品回収 軽トラック積み放題", 22_000), ("粗大ごみ1点回収", 5_500)],
        [("リサイクル回収", "リサイクルカイシュウ"), ("片付け隊", "カタヅケタイ")],
    ),
    (
        "引越し",
        [("単身引越しパック", 39_800), ("近距離引越し（2人作業）", 66_000)],
        [("引越センター", "ヒッコシセンター"), ("運送", "ウンソウ")],
    ),
    (
        "便利屋",
        [("家具の移動・組み立て（1時間）", 5_500), ("電球交換・小修理", 4_400)],
        [("便利屋", "ベンリヤ"), ("なんでも屋", "ナンデモヤ")],
    ),
    (
        "ペットシッター",
        [("ペットシッター 1回60分", 4_400), ("お泊まり中の訪問（1日2回）", 7_700)],
        [("ペットシッター", "ペットシッター"), ("ペットケア", "ペットケア")],
    ),
    (
        "水回りクリーニング",
        [("水回り3点セット", 27_500), ("浴室クリーニング", 13_200)],
        [("水回りサービス", "ミズマワリサービス"), ("バスキッチン工房", "バスキッチンコウボウ")],
    ),
    (
        "庭木の剪定",
        [("庭木の剪定（3m以下・1本）", 4_400), ("草刈り・除草（30㎡まで）", 11_000)],
        [("造園", "ゾウエン"), ("植木サービス", "ウエキサービス")],
    ),
    (
        "害虫駆除",
        [("ゴキブリ駆除", 16_500), ("ハチの巣駆除", 22_000)],
        [("害虫駆除センター", "ガイチュウクジョセンター"), ("環境サービス", "カンキョウサービス")],
    ),
]
AREAS: list[str] = [
    "東京都渋谷区",
    "東京都新宿区",
    "東京都世田谷区",
    "東京都杉並区",
    "東京都練馬区",
    "東京都大田区",
    "東京都品川区",
    "東京都江東区",
    "神奈川県横浜市",
    "神奈川県川崎市",
    "神奈川県相模原市",
    "神奈川県藤沢市",
    "大阪府大阪市北区",
    "大阪府大阪市中央区",
    "大阪府堺市",
    "大阪府豊中市",
]
AREA_WEIGHTS = np.array([1.2, 1.2, 1.5, 1.1, 1.0, 1.0, 1.0, 1.0, 1.4, 1.1, 0.6, 0.6, 1.0, 0.9, 0.7, 0.6])

RULES: list[dict[str, Any]] = [
    {
        "name": "無断キャンセル 2回/90日（警告・お客様へ代替提案）",
        "incident_types": [IncidentType.NO_SHOW.value],
        "window_days": 90,
        "threshold": 2,
        "warn_provider": True,
        "notify_customers": True,
        "offer_alternatives": True,
        "alternatives_count": 3,
        "horizon_days": 30,
        "requires_approval": False,
    },
    {
        "name": "重み付き 8点/180日（新規予約の停止）",
        "incident_types": [],
        "window_days": 180,
        "threshold": 8,
        "weighted": True,
        "warn_provider": True,
        "hold_new_bookings": True,
        "requires_approval": False,
    },
    {
        "name": "重大インシデント 1件/30日（予約取消・返金）",
        "incident_types": [],
        "min_severity": Severity.CRITICAL.value,
        "window_days": 30,
        "threshold": 1,
        "warn_provider": True,
        "notify_customers": True,
        "offer_alternatives": True,
        "alternatives_count": 3,
        "cancel_upcoming": True,
        "refund_cancelled": True,
        "horizon_days": 30,
        "requires_approval": True,
    },
]

# Background incidents: (type, severity, summary, evidence)
BACKGROUND: list[tuple[str, int, str, str]] = [
    (
        IncidentType.NO_SHOW,
        Severity.MEDIUM,
        "予約時間になっても来なかった",
        "お客様から問い合わせ。出店者に電話するも不通。",
    ),
    (IncidentType.LATE, Severity.LOW, "到着が1時間以上遅れた", "事前連絡なし。お客様が午後の予定を変更。"),
    (IncidentType.POOR_WORK, Severity.MEDIUM, "エアコン内部のカビが残っていた", "お客様から写真3枚の提供あり。"),
    (IncidentType.POOR_WORK, Severity.LOW, "作業後の片付けが不十分", "床に洗剤が残っていたとのこと。"),
    (IncidentType.CONDUCT, Severity.MEDIUM, "言葉遣いが乱暴だった", "お客様からのメール（録音なし）。"),
    (
        IncidentType.RULE_VIOLATION,
        Severity.HIGH,
        "サイト外での直接取引を持ちかけた",
        "お客様が受け取った名刺の写真あり。",
    ),
    (IncidentType.DAMAGE, Severity.HIGH, "作業中にフローリングを傷つけた", "傷の写真と修理見積もりの提供あり。"),
    (IncidentType.OTHER, Severity.LOW, "見積もりと請求額が異なった", "追加料金の説明が作業後だった。"),
]
BACKGROUND_P = np.array([0.28, 0.2, 0.16, 0.08, 0.08, 0.08, 0.07, 0.05])


def _scale(ctx: DemoContext) -> float:
    return float(ctx.shared.get(SCALE_KEY, 1.0))


def provider_id(i: int) -> str:
    return f"mp-provider-{i:03d}"


def _now(ctx: DemoContext) -> dt.datetime:
    """The reference date's evening is "now": the same seed and date give the same statuses whenever it runs."""
    return min(timezone.now(), dt.datetime.combine(ctx.today, dt.time(20), tzinfo=TOKYO))


def _db_time(seconds: np.ndarray) -> pl.Series:
    """Epoch seconds -> the text the database takes for an aware UTC timestamp."""
    stamps = (pl.Series(seconds).cast(pl.Int64) * 1_000_000).cast(pl.Datetime("us"))
    suffix = "+00:00" if connection.vendor == "postgresql" else ""
    return stamps.dt.strftime("%Y-%m-%d %H:%M:%S") + suffix


# Providers --------------------------------------------------------------------------------------------------


def _providers(ctx: DemoContext, n: int) -> list[Provider]:
    """Accounts, profiles and services (idempotent: existing ones are kept as they are)."""
    rng = ctx.rng_for("marketplace.providers")
    now = timezone.now()
    main = rng.integers(0, len(CATEGORIES), n)
    home = rng.choice(len(AREAS), size=n, p=AREA_WEIGHTS / AREA_WEIGHTS.sum())
    accounts = []
    romaji = []
    for i in range(n):
        category, _plans, words = CATEGORIES[main[i]]
        family = FAMILY_NAMES[int(rng.integers(len(FAMILY_NAMES)))]
        romaji.append(family[2])
        word, reading = words[int(rng.integers(len(words)))]
        branch = AREAS[home[i]].split("都")[-1].split("府")[-1].split("県")[-1]
        name = f"{family[0]}{word} {branch}"
        kana = f"{family[1]}{reading}"
        accounts.append(
            Account(
                source=DEMO_SOURCE,
                external_id=provider_id(i),
                name=name,
                name_kana=kana,
                search_text=search_key(name, kana),
                kind=AccountKind.PROVIDER,
                industry=category,
                attributes={"area": AREAS[home[i]]},
                created_at=now - dt.timedelta(days=int(rng.integers(60, 1500))),
                updated_at=now,
            )
        )
    Account.objects.bulk_create(accounts, ignore_conflicts=True)
    by_ext = dict(
        Account.objects.filter(source=DEMO_SOURCE, kind=AccountKind.PROVIDER).values_list("external_id", "id")
    )
    ids = [by_ext[provider_id(i)] for i in range(n)]

    rated = rng.random(n) > 0.1
    ratings = np.clip(rng.normal(4.3, 0.4, n), 2.5, 5.0)
    reviews = rng.geometric(0.03, n)
    capacity = rng.choice([2, 3, 4, 5], size=n, p=[0.3, 0.35, 0.2, 0.15])
    profiles = []
    for i in range(n):
        profiles.append(
            Provider(
                account_id=ids[i],
                rating=Decimal(f"{ratings[i]:.2f}") if rated[i] else None,
                review_count=int(reviews[i]) if rated[i] else 0,
                daily_capacity=int(capacity[i]),
                email=f"{romaji[i]}.{i:03d}@provider-demo.example",
                booking_url=BOOKING_URL.format(ext=provider_id(i)),
            )
        )
    Provider.objects.bulk_create(profiles, ignore_conflicts=True)
    # 1-3 services: the main category at home; some also in a neighbouring area or a second category.
    services: list[ProviderService] = []
    for i in range(n):
        pairs = {(CATEGORIES[main[i]][0], AREAS[home[i]])}
        if rng.random() < 0.45:
            near = min(len(AREAS) - 1, max(0, home[i] + int(rng.choice([-1, 1]))))
            pairs.add((CATEGORIES[main[i]][0], AREAS[near]))
        if rng.random() < 0.3:
            pairs.add((CATEGORIES[int(rng.integers(len(CATEGORIES)))][0], AREAS[home[i]]))
        services.extend(ProviderService(provider_id=ids[i], category=c, area=a) for c, a in sorted(pairs))
    ProviderService.objects.bulk_create(services, ignore_conflicts=True)
    found = Provider.objects.in_bulk(ids)
    return [found[pk] for pk in ids]


def _members(ctx: DemoContext, n: int) -> np.ndarray:
    rng = ctx.rng_for("marketplace.members")
    now = timezone.now()
    rows = []
    for i in range(n):
        name, _reading, romaji = person_name(rng)
        rows.append(
            EndUser(
                source=DEMO_SOURCE,
                external_id=f"mp-member-{i:05d}",
                kind=EndUserKind.MEMBER,
                name=name,
                email=f"{romaji}.{i}@market-demo.example",
                created_at=now - dt.timedelta(days=int(rng.integers(30, 1100))),
                updated_at=now,
            )
        )
    EndUser.objects.bulk_create(rows, batch_size=2_000, ignore_conflicts=True)
    found = dict(EndUser.objects.filter(source=DEMO_SOURCE).values_list("external_id", "id"))
    return np.array([found[f"mp-member-{i:05d}"] for i in range(n)], dtype=np.int64)


# Bookings -----------------------------------------------------------------------------------------------------


def _bookings(ctx: DemoContext, providers: list[Provider], member_ids: np.ndarray, total: int) -> int:
    """`total` bookings, each for one of its provider's own (category, area), in one bulk insert."""
    rng = ctx.rng_for("marketplace.bookings")
    now = _now(ctx).timestamp()
    services: dict[int, list[tuple[str, str]]] = {}
    for pid, cat, where in (
        ProviderService.objects.filter(provider_id__in=[p.pk for p in providers])
        .values_list("provider_id", "category", "area")
        .order_by("provider_id", "category", "area")
    ):
        services.setdefault(pid, []).append((cat, where))
    plans = {c: p for c, p, _w in CATEGORIES}
    popularity = rng.lognormal(0.0, 0.7, len(providers))
    # The scenario's providers (see _incidents) are popular ones: they have customers to notify.
    popularity[:3] = popularity.max() * 1.5
    popularity /= popularity.sum()
    first = ctx.today - dt.timedelta(days=PAST_DAYS)
    days = [first + dt.timedelta(days=i) for i in range(PAST_DAYS + FUTURE_DAYS + 1)]
    ahead = np.array([(d - ctx.today).days for d in days])
    weights = np.array([1.3 if d.weekday() >= 5 else 1.0 for d in days]) * np.linspace(0.85, 1.15, len(days))
    weights = np.where(ahead > 0, weights * np.exp(-ahead / 30.0), weights)  # fewer booked the further ahead
    who = rng.choice(len(providers), size=total, p=popularity)
    day = rng.choice(len(days), size=total, p=weights / weights.sum())
    hour = rng.integers(9, 18, total)
    base = dt.datetime.combine(first, dt.time(), tzinfo=TOKYO).timestamp()
    scheduled = base + day * 86_400.0 + hour * 3_600.0
    booked = np.minimum(scheduled - np.clip(rng.gamma(2.0, 6.0, total), 0.2, 90) * 86_400.0, now - 3_600.0)
    category = np.empty(total, dtype=object)
    area = np.empty(total, dtype=object)
    plan = np.empty(total, dtype=object)
    amount = np.zeros(total, dtype=np.int64)
    pick = rng.random(total)
    plan_pick = rng.random(total)
    for k in range(total):
        own = services[providers[who[k]].pk]
        c, a = own[int(pick[k] * len(own))]
        name, price = plans[c][0 if plan_pick[k] < 0.65 else 1]
        category[k], area[k], plan[k], amount[k] = c, a, name, price
    past = scheduled < now
    roll = rng.random(total)
    cancelled = roll < np.where(past, 0.08, 0.04)
    no_show = past & ~cancelled & (roll > 0.992)  # the customer was not there
    status = np.where(
        cancelled,
        BookingStatus.CANCELLED.value,
        np.where(no_show, BookingStatus.NO_SHOW.value, np.where(past, BookingStatus.COMPLETED.value, "booked")),
    )
    cancelled_at = booked + rng.random(total) * (np.minimum(scheduled, now) - booked)
    late = cancelled & (scheduled - cancelled_at < 86_400)
    fee = np.where(late, (amount // 2 // 10 * 10), 0)
    nulls = pl.Series([None] * total, dtype=pl.String)
    hexes = rng.integers(0, 16, size=(total, 24))
    frame = pl.DataFrame(
        {
            "source": [DEMO_SOURCE] * total,
            "external_id": [f"mp-booking-{i:06d}" for i in range(total)],
            "created_at": _db_time(booked),
            "updated_at": _db_time(np.full(total, now)),
            "provider_id": np.array([providers[w].pk for w in who], dtype=np.int64),
            "end_user_id": member_ids[rng.integers(0, len(member_ids), total)],
            "plan": plan.tolist(),
            "category": category.tolist(),
            "area": area.tolist(),
            "booked_at": _db_time(booked),
            "scheduled_at": _db_time(scheduled),
            "guests": np.ones(total, dtype=np.int64),
            "amount": amount,
            "tax_rate": np.full(total, 10, dtype=np.int64),
            "status": status.tolist(),
            "cancelled_at": _db_time(cancelled_at).zip_with(pl.Series(cancelled), nulls),
            "cancellation_fee": fee,
            "refunded_amount": np.zeros(total, dtype=np.int64),
            "payment_id": ["ch_" + "".join("0123456789abcdef"[d] for d in row) for row in hexes],
        }
    )
    return arrowdb.insert_frame(Booking._meta.db_table, frame, frame.columns)


# Incidents ----------------------------------------------------------------------------------------------------


def _first_free_number() -> int:
    """Numbers follow the ones recorded by hand (incidents.next_number), so neither refuses the other's."""
    try:
        from .incidents import NUMBER_PREFIX, next_number
    except ImportError:
        return 1 + Incident.objects.count()
    return int(next_number()[len(NUMBER_PREFIX) :])


def _incidents(ctx: DemoContext, providers: list[Provider], background: int) -> int:
    """Background incidents on distinct providers (no rule reaches them) plus the scenario's four providers."""
    rng = ctx.rng_for("marketplace.incidents")
    now = _now(ctx)
    users = ctx.shared.get("users") or {u.username: u for u in User.objects.filter(username__in=["support", "ops"])}
    reporter, confirmer = users.get("support"), users.get("ops")
    rows: list[Incident] = []
    first_number = _first_free_number()

    def add(
        provider: Provider, kind: str, severity: int, status: str, days_ago: float, summary: str, evidence: str
    ) -> None:
        occurred = now - dt.timedelta(days=days_ago)
        booking = (
            Booking.objects.filter(provider_id=provider.pk, scheduled_at__lte=occurred)
            .order_by("-scheduled_at")
            .values_list("id", flat=True)
            .first()
        )
        confirmed = status == IncidentStatus.CONFIRMED
        rows.append(
            Incident(
                source=DEMO_SOURCE,
                external_id=f"mp-incident-{len(rows):04d}",
                number=f"INC-{first_number + len(rows):06d}",
                provider_id=provider.pk,
                type=kind,
                severity=severity,
                status=status,
                occurred_at=occurred,
                summary=summary,
                evidence=evidence,
                booking_id=booking,
                reported_by=reporter,
                confirmed_by=confirmer if confirmed else None,
                confirmed_at=occurred + dt.timedelta(hours=int(rng.integers(3, 48))) if confirmed else None,
                dismissed_reason="出店者の作業記録と写真で事実が確認できなかった"
                if status == IncidentStatus.DISMISSED
                else "",
                created_at=occurred + dt.timedelta(hours=1),
                updated_at=now,
            )
        )

    # The scenario: 0 = three no-shows (the no-show rule executes); 1 and 2 = a critical incident each (the
    # critical rule proposes, awaiting approval); 3 = 6 weighted points and a serious one awaiting confirmation.
    no_show = "予約時間になっても来なかった"
    for days_ago in (70.0, 38.0, 9.0):
        add(
            providers[0],
            IncidentType.NO_SHOW,
            Severity.MEDIUM,
            IncidentStatus.CONFIRMED,
            days_ago,
            no_show,
            "お客様から問い合わせ。当日の連絡なし。",
        )
    add(
        providers[1],
        IncidentType.DAMAGE,
        Severity.CRITICAL,
        IncidentStatus.CONFIRMED,
        6,
        "作業中に給湯器の配管を破損し漏水",
        "管理会社の報告書と修理業者の見積もり（約48万円）。",
    )
    add(
        providers[2],
        IncidentType.CONDUCT,
        Severity.CRITICAL,
        IncidentStatus.CONFIRMED,
        12,
        "お客様宅で威圧的な言動、警察に通報",
        "お客様からの通報記録と警察の受理番号。",
    )
    for kind, days_ago, summary in (
        (IncidentType.POOR_WORK, 150.0, "浴室のカビ取りが不十分で再作業"),
        (IncidentType.LATE, 95.0, "到着が2時間遅れた"),
        (IncidentType.POOR_WORK, 31.0, "換気扇の部品を付け忘れた"),
    ):
        add(
            providers[3],
            kind,
            Severity.MEDIUM,
            IncidentStatus.CONFIRMED,
            days_ago,
            summary,
            "お客様から写真の提供あり。",
        )
    add(
        providers[3],
        IncidentType.DAMAGE,
        Severity.HIGH,
        IncidentStatus.REPORTED,
        2,
        "作業中に壁紙を破いた",
        "お客様から写真2枚。出店者に事実確認中。",
    )

    # Background: distinct providers, at most one incident each, never critical: no rule reaches them.
    others = rng.permutation(np.arange(4, len(providers)))[:background]
    kinds = rng.choice(len(BACKGROUND), size=len(others), p=BACKGROUND_P)
    for j, (provider_index, k) in enumerate(zip(others, kinds, strict=True)):
        kind, severity, summary, evidence = BACKGROUND[k]
        days_ago = float(rng.uniform(0.5, PAST_DAYS))
        if j % 12 == 5:  # one in twelve dismissed, one in twelve (and most of the last ten days') reported
            status = IncidentStatus.DISMISSED
        elif j % 12 == 7 or (days_ago < 10 and rng.random() < 0.6):
            status = IncidentStatus.REPORTED
        else:
            status = IncidentStatus.CONFIRMED
        add(providers[int(provider_index)], kind, severity, status, days_ago, summary, evidence)
    Incident.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


# Rules and their first evaluation -----------------------------------------------------------------------------


def _rules() -> list[Rule]:
    rules = []
    for spec in RULES:
        fields = dict(spec)
        rule, _created = Rule.objects.get_or_create(name=fields.pop("name"), defaults=fields)
        rules.append(rule)
    return rules


def _evaluate(ctx: DemoContext, rules: list[Rule]) -> str:
    """Evaluate once, unless the demo's rules have already fired (a second run adds nothing)."""
    try:
        from . import rules as rule_engine
    except ImportError:  # the rules area not installed yet
        return "rules not evaluated"
    if Firing.objects.filter(rule__in=rules).exists():
        return "already evaluated"
    result = rule_engine.evaluate(_now(ctx), rule_ids=[r.pk for r in rules])
    ctx.count("rule firings", len(result.firings))
    return (
        f"{len(result.firings)} firings ({result.executed} executed, {len(result.firings) - result.executed} awaiting)"
    )


def build(ctx: DemoContext) -> None:
    scale = _scale(ctx)
    n_providers = max(8, round(PROVIDERS * scale))
    n_members = max(20, round(MEMBERS * scale))
    n_bookings = max(200, round(BOOKINGS * scale))
    n_background = min(n_providers - 4, max(4, round(BACKGROUND_INCIDENTS * scale)))
    with transaction.atomic():
        had = Provider.objects.filter(account__source=DEMO_SOURCE).count()
        providers = _providers(ctx, n_providers)
        member_ids = _members(ctx, n_members)
        written = 0
        if not Booking.objects.filter(source=DEMO_SOURCE).exists():
            written = _bookings(ctx, providers, member_ids, n_bookings)
        incidents = 0
        if not Incident.objects.filter(source=DEMO_SOURCE).exists():
            incidents = _incidents(ctx, providers, n_background)
        rules = _rules()
    ctx.count("providers", len(providers) - had)
    ctx.count("marketplace bookings", written)
    ctx.count("incidents", incidents)
    evaluated = _evaluate(ctx, rules)
    ctx.progress(
        f"marketplace: {len(providers)} providers, {written:,} new bookings, {incidents} new incidents, "
        f"{len(rules)} rules, {evaluated}"
    )


def reset(ctx: DemoContext) -> None:
    """Remove the demo marketplace: its firings, rules, incidents, bookings, members and providers."""
    from banso.playbooks.models import OutboxMessage

    with transaction.atomic():
        rules = Rule.objects.filter(name__in=[spec["name"] for spec in RULES])
        providers = Account.objects.filter(source=DEMO_SOURCE, kind=AccountKind.PROVIDER)
        firings = Firing.objects.filter(rule__in=rules) | Firing.objects.filter(provider__in=providers)
        Booking.objects.filter(cancelled_by__in=firings).update(cancelled_by=None)
        OutboxMessage.objects.filter(account__in=providers).delete()
        firings.delete()
        rules.delete()
        Incident.objects.filter(provider__in=providers).delete()
        Booking.objects.filter(provider__in=providers).delete()
        EndUser.objects.filter(source=DEMO_SOURCE).delete()
        providers.delete()
