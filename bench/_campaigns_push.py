"""The push half of `banso bench campaigns`: "visited merchant X 3–7 days ago, no purchase" materialised over
5,000,000 end users and 200,000,000 visit events, then frequency caps, deliveries and outbox rows queued.

Data: the segment benchmark's lake (bench/segment.py: `ensure_lake`, cached under bench/.cache/ and reused;
the end-user ids of its events are 1…N), plus, in the app database (PostgreSQL banso_bench_campaigns when
bench/campaigns.py chooses it), the N end users with those ids and a live Web Push subscription for
SUBSCRIBED_SHARE of them, written once with COPY and reused while the sizes match.

Timed, median of 3 (state undone between runs, untimed: the campaign's deliveries, cap slots and outbox rows):
- `segment_seconds`: `push.segment_members(segment, as_of, DuckDBBackend(root=lake))` (the analytics engine);
- `queue_seconds`: `push.send(campaign, now, members=…)`: skip already sent, reachability (live subscription),
  caps (CapSlot INSERT … ON CONFLICT), Delivery rows and the web-push outbox batches (one row per 1,000);
- `push_seconds` = `segment_queue_seconds`: the two together (each repetition's sum, median).
`--scale` shrinks users and events as the segment benchmark does (a tiny scale for a smoke test).
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from typing import Any

SUBSCRIBED_SHARE = 0.3
SOURCE = "bench-campaigns"
REPETITIONS = 3


def _log(message: str) -> None:
    import sys

    sys.stderr.write(f"[bench campaigns push] {message}\n")
    sys.stderr.flush()


def _ensure_users(end_users: int) -> None:
    """End users 1…N (the lake's ids) and subscriptions for a share of them, COPYed once."""
    import numpy as np
    import polars as pl
    from django.db import connection, transaction

    from banso.accounts.models import EndUser
    from banso.campaigns.models import PushSubscription
    from banso.core.arrowdb import insert_frame

    have = EndUser.objects.filter(source=SOURCE).count()
    subscribed = int(end_users * SUBSCRIBED_SHARE)
    if have == end_users and PushSubscription.objects.filter(end_user__source=SOURCE).count() == subscribed:
        _log(f"reusing {have:,} end users and {subscribed:,} subscriptions")
        return
    _log(f"writing {end_users:,} end users and {subscribed:,} subscriptions")
    with transaction.atomic():
        PushSubscription.objects.all().delete()
        EndUser.objects.filter(id__lte=end_users).delete()
        EndUser.objects.filter(source=SOURCE).delete()
        ids = np.arange(1, end_users + 1, dtype=np.int64)
        now = str(connection.ops.adapt_datetimefield_value(dt.datetime(2026, 11, 1, tzinfo=dt.UTC)))
        users = pl.DataFrame({"id": ids}).with_columns(
            pl.lit(SOURCE).alias("source"),
            pl.concat_str([pl.lit("u"), pl.col("id").cast(pl.Utf8)]).alias("external_id"),
            pl.lit("member").alias("kind"),
            pl.lit("").alias("name"),
            pl.lit("").alias("email"),
            pl.lit("{}").alias("attributes"),
            pl.lit(None, pl.Int64).alias("account_id"),
            pl.lit(now).alias("created_at"),
            pl.lit(now).alias("updated_at"),
        )
        columns = [f.column for f in EndUser._meta.concrete_fields]
        missing = set(columns) - set(users.columns)
        if missing:
            raise RuntimeError(f"bench: EndUser columns not filled: {sorted(missing)}")
        insert_frame(EndUser._meta.db_table, users, columns)
        rng = np.random.default_rng(20261126)
        chosen = np.sort(rng.choice(ids, subscribed, replace=False))
        subs = pl.DataFrame({"end_user_id": chosen}).with_columns(
            pl.concat_str([pl.lit("https://push.example.net/s/"), pl.col("end_user_id").cast(pl.Utf8)]).alias(
                "endpoint"
            ),
            pl.lit("BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM").alias(
                "p256dh"
            ),
            pl.lit("tBHItJI5svbpez7KI4CCXg").alias("auth"),
            pl.lit("").alias("user_agent"),
            pl.lit(now).alias("created_at"),
        )
        insert_frame(
            PushSubscription._meta.db_table,
            subs,
            ["end_user_id", "endpoint", "p256dh", "auth", "user_agent", "created_at"],
        )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [EndUser._meta.db_table, end_users]
                )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {EndUser._meta.db_table}")
            cursor.execute(f"ANALYZE {PushSubscription._meta.db_table}")


def _reset() -> None:
    """Empty what a send writes. The benchmark's own database: TRUNCATE (the ORM's cascading delete of a
    million deliveries reads every id into Python first)."""
    from django.db import connection, transaction

    from banso.campaigns.models import CapSlot, Delivery, PushCampaign
    from banso.playbooks.models import OutboxMessage

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {CapSlot._meta.db_table}, {Delivery._meta.db_table}")
        CapSlot.objects.all()._raw_delete(CapSlot.objects.db)
        Delivery.objects.all()._raw_delete(Delivery.objects.db)
        PushCampaign.objects.all().delete()
        OutboxMessage.objects.filter(source="campaigns")._raw_delete(OutboxMessage.objects.db)


def run(scale: float = 1.0) -> dict[str, Any]:
    import segment as segment_bench
    from _lake import day_start, lake_facts
    from banso.analytics.backends import DuckDBBackend
    from banso.analytics.models import Segment
    from banso.campaigns import push
    from banso.campaigns.models import PushCampaign

    end_users, visits, merchants = segment_bench.sizes(scale)
    root, reused = segment_bench.ensure_lake(end_users, visits, merchants)
    facts = lake_facts(root)
    merchant = int(facts["merchant_x"])
    _ensure_users(end_users)
    _reset()
    Segment.objects.filter(name="bench: visited X 3–7 days ago, no purchase").delete()
    segment = Segment.objects.create(
        name="bench: visited X 3–7 days ago, no purchase",
        subject_type="end_user",
        rules=push.visited_segment_rules(merchant, 3, 7),
        is_active=False,
    )
    as_of = segment_bench.AS_OF
    now = day_start(as_of) + dt.timedelta(hours=12)
    backend = DuckDBBackend(root=root)
    segment_times: list[float] = []
    queue_times: list[float] = []
    members = queued = capped = 0
    for repetition in range(REPETITIONS):
        _reset()
        campaign = PushCampaign.objects.create(
            name=f"bench {repetition}", segment=segment, title="ポイント2倍", body="今だけ還元率アップ"
        )
        started = time.perf_counter()
        ids = push.segment_members(segment, as_of, backend)
        segment_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        result = push.send(campaign, now, members=ids)
        queue_times.append(time.perf_counter() - started)
        members, queued, capped = result.targeted, result.queued, result.capped
        _log(
            f"run {repetition + 1}: segment {segment_times[-1]:.2f} s ({members:,} members), "
            f"queue {queue_times[-1]:.2f} s ({queued:,} queued, {result.unreachable:,} unreachable)"
        )
    _reset()
    totals = [a + b for a, b in zip(segment_times, queue_times, strict=True)]
    push_seconds = round(statistics.median(totals), 3)
    return {
        "end_users": end_users,
        "events": facts["events"],
        "segment_members": members,
        "queued": queued,
        "capped": capped,
        "subscribed_share": SUBSCRIBED_SHARE,
        "push_seconds": push_seconds,
        "segment_queue_seconds": push_seconds,
        "segment_seconds": round(statistics.median(segment_times), 3),
        "queue_seconds": round(statistics.median(queue_times), 3),
        "push_runs_seconds": [round(t, 3) for t in totals],
        "lake_cached": reused,
        "merchant": merchant,
    }
