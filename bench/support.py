"""`banso bench support`: the support desk at a million inquiries.

Issue 7 (support desk): the inbox must answer in under 150 ms at p95 over 1,000,000 inquiries on PostgreSQL.
`--scale` shrinks the inquiries (at least 2,000). Without `--database` it runs on PostgreSQL (database
banso_bench_support).

Data (seeded, built once with COPY and reused while the count matches): 60 agents in 6 teams (round-robin),
three years of inquiries with most of the old ones solved or closed and a few percent of the recent ones
still open, pending or new; 85 % assigned, skewed towards some agents; chat/email/form/phone at 35/40/20/5 %;
priorities mostly normal; SLA due instants on the open ones (some past due, some within the warning window);
a fifth of the inquiries tagged, two thirds typed; open requests to other teams on a few thousand.

Timed: the inbox page through Django's test client, signed in as an agent who belongs to a team, over the
views (mine, unassigned, my teams, all open, waiting on other teams, about to breach, breached, solved, all),
filters (channel, status, priority, team, assignee, tag, type, received dates, text search, #number), both
sorts and the second page of each — 240 requests after a warm-up; `inbox_p95_ms` is their 95th percentile.

Also runs the knowledge-base search and chat benchmarks written by their areas (`_support_kb.run(scale)`,
`_support_chat.run(scale)`); a missing one reports null for its keys.
"""

from __future__ import annotations

import datetime as dt
import resource
import time
from typing import Any

import numpy as np
import polars as pl

from _data import BENCH_SEED, default_postgres, log, other_area, prepare_database

FULL_INQUIRIES = 1_000_000
AGENTS = 60
TEAMS = ("一次対応", "予約サポート", "出店者サポート", "決済・返金", "アカウント", "エスカレーション")
TAGS = ("至急", "返金", "キャンセル", "クレーム", "再問い合わせ", "VIP", "不具合", "要確認")
TYPES = (
    "予約の変更",
    "予約の取消",
    "返金",
    "ログインできない",
    "支払い方法",
    "領収書",
    "出店者への連絡",
    "口コミ",
    "ポイント",
    "アカウント削除",
    "メール届かない",
    "その他",
)
SUBJECTS = (
    "予約の日時を変更したい",
    "キャンセル料について",
    "返金がまだ届きません",
    "ログインできません",
    "領収書の発行をお願いします",
    "エアコンクリーニングの予約について",
    "出店者と連絡が取れない",
    "ポイントが付与されていない",
    "クレジットカードの変更",
    "口コミを削除したい",
)
SURNAMES = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤")
GIVEN = ("花子", "太郎", "美咲", "翔太", "陽子", "健一", "さくら", "大輔")
REQUESTS = 240
AGENT_USERNAME = "bench-agent-{:02d}"


def sizes(scale: float) -> int:
    return max(2_000, round(FULL_INQUIRIES * scale))


def run(scale: float = 1.0) -> dict[str, Any]:
    figures = default_postgres("support", scale, database="banso_bench_support")
    if figures is not None:
        return figures
    vendor = prepare_database()
    inquiries = sizes(scale)
    build_seconds = ensure_data(inquiries)
    times = measure_inbox()
    inbox_p95 = round(float(np.percentile(np.array(times) * 1000.0, 95)), 1)
    log(f"inbox: {len(times)} requests, p50 {np.percentile(times, 50) * 1000:.1f} ms, p95 {inbox_p95} ms")
    figures = {
        "inquiries": inquiries,
        "inbox_p95_ms": inbox_p95,
        "inbox_p50_ms": round(float(np.percentile(np.array(times) * 1000.0, 50)), 1),
        "inbox_requests": len(times),
        "articles": None,
        "search_p95_ms": None,
        "chat_connections": None,
        "chat_p95_ms": None,
    }
    for name, keys in (
        ("_support_kb", ("articles", "search_p95_ms")),
        ("_support_chat", ("chat_connections", "chat_p95_ms")),
    ):
        figures.update(other_area(name, keys, scale))
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    figures.update(
        {
            "database": vendor,
            "peak_rss_mib": round(max(own, children), 1),
            "data_build_seconds": round(build_seconds, 1),
        }
    )
    return figures


# Data ------------------------------------------------------------------------------------------------------


def ensure_data(inquiries: int) -> float:
    from banso.support.models import Inquiry

    have = Inquiry.objects.count()
    if have == inquiries:
        log(f"reusing {inquiries:,} inquiries")
        return 0.0
    started = time.monotonic()
    log(f"building {inquiries:,} inquiries (found {have:,})")
    _wipe()
    _build(inquiries)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE support_inquiry")
            cursor.execute("VACUUM ANALYZE support_inquiry_tags")
            cursor.execute("VACUUM ANALYZE support_teamrequest")
    log(f"built in {time.monotonic() - started:.1f} s")
    return time.monotonic() - started


def _wipe() -> None:
    from django.db import connection

    tables = (
        "support_slameasurement",
        "support_teamrequest",
        "support_inquiry_tags",
        "support_message",
        "support_chatsession",
        "support_improvementrequest_inquiries",
        "support_inquiry",
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")


def _stamp(seconds: np.ndarray) -> pl.Series:
    return pl.from_epoch(pl.Series(seconds.astype(np.int64)), time_unit="s").dt.strftime("%Y-%m-%d %H:%M:%S+00:00")


def _build(n: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from banso.core import arrowdb
    from banso.core.choices import Role
    from banso.core.models import Team, User
    from banso.support import desk
    from banso.support.models import InquiryType, Status, Tag, TeamSettings

    rng = np.random.default_rng(BENCH_SEED)
    now = timezone.now().timestamp()
    with transaction.atomic():
        desk.ensure_default_statuses()
        status_ids = {s.key: s.pk for s in Status.objects.all()}
        agents = []
        for i in range(AGENTS):
            user, _ = User.objects.get_or_create(
                username=AGENT_USERNAME.format(i),
                defaults={"display_name": f"担当{i:02d}", "role": Role.SUPPORT_AGENT, "email": f"agent{i}@bench.jp"},
            )
            agents.append(user)
        teams = []
        for t, name in enumerate(TEAMS):
            team, _ = Team.objects.get_or_create(name=f"bench-{name}")
            team.members.set(agents[t * 10 : (t + 1) * 10])
            TeamSettings.objects.get_or_create(team=team)
            teams.append(team)
        tag_ids = np.array([Tag.objects.get_or_create(name=name)[0].pk for name in TAGS])
        type_ids = np.array([InquiryType.objects.get_or_create(name=name)[0].pk for name in TYPES])
        agent_ids = np.array([a.pk for a in agents])
        team_ids = np.array([t.pk for t in teams])

        log("inquiries")
        span = 3 * 365 * 86400
        age = rng.power(3.0, n) * span  # more inquiries lately
        created = np.sort(now - span + age)
        age_days = (now - created) / 86400
        # Recent inquiries are still being worked; older ones are solved or closed.
        recent = age_days < 14
        u = rng.random(n)
        keys = np.where(
            recent,
            np.select(
                [u < 0.10, u < 0.35, u < 0.45, u < 0.50, u < 0.80],
                ["new", "open", "waiting_customer", "on_hold", "solved"],
                "closed",
            ),
            np.where(u < 0.004, "open", np.where(u < 0.30, "solved", "closed")),
        )
        status_col = np.vectorize(status_ids.get)(keys)
        is_open = np.isin(keys, ["new", "open", "waiting_customer", "on_hold"])
        updated = np.minimum(created + rng.exponential(86400, n), now - 1)
        agent_weights = rng.pareto(1.5, AGENTS) + 1
        agent_weights /= agent_weights.sum()
        assignee = rng.choice(agent_ids, n, p=agent_weights)
        unassigned = (rng.random(n) < 0.15) | (keys == "new") & (rng.random(n) < 0.7)
        team_index = rng.integers(0, len(team_ids), n)
        channel = rng.choice(np.array(["chat", "email", "form", "phone"]), n, p=[0.35, 0.40, 0.20, 0.05])
        priority = rng.choice(np.array(["low", "normal", "high", "urgent"]), n, p=[0.15, 0.65, 0.15, 0.05])
        due = now + rng.uniform(-2 * 86400, 2 * 86400, n)
        has_due = is_open & (keys != "waiting_customer")
        solved_at = np.where(np.isin(keys, ["solved", "closed"]), updated, np.nan)
        typed = rng.random(n) < 0.67
        surname = np.array(SURNAMES)[rng.integers(0, len(SURNAMES), n)]
        given = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
        numbers = np.arange(1, n + 1)
        tokens = [f"bench{i:08d}x{int(r):08x}" for i, r in zip(numbers, rng.integers(0, 2**31, n), strict=True)]
        frame = pl.DataFrame(
            {
                "id": numbers,
                "number": numbers,
                "subject": pl.Series(np.array(SUBJECTS)[rng.integers(0, len(SUBJECTS), n)]),
                "channel": pl.Series(channel),
                "status_id": pl.Series(status_col.astype(np.int64)),
                "priority": pl.Series(priority),
                "team_id": pl.Series(team_ids[team_index]),
                "assignee_id": pl.Series(np.where(unassigned, 0, assignee)),
                "requester_name": pl.Series(np.char.add(surname, given)),
                "requester_email": pl.Series([f"c{i}@example.jp" for i in numbers]),
                "inquiry_type_id": pl.Series(np.where(typed, type_ids[rng.integers(0, len(type_ids), n)], 0)),
                "public_token": pl.Series(tokens),
                "created_at": _stamp(created),
                "updated_at": _stamp(updated),
                "last_customer_message_at": _stamp(created),
                "solved_at": _stamp(np.nan_to_num(solved_at, nan=0)),
                "sla_next_due_at": _stamp(due),
            }
        ).with_columns(
            pl.when(pl.col("assignee_id") == 0).then(None).otherwise(pl.col("assignee_id")).alias("assignee_id"),
            pl.when(pl.col("inquiry_type_id") == 0)
            .then(None)
            .otherwise(pl.col("inquiry_type_id"))
            .alias("inquiry_type_id"),
            pl.when(pl.Series(np.isnan(solved_at))).then(None).otherwise(pl.col("solved_at")).alias("solved_at"),
            pl.when(pl.Series(has_due)).then(pl.col("sla_next_due_at")).otherwise(None).alias("sla_next_due_at"),
        )
        for start in range(0, n, 200_000):
            arrowdb.insert_frame("support_inquiry", frame.slice(start, 200_000), frame.columns)
            log(f"  {min(start + 200_000, n):,} inquiries")

        log("tags and requests to other teams")
        tagged = np.flatnonzero(rng.random(n) < 0.2) + 1
        tags = pl.DataFrame({"inquiry_id": tagged, "tag_id": tag_ids[rng.integers(0, len(tag_ids), len(tagged))]})
        arrowdb.insert_frame("support_inquiry_tags", tags, tags.columns)
        open_ids = np.flatnonzero(is_open) + 1
        asked = rng.choice(open_ids, min(len(open_ids), max(20, n // 300)), replace=False)
        requests = pl.DataFrame(
            {
                "inquiry_id": asked,
                "to_name": ["出店者コンサルタント"] * len(asked),
                "question": ["返金可否の確認をお願いします"] * len(asked),
                "requested_at": _stamp(np.full(len(asked), now - 3600)),
                "due_at": _stamp(np.full(len(asked), now + 86400)),
                "status": ["open"] * len(asked),
                "answer": [""] * len(asked),
            }
        )
        arrowdb.insert_frame("support_teamrequest", requests, requests.columns)
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT setval(pg_get_serial_sequence('support_inquiry', 'id'), %s)", [n])


# Measuring ---------------------------------------------------------------------------------------------


def _urls() -> list[dict[str, str]]:
    from banso.core.models import Team, User
    from banso.support.models import InquiryType, Tag

    team = Team.objects.filter(name__startswith="bench-").order_by("id").first()
    agent = User.objects.filter(username__startswith="bench-agent-").order_by("id")[3]
    refund = InquiryType.objects.get(name="返金")
    tag = Tag.objects.get(name="至急")
    today = dt.date.today()
    week = (today - dt.timedelta(days=7)).isoformat()
    return [
        {"view": "mine"},
        {"view": "unassigned"},
        {"view": "team"},
        {"view": "open"},
        {"view": "waiting"},
        {"view": "about_to_breach", "sort": "sla"},
        {"view": "breached", "sort": "sla"},
        {"view": "solved"},
        {"view": "all"},
        {"view": "open", "channel": "chat"},
        {"view": "all", "status": "on_hold"},
        {"view": "open", "priority": "urgent", "sort": "sla"},
        {"view": "open", "team": str(team.pk) if team else ""},
        {"view": "all", "assignee": str(agent.pk)},
        {"view": "open", "tag": tag.name},
        {"view": "all", "type": str(refund.pk), "from": week, "to": today.isoformat()},
        {"view": "all", "q": "鈴木"},
        {"view": "all", "q": "エアコン"},
        {"view": "all", "q": "#4242"},
        {"view": "solved", "channel": "email", "from": week},
    ]


def measure_inbox() -> list[float]:
    from django.test import Client
    from django.test.utils import setup_test_environment

    from banso.core.models import User

    setup_test_environment()
    agent = User.objects.filter(username__startswith="bench-agent-").order_by("id").first()
    assert agent is not None
    client = Client()
    client.force_login(agent)
    queries = _urls()
    for params in queries:  # warm-up (connections, templates, caches)
        assert client.get("/support/inbox/", params).status_code == 200
    times: list[float] = []
    while len(times) < REQUESTS:
        for params in queries:
            started = time.perf_counter()
            response = client.get("/support/inbox/", params)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, (params, response.status_code)
            cursor = response.context["next_cursor"]
            if cursor:
                started = time.perf_counter()
                response = client.get("/support/inbox/", {**params, "cursor": cursor})
                times.append(time.perf_counter() - started)
                assert response.status_code == 200
    return times
