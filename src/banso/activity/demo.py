"""Demo events: daily product usage, inquiries and NPS answers for every demo account's active life.

The hidden risk factor of each account (see `banso.accounts.demo`) drives all of them: riskier
accounts use the product less, ask more and see fewer answers resolved, and score lower on NPS; in
the 150 days before a churn (or before an upcoming renewal that will churn) usage fades. Events are
generated with numpy over all account-days at once, chunk by chunk, and written through the event
store (`append_events`: idempotent by external id, COPY on PostgreSQL).
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
from django.db import transaction

from banso.accounts.demo import DemoAccount
from banso.core.demo import DEMO_SOURCE, DemoContext

from .models import Event
from .store import append_events

TOKYO = ZoneInfo("Asia/Tokyo")
CHUNK_ACCOUNT_DAYS = 400_000
DECLINE_WINDOW_DAYS = 150
CHAMPION_GAP_DAYS = 120
# Share of usage events per kind, and the mean count per event at an ordinary activity level.
USAGE_KINDS = [("login", 0.5, 1.5), ("search", 0.3, 3.0), ("report_export", 0.2, 0.8)]
WEEKDAY_FACTOR = np.array([1.0, 1.0, 1.0, 1.0, 0.95, 0.12, 0.08])
INQUIRY_RATE = 0.011  # per weekday, at risk 0
SURVEY_EVERY_DAYS = 91
SURVEY_RESPONSE_RATE = 0.6
INQUIRY_TOPICS = [
    ("ログイン・アカウント", "パスワードの再設定について"),
    ("ログイン・アカウント", "利用者アカウントの追加について"),
    ("契約・請求", "請求書の再発行について"),
    ("契約・請求", "契約内容の変更について"),
    ("機能・使い方", "レポートの出力方法について"),
    ("機能・使い方", "検索条件の保存方法について"),
    ("データ", "データの更新タイミングについて"),
    ("データ", "掲載データの誤りについて"),
    ("不具合", "画面が表示されない"),
    ("不具合", "ダウンロードが失敗する"),
]
_EPOCH = date(1970, 1, 1)


class _Plan:
    """Per-account arrays (indexed like the account list) in days since `origin`."""

    def __init__(self, accounts: list[DemoAccount], today: date, rng: np.random.Generator) -> None:
        self.origin = min(a.start for a in accounts)
        never = 10**7

        def day(d: date | None) -> int:
            return (d - self.origin).days if d else never

        self.ids = np.array([a.id for a in accounts], dtype=np.int64)
        self.ext = pl.Series([a.external_id for a in accounts], dtype=pl.String)
        self.start = np.array([day(a.start) for a in accounts], dtype=np.int64)
        self.end = np.array(
            [day(a.churned_on) if a.churned_on else (today - self.origin).days + 1 for a in accounts], dtype=np.int64
        )
        self.end = np.maximum(self.end, self.start)
        self.risk = np.array([a.risk for a in accounts])
        self.decline_until = np.array([day(a.decline_until) for a in accounts], dtype=np.int64)
        self.decline_strength = np.array([a.decline_strength for a in accounts])
        self.champion_left = np.array([day(a.champion_left_on) for a in accounts], dtype=np.int64)
        self.seats = np.array([a.seats for a in accounts], dtype=float)
        # Each account's own habit: riskier accounts use the product less.
        self.habit = np.exp(-0.45 * self.risk + rng.normal(0.0, 0.3, size=len(accounts)))
        self.norm = float(self.habit.mean() * WEEKDAY_FACTOR.mean())
        self.account_days = int((self.end - self.start).sum())
        origin_utc = datetime.combine(self.origin, time(0), tzinfo=TOKYO).timestamp()
        self.origin_us = int(origin_utc) * 1_000_000
        self.origin_epoch_day = (self.origin - _EPOCH).days
        self.origin_weekday = self.origin.weekday()

    def other_events_per_day(self) -> float:
        inquiries = INQUIRY_RATE * float(np.exp(0.55 * self.risk).mean()) * 0.9 * 1.8
        return inquiries + SURVEY_RESPONSE_RATE / SURVEY_EVERY_DAYS


def build(ctx: DemoContext) -> None:
    accounts: list[DemoAccount] | None = ctx.shared.get("demo_accounts")
    if not accounts:
        ctx.progress("events: no demo accounts, skipped")
        return
    rng = ctx.rng_for("activity.events")
    plan = _Plan(accounts, ctx.today, rng)
    per_day = ctx.events_per_account_day
    if ctx.events_target is not None:
        # The nominal rate is the mean over account-days (ramp-up and declines included, measured).
        usage = ctx.events_target - plan.other_events_per_day() * plan.account_days
        per_day = max(0.001, usage / max(1, plan.account_days))
    ctx.progress(f"events: {plan.account_days:,} account-days at {per_day:.3f} usage events per account-day")

    inserted = total = 0
    first = 0
    lengths = plan.end - plan.start
    while first < len(accounts):
        last, days = first, 0
        while last < len(accounts) and (days == 0 or days + lengths[last] <= CHUNK_ACCOUNT_DAYS):
            days += int(lengths[last])
            last += 1
        frame = _chunk(plan, first, last, per_day, ctx.today, rng)
        with transaction.atomic():
            inserted += append_events(frame)
        total += frame.height
        first = last
        ctx.progress(f"events: {total:,} generated, {inserted:,} new ({last:,}/{len(accounts):,} accounts)")
    ctx.count("events", inserted)
    ctx.shared["demo_events"] = total


def _chunk(plan: _Plan, first: int, last: int, per_day: float, today: date, rng: np.random.Generator) -> pl.DataFrame:
    start, end = plan.start[first:last], plan.end[first:last]
    lengths = end - start
    n = int(lengths.sum())
    local = np.repeat(np.arange(last - first), lengths)
    offset = np.arange(n) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    acct = local + first
    day = start[local] + offset
    weekday = WEEKDAY_FACTOR[(plan.origin_weekday + day) % 7]

    # Activity level of each account-day.
    to_end = plan.decline_until[acct] - day
    in_window = (to_end >= 0) & (to_end < DECLINE_WINDOW_DAYS)
    fade = np.where(in_window, plan.decline_strength[acct] * (1.0 - to_end / DECLINE_WINDOW_DAYS), 0.0)
    since_left = day - plan.champion_left[acct]
    gap = (since_left >= 0) & (since_left < CHAMPION_GAP_DAYS)
    level = (
        plan.habit[acct]
        * np.minimum(1.0, 0.35 + 0.65 * offset / 45.0)  # onboarding ramp
        * (1.0 - fade)
        * np.where(gap, 0.75, 1.0)
    )
    rel = level * weekday / plan.norm
    seats = np.sqrt(plan.seats[acct])

    parts: list[pl.DataFrame] = []
    for kind, share, mean_count in USAGE_KINDS:
        hit = rng.random(n) < np.minimum(0.97, per_day * share * rel)
        count = 1 + rng.poisson(mean_count * seats[hit] * level[hit])
        parts.append(
            _frame(plan, kind, acct[hit], day[hit], rng.integers(8 * 3600, 19 * 3600, int(hit.sum())), count, None)
        )

    # Inquiries: more of them for risky accounts and while fading; fewer get resolved.
    risk = plan.risk[acct]
    p_inquiry = INQUIRY_RATE * np.exp(0.55 * risk) * (1.0 + 1.5 * in_window) * np.where(weekday > 0.5, 1.3, 0.2)
    hit = rng.random(n) < p_inquiry
    i_acct, i_day, i_risk, i_fade = acct[hit], day[hit], risk[hit], in_window[hit]
    m = len(i_acct)
    opened_sec = rng.integers(9 * 3600, 18 * 3600, m)
    topic = rng.integers(len(INQUIRY_TOPICS), size=m)
    inquiry_ids = (
        pl.DataFrame({"e": plan.ext.gather(i_acct), "d": _date_text(plan, i_day)})
        .select(pl.concat_str([pl.col("e"), pl.lit(":inquiry:"), pl.col("d")]))
        .to_series()
    )
    categories = np.array([t[0] for t in INQUIRY_TOPICS])[topic]
    subjects = np.array([t[1] for t in INQUIRY_TOPICS])[topic]
    opened_props = (
        pl.DataFrame({"i": inquiry_ids, "c": categories, "s": subjects})
        .select(pl.format('{{"inquiry": "{}", "category": "{}", "subject": "{}"}}', "i", "c", "s"))
        .to_series()
    )
    parts.append(_frame(plan, "inquiry_opened", i_acct, i_day, opened_sec, None, opened_props))
    p_resolve = 1.0 / (1.0 + np.exp(-(2.3 - 0.9 * i_risk - 1.2 * i_fade)))
    delay = rng.geometric(1.0 / (1.5 + 2.0 * np.maximum(i_risk, 0.0))) - 1
    hours = delay * 24 + rng.integers(1, 8, m)
    resolved_at = opened_sec + hours * 3600
    resolved_day = i_day + resolved_at // 86400
    horizon = np.minimum(plan.end[i_acct], (today - plan.origin).days + 1)
    ok = (rng.random(m) < p_resolve) & (resolved_day < horizon)
    resolved_props = (
        pl.DataFrame({"i": inquiry_ids.filter(pl.Series(ok)), "h": hours[ok]})
        .select(pl.format('{{"inquiry": "{}", "hours": {}}}', "i", "h"))
        .to_series()
    )
    parts.append(
        _frame(
            plan,
            "inquiry_resolved",
            i_acct[ok],
            i_day[ok],
            opened_sec[ok],
            None,
            resolved_props,
            shift_s=hours[ok] * 3600,
        )
    )

    # NPS survey every quarter after the first two months; about 60 % answer.
    due = (offset >= 60) & ((offset - 60) % SURVEY_EVERY_DAYS == 0)
    hit = due & (rng.random(n) < SURVEY_RESPONSE_RATE)
    score = 8.4 - 1.3 * risk[hit] - 4.0 * fade[hit] - 1.0 * gap[hit] + rng.normal(0.0, 1.3, int(hit.sum()))
    score = np.clip(np.rint(score), 0, 10).astype(np.int64)
    parts.append(
        _frame(
            plan,
            "survey_nps",
            acct[hit],
            day[hit],
            rng.integers(10 * 3600, 20 * 3600, int(hit.sum())),
            score,
            pl.Series(['{"survey": "nps"}'] * int(hit.sum()), dtype=pl.String),
        )
    )
    return pl.concat(parts, how="vertical")


def _date_text(plan: _Plan, day: np.ndarray) -> pl.Series:
    return pl.Series(day + plan.origin_epoch_day, dtype=pl.Int32).cast(pl.Date).dt.strftime("%Y%m%d")


def _frame(
    plan: _Plan,
    kind: str,
    acct: np.ndarray,
    day: np.ndarray,
    seconds: np.ndarray,
    values: np.ndarray | None,
    properties: pl.Series | None,
    shift_s: np.ndarray | None = None,
) -> pl.DataFrame:
    n = len(acct)
    micros = plan.origin_us + (day * 86400 + seconds + (0 if shift_s is None else shift_s)) * 1_000_000
    frame = pl.DataFrame(
        {
            "ext": plan.ext.gather(acct),
            "date": _date_text(plan, day),
            "account_id": pl.Series(plan.ids[acct], dtype=pl.Int64),
            "micros": pl.Series(micros, dtype=pl.Int64),
            "value": pl.Series(values, dtype=pl.Int64) if values is not None else pl.Series([None] * n, dtype=pl.Int64),
            "properties": properties if properties is not None else pl.Series(["{}"] * n, dtype=pl.String),
        }
    )
    return frame.select(
        pl.lit(DEMO_SOURCE, dtype=pl.String).alias("source"),
        pl.concat_str([pl.col("ext"), pl.lit(f":{kind}:"), pl.col("date")]).alias("external_id"),
        pl.col("account_id"),
        pl.lit(None, dtype=pl.Int64).alias("end_user_id"),
        pl.lit(kind, dtype=pl.String).alias("kind"),
        pl.col("micros").cast(pl.Datetime("us", "UTC")).alias("occurred_at"),
        pl.col("value").cast(pl.String),
        pl.col("properties"),
    )


def reset(ctx: DemoContext) -> None:
    with transaction.atomic():
        Event.objects.filter(source=DEMO_SOURCE).delete()
