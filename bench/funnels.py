"""`banso bench funnels`: every client's funnel, benchmark and bottleneck, computed and stored.

Issue 11 (client funnels): 5,000 clients and 20,000,000 funnel events; the nightly computation
(`funnels.computing.compute_all` with a FunnelRun: the query over the events, rates, own history over 6
periods, leave-one-out peer benchmarks, bottlenecks, explanations, and writing the ClientFunnel rows) in
under 15 s on this 2-core machine.

Data: seeded recruiting events written straight into a Parquet lake under bench/.cache/ with
`activity.lake.append` (cached per size): 7 periods of 30 days up to the as-of day; clients of skewed size
in 8 industries, each with its own interview and offer rates; applications by applicants (some apply
twice, 2 % without an applicant), interviews some days after an application, offers after an interview
(some fall after the as-of day and are not counted). The app database holds the 5,000 client accounts
(untimed; SQLite: a fresh copy of a migrated template per repetition; PostgreSQL with `--database`).
The events carry no project property (the lake has no properties), so the per-project query of the app
database runs over no events here: `project_property` is left blank.

Timed (a child process, so its peak RSS is its own): `compute_all(funnel, as_of, run)` end to end,
median of 3 when a run takes under 10 s; `query_seconds`, `compute_seconds` and `write_seconds` split it.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

from _lake import (
    AppDatabase,
    cached_lake,
    child_main,
    day_start,
    epoch_us,
    lake_bytes,
    lake_facts,
    logger,
    median,
    peak_rss_mib,
    repeat,
    run_child,
)

FULL_CLIENTS = 5_000
FULL_EVENTS = 20_000_000
AS_OF = dt.date(2026, 11, 20)
PERIOD_DAYS, HISTORY = 30, 6
FIRST_DAY = AS_OF - dt.timedelta(days=PERIOD_DAYS * (HISTORY + 1) - 1)
SEED = 20261126
GENERATOR = 2  # part of the cache key: bump when the generated data changes
ACCOUNT_BASE = 50_000_000  # account ids in the lake: far above what a benchmark database otherwise holds
INDUSTRIES = ["人材", "IT", "製造", "小売", "飲食", "医療", "物流", "建設"]
KINDS = ["application", "interview_held", "offer_made"]

log = logger("funnels")


def sizes(scale: float) -> tuple[int, int]:
    return max(50, round(FULL_CLIENTS * scale)), max(20_000, round(FULL_EVENTS * scale))


def client_rates(clients: int) -> tuple[Any, Any, Any]:
    """(weight, interview rate, offer rate) per client, seeded: the same for the lake and the database."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    weight = rng.lognormal(0.0, 1.0, clients)
    interview = rng.uniform(0.15, 0.65, clients)
    offer = rng.uniform(0.05, 0.45, clients)
    return weight, interview, offer


def build_lake(root: Path, clients: int, events: int) -> dict[str, Any]:
    import numpy as np
    import pyarrow as pa

    from banso.activity import lake

    rng = np.random.default_rng(SEED + 1)
    weight, interview_rate, offer_rate = client_rates(clients)
    # Events per application on average: 1 + interview rate × (1 + offer rate), weighted by client size.
    share = weight / weight.sum()
    per_application = float((share * (1 + interview_rate * (1 + offer_rate))).sum())
    applications = int(events / per_application * 1.02)  # a little over, then trimmed to exactly `events`
    start_us, end_us = epoch_us(day_start(FIRST_DAY)), epoch_us(day_start(AS_OF + dt.timedelta(days=1)))
    day_us = 86_400 * 1_000_000

    client = np.minimum(np.searchsorted(np.cumsum(share), rng.random(applications), side="right"), clients - 1)
    applied = start_us + (rng.random(applications) * (end_us - start_us)).astype(np.int64)
    applicant = np.arange(applications, dtype=np.int64) + 1
    again = rng.random(applications) < 0.05  # applied twice to the same client: the same applicant
    applicant[1:][again[1:]] = applicant[:-1][again[1:]]
    anonymous = rng.random(applications) < 0.02
    interviewed = (rng.random(applications) < interview_rate[client]) & ~anonymous
    interview_at = applied + (rng.uniform(1, 10, applications) * day_us).astype(np.int64)
    offered = interviewed & (rng.random(applications) < offer_rate[client])
    offer_at = interview_at + (rng.uniform(1, 14, applications) * day_us).astype(np.int64)

    account = np.concatenate([client, client[interviewed], client[offered]]) + ACCOUNT_BASE
    user = np.concatenate([applicant, applicant[interviewed], applicant[offered]])
    user_null = np.concatenate([anonymous, np.zeros(int(interviewed.sum()) + int(offered.sum()), bool)])
    occurred = np.concatenate([applied, interview_at[interviewed], offer_at[offered]])
    kind = np.concatenate(
        [
            np.zeros(applications, np.int8),
            np.ones(int(interviewed.sum()), np.int8),
            np.full(int(offered.sum()), 2, np.int8),
        ]
    )
    keep = np.sort(rng.choice(len(occurred), size=min(events, len(occurred)), replace=False))
    account, user, user_null, occurred, kind = account[keep], user[keep], user_null[keep], occurred[keep], kind[keep]
    order = np.argsort(occurred, kind="stable")
    table = pa.table(
        {
            "account_id": pa.array(account[order], pa.int64()),
            "end_user_id": pa.array(user[order], pa.int64(), mask=user_null[order]),
            "kind": pa.array(KINDS, pa.string()).take(pa.array(kind[order])),
            "occurred_at": pa.array(occurred[order], pa.timestamp("us", tz="UTC")),
            "value": pa.nulls(len(order), pa.decimal128(18, 4)),
        }
    )
    total = lake.append(table, root)  # one time-ordered file per month
    log(f"  {total:,} events written")
    return {"clients": clients, "events": total, "applications": applications, "seed": SEED, "generator": GENERATOR}


def ensure_lake(clients: int, events: int) -> tuple[Path, bool]:
    name = f"lake-funnels-v{GENERATOR}-c{clients}-e{events}"
    root, reused = cached_lake(name, lambda path: build_lake(path, clients, events), log)
    if reused:
        log(f"reusing {root.name}")
    return root, reused


# ------------------------------------------------------------------------------------------ Banso (child)


def _setup(clients: int) -> Any:
    """The client accounts (ids as in the lake) and the recruiting funnel, untimed."""
    from banso.accounts.choices import AccountKind
    from banso.accounts.models import Account
    from banso.funnels.models import Funnel, FunnelStage

    Account.objects.filter(source="bench-funnels").delete()
    Funnel.objects.filter(name="bench-funnels").delete()
    Account.objects.bulk_create(
        (
            Account(
                pk=ACCOUNT_BASE + i,
                source="bench-funnels",
                external_id=f"fn-{i}",
                name=f"株式会社ファネル{i}",
                kind=AccountKind.CLIENT,
                industry=INDUSTRIES[i % len(INDUSTRIES)],
            )
            for i in range(clients)
        ),
        batch_size=5000,
    )
    funnel = Funnel.objects.create(
        name="bench-funnels", period_days=PERIOD_DAYS, history_periods=HISTORY, project_property=""
    )
    labels = [("応募", ""), ("面接実施", "面接実施率"), ("内定", "内定率")]
    FunnelStage.objects.bulk_create(
        FunnelStage(funnel=funnel, position=i, label=label, rate_label=rate, event_kind=kind)
        for i, ((label, rate), kind) in enumerate(zip(labels, KINDS, strict=True), start=1)
    )
    return funnel


def _banso(args: dict[str, Any]) -> dict[str, Any]:
    from django.conf import settings
    from django.utils import translation

    from banso.analytics.backends import DuckDBBackend
    from banso.funnels.computing import compute_all
    from banso.funnels.models import ClientFunnel, FunnelRun

    translation.activate(settings.LANGUAGE_CODE)
    database = AppDatabase.from_args(args["database"])
    root = Path(args["lake"])
    runs: list[dict[str, Any]] = []
    facts: dict[str, Any] = {}

    def once() -> float:
        database.fresh()
        funnel = _setup(args["clients"])
        run = FunnelRun.objects.create(funnel=funnel, as_of=AS_OF)
        timings: dict[str, float] = {}
        started = time.perf_counter()
        table = compute_all(funnel, AS_OF, run=run, backend_factory=lambda: DuckDBBackend(root=root), timings=timings)
        seconds = time.perf_counter() - started
        runs.append({"seconds": seconds, **{f"{k}_seconds": v for k, v in timings.items()}})
        log(f"  run {len(runs)}: {seconds:.2f} s ({', '.join(f'{k} {v:.2f}' for k, v in timings.items())})")
        stored = ClientFunnel.objects.filter(run=run)
        facts.update(
            rows=table.height,
            stored=stored.count(),
            bottlenecks=stored.exclude(bottleneck_position=None).count(),
            counted=run.events,
            example=stored.exclude(explanation="").order_by("-loss_per_month").values_list("explanation", flat=True)[0],
        )
        return seconds

    repeat(once)
    return {
        "runs": runs,
        "peak_rss_mib": round(peak_rss_mib(), 1),
        **facts,
        "duckdb_threads": settings.BANSO_DUCKDB_THREADS or None,
    }


# ------------------------------------------------------------------------------------------ parent


def run(scale: float = 1.0) -> dict[str, Any]:
    clients, events = sizes(scale)
    root, _reused = ensure_lake(clients, events)
    facts = lake_facts(root)
    database = AppDatabase.choose("funnels", log)
    try:
        log(f"banso: {clients:,} clients, {facts['events']:,} events ({database.vendor})")
        child = run_child(
            __file__,
            "banso",
            {"database": database.as_args(), "lake": str(root), "clients": clients},
            database=database,
        )
    finally:
        database.remove()
    banso = child.figures
    runs = banso["runs"]
    return {
        "clients": clients,
        "events": facts["events"],
        "seconds": round(median([r["seconds"] for r in runs]), 3),
        "query_seconds": round(median([r["query_seconds"] for r in runs]), 3),
        "compute_seconds": round(median([r["compute_seconds"] for r in runs]), 3),
        "write_seconds": round(median([r["write_seconds"] for r in runs]), 3),
        "peak_rss_mib": banso["peak_rss_mib"],
        "repetitions": len(runs),
        "runs_seconds": [round(r["seconds"], 3) for r in runs],
        "rows_stored": banso["stored"],
        "bottlenecks": banso["bottlenecks"],
        "example_explanation": banso["example"],
        "periods": HISTORY + 1,
        "period_days": PERIOD_DAYS,
        "lake_mib": round(lake_bytes(root) / 2**20, 1),
        "database": database.vendor,
        "other_cpu_share_during_banso": child.other_cpu_share,
        "backend": "duckdb",
    }


if __name__ == "__main__":
    child_main(sys.argv[1:], {"banso": _banso})
