"""`banso bench segment`: "visited merchant X 3–7 days ago and did not purchase" over millions of end users.

Issue (analytics engine): 5,000,000 end users and 200,000,000 visit events, the segment answers in under
3 s; plain pandas in the same run at least 20× slower (or out of memory, reported as such).

Data: seeded events appended in 5-day chunks with `activity.lake.append` into a lake under bench/.cache/
(cached per size): the 90 days up to the as-of day 2026-11-20, visits by end users (skewed activity) at
2,000 merchants (Zipf popularity), and purchases after 4% of the visits (same end user and merchant, up to
two hours later). Merchant X is the most popular merchant: the largest segment, the most rows to match.

Banso's part (a child process): `services.SegmentQuery(spec, DuckDBBackend(root=lake), as_of).members()
.to_pyarrow()`, where `spec` is the segment as data (two inline end-user metric rules at merchant X);
5 repetitions, median. The child also needs the app database (the catalogue's custom metrics): a migrated
SQLite copy, or the PostgreSQL `--database` given.

Baselines (children capped at 16 GiB RSS and 20 minutes; "oom"/"timeout" reported with the limit):
- `pandas` (the required `pandas_seconds`): the plain approach, `pd.read_parquet` of every file of the
  lake, filter, groupby, anti-join (a left merge keeping `left_only`).
- `pandas_pruned`: the same code reading only the files Banso's query reads (the months its windows
  touch, from the manifest), to show what is left of the gap when pandas is handed that pruning.
Member ids are compared with Banso's whenever a baseline finishes; a difference exits 1 after the JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from _lake import (
    BASELINE_MEMORY_LIMIT,
    CACHE,
    AppDatabase,
    ChildResult,
    cached_lake,
    child_main,
    day_start,
    epoch_us,
    lake_bytes,
    lake_facts,
    lake_files,
    logger,
    median,
    peak_rss_mib,
    ratio,
    repeat,
    run_child,
)

FULL_END_USERS = 5_000_000
FULL_VISITS = 200_000_000
FULL_MERCHANTS = 2_000
PURCHASE_SHARE = 0.04
DAYS = 90
CHUNK_DAYS = 5
AS_OF = dt.date(2026, 11, 20)
SEED = 20261121
GENERATOR = 1  # part of the cache key: bump when the generated data changes
BASELINE_TIMEOUT = 1200.0
VISIT_WINDOW = {"days": 5, "offset": 3}  # 3–7 days ago
PURCHASE_WINDOW = {"days": 8, "offset": 0}  # since then, up to today

log = logger("segment")


def sizes(scale: float) -> tuple[int, int, int]:
    return (
        max(1_000, round(FULL_END_USERS * scale)),
        max(20_000, round(FULL_VISITS * scale)),
        max(20, round(FULL_MERCHANTS * scale)),
    )


def segment_data(merchant: int) -> dict[str, Any]:
    """The segment as data, as the UI or the API sends it."""
    return {
        "subject": "end_user",
        "rules": {
            "match": "all",
            "rules": [
                {
                    "type": "metric",
                    "metric": {
                        "subject": "end_user",
                        "aggregate": "count",
                        "kinds": ["visit"],
                        "at_accounts": [merchant],
                        "window": VISIT_WINDOW,
                    },
                    "op": "gte",
                    "value": 1,
                },
                {
                    "type": "metric",
                    "metric": {
                        "subject": "end_user",
                        "aggregate": "count",
                        "kinds": ["purchase"],
                        "at_accounts": [merchant],
                        "window": PURCHASE_WINDOW,
                    },
                    "op": "eq",
                    "value": 0,
                },
            ],
        },
    }


# ------------------------------------------------------------------------------------------ data


def build_lake(root: Path, end_users: int, visits: int, merchants: int) -> dict[str, Any]:
    import numpy as np
    import pyarrow as pa

    from banso.activity import lake

    rng = np.random.default_rng(SEED)
    merchant_by_rank = rng.permutation(merchants) + 1
    popularity = np.cumsum(1.0 / np.arange(1, merchants + 1))
    popularity /= popularity[-1]
    user_by_rank = rng.permutation(end_users) + 1
    first_day = AS_OF - dt.timedelta(days=DAYS - 1)
    end_us = epoch_us(day_start(AS_OF + dt.timedelta(days=1)))
    starts = [first_day + dt.timedelta(days=d) for d in range(0, DAYS, CHUNK_DAYS)]
    bounds = [
        (epoch_us(day_start(s)), min(end_us, epoch_us(day_start(s + dt.timedelta(days=CHUNK_DAYS))))) for s in starts
    ]
    exact = np.array([(hi - lo) / (end_us - bounds[0][0]) * visits for lo, hi in bounds])
    counts = np.floor(exact).astype(np.int64)
    counts[np.argsort(exact - counts)[::-1][: visits - counts.sum()]] += 1
    kinds = pa.array(["visit", "purchase"], pa.string())
    purchases = 0
    for day, (lo, hi), count in zip(starts, bounds, counts, strict=True):
        occurred = lo + rng.integers(0, hi - lo, count)
        merchant = merchant_by_rank[np.searchsorted(popularity, rng.random(count), side="right")]
        user = user_by_rank[(end_users * rng.random(count) ** 1.3).astype(np.int64)]
        bought = np.flatnonzero(rng.random(count) < PURCHASE_SHARE)
        later = np.minimum(occurred[bought] + rng.integers(0, 2 * 3600 * 10**6, bought.size), end_us - 1)
        n = count + bought.size
        value = rng.integers(5, 301, bought.size) * 100 * 10_000  # yen, in ten-thousandths
        table = pa.table(
            {
                "account_id": pa.array(np.concatenate([merchant, merchant[bought]]), pa.int64()),
                "end_user_id": pa.array(np.concatenate([user, user[bought]]), pa.int64()),
                "kind": kinds.take(pa.array(np.repeat(np.array([0, 1], np.int8), [count, bought.size]))),
                "occurred_at": pa.array(np.concatenate([occurred, later]), pa.timestamp("us", tz="UTC")),
                "value": pa.array(np.concatenate([np.zeros(count, np.int64), value]), mask=np.arange(n) < count)
                .cast(pa.decimal128(38, 0))
                .cast(pa.decimal128(18, 0))
                .view(pa.decimal128(18, 4)),
            }
        )
        lake.append(table, root)
        purchases += int(bought.size)
        log(f"  {day}: {count:,} visits, {bought.size:,} purchases")
    return {
        "end_users": end_users,
        "visits": int(counts.sum()),
        "purchases": purchases,
        "events": int(counts.sum()) + purchases,
        "merchants": merchants,
        "merchant_x": int(merchant_by_rank[0]),
        "seed": SEED,
        "generator": GENERATOR,
    }


def ensure_lake(end_users: int, visits: int, merchants: int) -> tuple[Path, bool]:
    name = f"lake-segment-v{GENERATOR}-u{end_users}-v{visits}-m{merchants}"
    root, reused = cached_lake(name, lambda path: build_lake(path, end_users, visits, merchants), log)
    if reused:
        log(f"reusing {root.name}")
    return root, reused


# ------------------------------------------------------------------------------------------ Banso (child)


def _banso(args: dict[str, Any]) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from django.conf import settings

    from banso.analytics.backends import DuckDBBackend
    from banso.analytics.services import SegmentQuery, check_segment

    database = AppDatabase.from_args(args["database"])
    database.fresh()
    spec = check_segment(segment_data(args["merchant"]))
    as_of = dt.date.fromisoformat(args["as_of"])
    root = Path(args["lake"])
    times: list[float] = []
    members: list[pa.Table] = []

    def once() -> float:
        started = time.perf_counter()
        table = SegmentQuery(spec, DuckDBBackend(root=root), as_of).members().to_pyarrow()
        times.append(time.perf_counter() - started)
        members[:] = [table]
        log(f"  banso run {len(times)}: {times[-1]:.3f} s, {table.num_rows:,} members")
        return times[-1]

    repeat(once, at_least=5)
    peak = peak_rss_mib()
    pq.write_table(members[0].select(["subject_id"]), args["out"])
    return {
        "times": times,
        "peak_rss_mib": round(peak, 1),
        "members": members[0].num_rows,
        "duckdb_threads": settings.BANSO_DUCKDB_THREADS or os.cpu_count(),
        "duckdb_memory_limit": settings.BANSO_DUCKDB_MEMORY_LIMIT,
    }


# ------------------------------------------------------------------------------------------ pandas (child)


def pandas_segment(files: list[str], merchant: int, as_of: dt.date) -> Any:
    """The plain pandas way: read the events, filter, group by end user, anti-join the buyers."""
    import pandas as pd

    def window(days: int, offset: int) -> tuple[pd.Timestamp, pd.Timestamp]:
        last = as_of - dt.timedelta(days=offset)
        first = last - dt.timedelta(days=days - 1)
        return pd.Timestamp(day_start(first)), pd.Timestamp(day_start(last + dt.timedelta(days=1)))

    columns = ["account_id", "end_user_id", "kind", "occurred_at"]
    events = pd.concat([pd.read_parquet(path, columns=columns) for path in files], ignore_index=True)
    v_first, v_after = window(**VISIT_WINDOW)
    p_first, p_after = window(**PURCHASE_WINDOW)
    at_merchant = (events["account_id"] == merchant) & events["end_user_id"].notna()
    visits = events[
        at_merchant
        & (events["kind"] == "visit")
        & (events["occurred_at"] >= v_first)
        & (events["occurred_at"] < v_after)
    ]
    purchases = events[
        at_merchant
        & (events["kind"] == "purchase")
        & (events["occurred_at"] >= p_first)
        & (events["occurred_at"] < p_after)
    ]
    visitors = visits.groupby("end_user_id").size().rename("visits").reset_index()
    buyers = purchases.groupby("end_user_id").size().rename("purchases").reset_index()
    joined = visitors.merge(buyers, on="end_user_id", how="left", indicator=True)
    return joined.loc[joined["_merge"] == "left_only", "end_user_id"].astype("int64")


def _pandas(args: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd

    as_of = dt.date.fromisoformat(args["as_of"])
    times: list[float] = []
    members: list[Any] = []

    def once() -> float:
        started = time.perf_counter()
        members[:] = [pandas_segment(args["files"], args["merchant"], as_of)]
        times.append(time.perf_counter() - started)
        log(f"  {args['label']} run {len(times)}: {times[-1]:.2f} s")
        return times[-1]

    repeat(once)
    peak = peak_rss_mib()
    pd.DataFrame({"subject_id": members[0].to_numpy()}).to_parquet(args["out"])
    return {"times": times, "peak_rss_mib": round(peak, 1), "members": len(members[0])}


# ------------------------------------------------------------------------------------------ parent


def _same_members(banso_path: Path, baseline_path: Path) -> bool:
    import pyarrow.parquet as pq

    ours = set(pq.read_table(banso_path)["subject_id"].to_pylist())
    theirs = set(pq.read_table(baseline_path)["subject_id"].to_pylist())
    return ours == theirs


def _baseline(label: str, files: list[str], merchant: int, out: Path) -> ChildResult:
    log(f"{label}: reading {len(files)} files")
    result = run_child(
        __file__,
        "pandas",
        {"files": files, "merchant": merchant, "as_of": AS_OF.isoformat(), "out": str(out), "label": label},
        memory_limit=BASELINE_MEMORY_LIMIT,
        timeout=BASELINE_TIMEOUT,
    )
    if result.status != "ok":
        log(f"{label}: {result.status} after {result.wall_seconds:.1f} s (peak RSS {result.peak_rss_mib:,.0f} MiB)")
    return result


def run(scale: float = 1.0) -> dict[str, Any]:
    end_users, visits, merchants = sizes(scale)
    root, reused = ensure_lake(end_users, visits, merchants)
    facts = lake_facts(root)
    merchant = facts["merchant_x"]
    database = AppDatabase.choose("segment", log)
    horizon = AS_OF - dt.timedelta(days=max(w["days"] + w["offset"] for w in (VISIT_WINDOW, PURCHASE_WINDOW)) - 1)
    all_files, read_files = lake_files(root), lake_files(root, horizon.strftime("%Y-%m"))
    out = CACHE / f"segment-results-{os.getpid()}"
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / f"{name}.parquet" for name in ("banso", "pandas", "pandas_pruned")}
    try:
        log(f"banso: {facts['events']:,} events, {end_users:,} end users, merchant {merchant} ({database.vendor})")
        banso_child = run_child(
            __file__,
            "banso",
            {
                "database": database.as_args(),
                "lake": str(root),
                "as_of": AS_OF.isoformat(),
                "merchant": merchant,
                "out": str(paths["banso"]),
            },
            database=database,
        )
        banso = banso_child.figures
        baselines = {
            "pandas": _baseline("pandas", all_files, merchant, paths["pandas"]),
            "pandas_pruned": _baseline("pandas_pruned", read_files, merchant, paths["pandas_pruned"]),
        }
        matches = {
            name: _same_members(paths["banso"], paths[name])
            for name, result in baselines.items()
            if result.status == "ok"
        }
    finally:
        database.remove()
        for path in paths.values():
            path.unlink(missing_ok=True)
        out.rmdir()

    seconds = median(banso["times"])
    figures: dict[str, Any] = {
        "end_users": end_users,
        "events": facts["events"],
        "visits": facts["visits"],
        "purchases": facts["purchases"],
        "merchants": merchants,
        "merchant": merchant,
        "members": banso["members"],
        "seconds": round(seconds, 3),
        "runs_seconds": [round(t, 3) for t in banso["times"]],
        "repetitions": len(banso["times"]),
        "peak_rss_mib": banso["peak_rss_mib"],
    }
    for name, result in baselines.items():
        baseline_seconds = median(result.figures["times"]) if result.status == "ok" else None
        figures[f"{name}_seconds"] = None if baseline_seconds is None else round(baseline_seconds, 3)
        figures[f"ratio_vs_{name}"] = ratio(baseline_seconds, seconds)
        figures["baseline" if name == "pandas" else f"{name}_baseline"] = result.status
        figures[f"{name}_peak_rss_mib"] = result.figures.get("peak_rss_mib", round(result.peak_rss_mib, 1))
        if result.status == "ok":
            figures[f"{name}_repetitions"] = len(result.figures["times"])
            figures[f"{name}_members"] = result.figures["members"]
        else:
            figures[f"{name}_seconds_before_limit"] = round(result.wall_seconds, 1)
    figures.update(
        {
            "results_match": all(matches.values()) if matches else None,
            "baseline_memory_limit_mib": BASELINE_MEMORY_LIMIT // 2**20,
            "baseline_timeout_s": BASELINE_TIMEOUT,
            "backend": "duckdb",
            "duckdb_threads": banso["duckdb_threads"],
            "duckdb_memory_limit": banso["duckdb_memory_limit"],
            "database": database.vendor,
            "as_of": AS_OF.isoformat(),
            "lake_files": len(all_files),
            "lake_files_read": len(read_files),
            "lake_mib": round(lake_bytes(root) / 2**20, 1),
            "lake_cached": reused,
            "cpus": os.cpu_count(),
            "other_cpu_share_during_banso": banso_child.other_cpu_share,
        }
    )
    if not all(matches.values()):
        log(f"MISMATCH between Banso's members and {[n for n, same in matches.items() if not same]}")
        sys.stdout.write(json.dumps(figures, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        raise SystemExit(1)
    return figures


if __name__ == "__main__":
    child_main(sys.argv[1:], {"banso": _banso, "pandas": _pandas})
