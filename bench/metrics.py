"""`banso bench metrics`: 20 account metrics of the catalogue, computed and written to the app database.

Issue (analytics engine): 100,000 accounts and 50,000,000 events, 20 metrics, all values written to the
app database in under 60 s on a 2-core machine with peak memory under 4 GiB; the same computation in plain
pandas in the same run, Banso at least 10× faster.

Data: seeded events written month by month with `activity.lake.append` into a lake under bench/.cache/
(cached per size): 13 months before the as-of day 2026-11-20, accounts of three kinds (SaaS usage,
merchants with visits and bookings, recruiters with applications), skewed activity, accounts that start
late or go quiet, end users on most events, a decimal value on bookings (yen) and page views (seconds).

Banso's part (a child process, so its peak RSS is its own): `services.compute_metrics("account", as_of,
<the 20 metrics of METRIC_KEYS>, DuckDBBackend(root=lake))`, then `values.write_values(...)` into a fresh
app database (SQLite: a new copy of a migrated template per repetition; PostgreSQL with `--database`: the
bench's account metric values are deleted first). `seconds` is compute + write.

Baseline (another child, capped at 16 GiB RSS and 20 minutes): `pd.read_parquet` of the same lake files,
a boolean mask and a groupby per metric, merged into one frame. Every value of both results is compared;
a mismatch is reported (`mismatches`, `mismatch_examples`) and the command exits 1 after printing its JSON.
`ratio_vs_pandas` = pandas_seconds / seconds (Banso's time includes writing the values; pandas' does not).
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

FULL_ACCOUNTS = 100_000
FULL_EVENTS = 50_000_000
# The first 20 account metrics of the catalogue when the issue was written, pinned so that figures stay
# comparable while the catalogue grows (metrics added later are inserted among these).
METRIC_KEYS = (
    "logins_30d",
    "logins_90d",
    "login_trend_30d",
    "days_since_login",
    "usage_30d",
    "usage_volume_30d",
    "usage_trend_30d",
    "days_since_usage",
    "searches_30d",
    "report_exports_30d",
    "active_users_30d",
    "inquiries_30d",
    "inquiries_90d",
    "days_since_inquiry",
    "survey_answers_365d",
    "bookings_30d",
    "booking_sales_30d",
    "booking_trend_30d",
    "visitors_30d",
    "applications_30d",
)
AS_OF = dt.date(2026, 11, 20)
FIRST_DAY = dt.date(2025, 10, 21)  # 13 months of history up to the as-of day
SEED = 20261120
GENERATOR = 1  # part of the cache key: bump when the generated data changes
BASELINE_TIMEOUT = 1200.0
KINDS = [
    "login",
    "search",
    "report_export",
    "page_view",
    "inquiry_opened",
    "survey_nps",
    "booking",
    "visit",
    "application",
]
# Kind mix per account type: SaaS (usage), merchant (visits and bookings), recruiter (applications).
MIX = [
    [0.20, 0.17, 0.05, 0.50, 0.05, 0.02, 0.00, 0.00, 0.01],
    [0.04, 0.02, 0.01, 0.08, 0.03, 0.02, 0.15, 0.65, 0.00],
    [0.08, 0.10, 0.02, 0.20, 0.03, 0.01, 0.00, 0.00, 0.56],
]
TYPE_SHARES = [0.5, 0.3, 0.2]
CONSUMER_BASE, APPLICANT_BASE = 1_000_000_000, 2_000_000_000

log = logger("metrics")


def sizes(scale: float) -> tuple[int, int]:
    return max(100, round(FULL_ACCOUNTS * scale)), max(20_000, round(FULL_EVENTS * scale))


def metric_specs() -> dict[str, Any]:
    """The 20 account metrics of `METRIC_KEYS`, by key, as the built-in catalogue defines them."""
    from banso.analytics.catalogue import BUILTIN

    by_key = {metric.key: metric.spec for metric in BUILTIN if metric.spec.subject == "account"}
    missing = [key for key in METRIC_KEYS if key not in by_key]
    if missing:
        raise SystemExit(f"bench metrics: the catalogue no longer has {missing}; update METRIC_KEYS")
    return {key: by_key[key] for key in METRIC_KEYS}


# ------------------------------------------------------------------------------------------ data


def _months() -> list[tuple[dt.date, dt.date]]:
    """[first, last) Japanese calendar days of each month chunk, clipped to the history."""
    chunks, start, end = [], FIRST_DAY, AS_OF + dt.timedelta(days=1)
    while start < end:
        following = (start.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        chunks.append((start, min(following, end)))
        start = following
    return chunks


def build_lake(root: Path, accounts: int, events: int) -> dict[str, Any]:
    import numpy as np
    import pyarrow as pa

    from banso.activity import lake

    rng = np.random.default_rng(SEED)
    start_us, end_us = epoch_us(day_start(FIRST_DAY)), epoch_us(day_start(AS_OF + dt.timedelta(days=1)))
    span = end_us - start_us
    account_type = rng.choice(3, size=accounts, p=TYPE_SHARES)
    weight = rng.lognormal(0.0, 1.0, accounts)
    # Some accounts join during the period, some go quiet before its end.
    begins = np.where(rng.random(accounts) < 0.15, start_us + (rng.random(accounts) * 0.9 * span), start_us)
    ends = np.where(rng.random(accounts) < 0.2, begins + rng.random(accounts) * (end_us - begins), end_us)
    begins, ends = begins.astype(np.int64), np.maximum(ends.astype(np.int64), begins.astype(np.int64) + 1)
    seats = np.minimum(500, 1 + rng.lognormal(1.5, 0.9, accounts).astype(np.int64))
    consumers = max(1000, accounts * 20)
    cumulative_mix = np.cumsum(np.array(MIX), axis=1)
    cumulative_mix[:, -1] = 1.0
    kind_codes = pa.array(KINDS, pa.string())

    chunks = [(epoch_us(day_start(a)), epoch_us(day_start(b))) for a, b in _months()]
    # Each month gets events in proportion to the activity of the accounts active in it.
    mass = np.array(
        [(weight * np.clip(np.minimum(ends, hi) - np.maximum(begins, lo), 0, None)).sum() for lo, hi in chunks]
    )
    exact = events * mass / mass.sum()
    counts = np.floor(exact).astype(np.int64)
    counts[np.argsort(exact - counts)[::-1][: events - counts.sum()]] += 1

    for (month, _), (lo, hi), count in zip(_months(), chunks, counts, strict=True):
        active = weight * np.clip(np.minimum(ends, hi) - np.maximum(begins, lo), 0, None)
        cdf = np.cumsum(active)
        account = np.minimum(np.searchsorted(cdf, rng.random(count) * cdf[-1], side="right"), accounts - 1)
        first, last = np.maximum(begins[account], lo), np.minimum(ends[account], hi)
        occurred = first + (rng.random(count) * (last - first)).astype(np.int64)
        kind = (rng.random(count)[:, None] > cumulative_mix[account_type[account]]).sum(axis=1)
        seat_user = (account + 1) * 1000 + (rng.random(count) * seats[account]).astype(np.int64)
        consumer = CONSUMER_BASE + (consumers * rng.random(count) ** 1.5).astype(np.int64)
        applicant = APPLICANT_BASE + rng.integers(0, consumers, count)
        has_user = rng.random(count)
        user = np.select(
            [kind <= 3, kind == 4, kind == 5, (kind == 6) | (kind == 7), kind == 8],
            [seat_user, seat_user, seat_user, consumer, applicant],
        )
        user_null = np.select(
            [kind <= 3, kind == 4, kind == 5], [has_user >= 0.85, has_user >= 0.5, has_user >= 0.7], False
        )
        # Values in ten-thousandths: bookings in whole yen (1,000–50,000 by 100), page views in seconds (3 places).
        value = np.select(
            [kind == 6, kind == 3],
            [rng.integers(10, 501, count) * 100 * 10_000, rng.integers(1_000, 600_000, count) * 10],
            0,
        )
        value_null = (kind != 6) & (kind != 3)
        table = pa.table(
            {
                "account_id": pa.array(account + 1, pa.int64()),
                "end_user_id": pa.array(user, pa.int64(), mask=user_null),
                "kind": kind_codes.take(pa.array(kind, pa.int8())),
                "occurred_at": pa.array(occurred, pa.timestamp("us", tz="UTC")),
                "value": pa.array(value, pa.int64(), mask=value_null)
                .cast(pa.decimal128(38, 0))
                .cast(pa.decimal128(18, 0))
                .view(pa.decimal128(18, 4)),
            }
        )
        lake.append(table, root)
        log(f"  {month:%Y-%m}: {count:,} events")
    return {"accounts": accounts, "events": int(counts.sum()), "seed": SEED, "generator": GENERATOR}


def ensure_lake(accounts: int, events: int) -> tuple[Path, bool]:
    name = f"lake-metrics-v{GENERATOR}-a{accounts}-e{events}"
    root, reused = cached_lake(name, lambda path: build_lake(path, accounts, events), log)
    if reused:
        log(f"reusing {root.name}")
    return root, reused


# ------------------------------------------------------------------------------------------ Banso (child)


def _banso(args: dict[str, Any]) -> dict[str, Any]:
    import pyarrow.parquet as pq
    from django.conf import settings

    from banso.analytics.backends import DuckDBBackend
    from banso.analytics.models import MetricValue
    from banso.analytics.services import compute_metrics
    from banso.analytics.values import write_values

    database = AppDatabase.from_args(args["database"])
    metrics = metric_specs()
    as_of = dt.date.fromisoformat(args["as_of"])
    root = Path(args["lake"])
    runs: list[dict[str, Any]] = []
    result: list[Any] = []

    def once() -> float:
        if database.vendor == "postgresql":
            MetricValue.objects.filter(subject_type="account", metric__in=list(metrics)).delete()
        else:
            database.fresh()
        started = time.perf_counter()
        table = compute_metrics("account", as_of, metrics, DuckDBBackend(root=root))
        computed = time.perf_counter()
        written = write_values("account", as_of, table, metrics)
        finished = time.perf_counter()
        runs.append(
            {
                "seconds": finished - started,
                "compute_seconds": computed - started,
                "write_seconds": finished - computed,
                "values_written": written,
            }
        )
        log(f"  banso run {len(runs)}: compute {computed - started:.2f} s + write {finished - computed:.2f} s")
        result[:] = [table]
        return finished - started

    repeat(once)
    peak = peak_rss_mib()
    stored = MetricValue.objects.filter(subject_type="account", metric__in=list(metrics), valid_from=as_of).count()
    pq.write_table(result[0], args["out"])
    return {
        "runs": runs,
        "peak_rss_mib": round(peak, 1),
        "rows": result[0].num_rows,
        "values_stored": stored,
        "duckdb_threads": settings.BANSO_DUCKDB_THREADS or os.cpu_count(),
        "duckdb_memory_limit": settings.BANSO_DUCKDB_MEMORY_LIMIT,
    }


# ------------------------------------------------------------------------------------------ pandas (child)


def pandas_metrics(files: list[str], specs: dict[str, dict[str, Any]], as_of: dt.date) -> Any:
    """The same metrics written plainly in pandas: read the files, then a mask and a groupby per metric."""
    import numpy as np
    import pandas as pd

    def instant(day: dt.date) -> pd.Timestamp:
        return pd.Timestamp(day_start(day))

    def bounds(window: dict[str, int], shift: int = 0) -> tuple[pd.Timestamp, pd.Timestamp]:
        offset = window.get("offset", 0) + shift
        last = as_of - dt.timedelta(days=offset)
        return instant(last - dt.timedelta(days=window["days"] - 1)), instant(last + dt.timedelta(days=1))

    columns = ["account_id", "end_user_id", "kind", "occurred_at", "value"]
    events = pd.concat([pd.read_parquet(path, columns=columns) for path in files], ignore_index=True)
    events["value"] = events["value"].astype("float64")
    end = instant(as_of + dt.timedelta(days=1))
    kinds = sorted({kind for spec in specs.values() for kind in spec["kinds"]})
    scope = events[events["account_id"].notna() & events["kind"].isin(kinds) & (events["occurred_at"] < end)]
    del events
    result = pd.DataFrame({"subject_id": np.sort(scope["account_id"].unique()).astype("int64")})

    def in_window(window: dict[str, int], shift: int = 0) -> Any:
        first, after = bounds(window, shift)
        return (scope["occurred_at"] >= first) & (scope["occurred_at"] < after)

    def per_account(series: Any) -> Any:
        return result["subject_id"].map(series)

    for key, spec in specs.items():
        match = scope["kind"].isin(spec["kinds"])
        window = spec.get("window")
        aggregate = spec["aggregate"]
        if aggregate == "days_since":
            mask = match if window is None else match & in_window(window)
            last = scope[mask].groupby("account_id")["occurred_at"].max()
            seconds = (last - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
            end_seconds = int(day_start(as_of + dt.timedelta(days=1)).timestamp())
            result[key] = per_account((end_seconds - seconds - 1) // 86_400).astype("Int64")
        elif aggregate == "trend":
            now = per_account(scope[match & in_window(window)].groupby("account_id").size()).fillna(0)
            before = per_account(scope[match & in_window(window, window["days"])].groupby("account_id").size())
            before = before.fillna(0)
            result[key] = ((now - before) * 100.0 / before).where(before != 0)
        else:
            rows = scope[match & in_window(window)].groupby("account_id")
            if aggregate == "count":
                series = rows.size()
            elif aggregate == "sum":
                series = rows["value"].sum()
            elif aggregate == "distinct_end_users":
                series = rows["end_user_id"].nunique()
            else:
                raise AssertionError(aggregate)
            result[key] = per_account(series).fillna(0)
    return result


def _pandas(args: dict[str, Any]) -> dict[str, Any]:
    as_of = dt.date.fromisoformat(args["as_of"])
    result: list[Any] = []
    times: list[float] = []

    def once() -> float:
        started = time.perf_counter()
        result[:] = [pandas_metrics(args["files"], args["specs"], as_of)]
        times.append(time.perf_counter() - started)
        sys.stderr.write(f"[bench metrics]   pandas run {len(times)}: {times[-1]:.2f} s\n")
        return times[-1]

    repeat(once)
    peak = peak_rss_mib()
    result[0].to_parquet(args["out"])
    return {"times": times, "peak_rss_mib": round(peak, 1), "rows": len(result[0])}


# ------------------------------------------------------------------------------------------ comparison


def compare(banso_path: Path, pandas_path: Path, keys: list[str]) -> tuple[int, dict[str, int], list[str]]:
    """(values checked, mismatches per metric, examples): every value of both results, by account."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(banso_path)
    floats = [
        table[name].cast(pa.float64()) if pa.types.is_decimal(table.schema.field(name).type) else table[name]
        for name in table.column_names
    ]
    banso = pa.table(floats, names=table.column_names).to_pandas()
    baseline = pd.read_parquet(pandas_path)
    joined = banso.merge(baseline, on="subject_id", how="outer", suffixes=("_b", "_p"), indicator=True)
    mismatches: dict[str, int] = {}
    examples: list[str] = []
    one_side = joined[joined["_merge"] != "both"]
    if len(one_side):
        mismatches["subjects"] = len(one_side)
        examples += [f"account {r['subject_id']} only in {r['_merge']}" for r in one_side.head(3).to_dict("records")]
    both = joined[joined["_merge"] == "both"]
    for key in keys:
        a = both[f"{key}_b"].astype("float64")
        b = both[f"{key}_p"].astype("float64")
        equal = (a.isna() & b.isna()) | ((a - b).abs() <= 1e-6 * a.abs().clip(lower=1))
        bad = both[~equal.to_numpy()]
        if len(bad):
            mismatches[key] = len(bad)
            examples += [
                f"{key} account {r['subject_id']}: banso {r[key + '_b']} pandas {r[key + '_p']}"
                for r in bad.head(3).to_dict("records")
            ]
    return len(both) * len(keys), mismatches, examples[:10]


# ------------------------------------------------------------------------------------------ parent


def run(scale: float = 1.0) -> dict[str, Any]:
    accounts, events = sizes(scale)
    root, reused = ensure_lake(accounts, events)
    facts = lake_facts(root)
    database = AppDatabase.choose("metrics", log)
    specs = metric_specs()
    out = CACHE / f"metrics-results-{os.getpid()}"
    out.mkdir(parents=True, exist_ok=True)
    banso_out, pandas_out = out / "banso.parquet", out / "pandas.parquet"
    try:
        log(f"banso: {len(specs)} metrics over {events:,} events of {accounts:,} accounts ({database.vendor})")
        banso_child = run_child(
            __file__,
            "banso",
            {"database": database.as_args(), "lake": str(root), "as_of": AS_OF.isoformat(), "out": str(banso_out)},
            database=database,
        )
        banso = banso_child.figures
        files = lake_files(root)
        log(f"pandas: the same metrics over {len(files)} files")
        baseline = run_child(
            __file__,
            "pandas",
            {
                "files": files,
                "as_of": AS_OF.isoformat(),
                "out": str(pandas_out),
                "specs": {key: spec.model_dump(mode="json") for key, spec in specs.items()},
            },
            memory_limit=BASELINE_MEMORY_LIMIT,
            timeout=BASELINE_TIMEOUT,
        )
        if baseline.status == "ok":
            checked, mismatches, examples = compare(banso_out, pandas_out, list(specs))
        else:
            checked, mismatches, examples = 0, {}, []
    finally:
        database.remove()
        for path in (banso_out, pandas_out):
            path.unlink(missing_ok=True)
        out.rmdir()

    runs = banso["runs"]
    seconds = median([r["seconds"] for r in runs])
    pandas_seconds = median(baseline.figures["times"]) if baseline.status == "ok" else None
    figures: dict[str, Any] = {
        "accounts": accounts,
        "events": facts["events"],
        "metrics": len(specs),
        "metric_keys": list(specs),
        "seconds": round(seconds, 3),
        "compute_seconds": round(median([r["compute_seconds"] for r in runs]), 3),
        "write_seconds": round(median([r["write_seconds"] for r in runs]), 3),
        "peak_rss_mib": banso["peak_rss_mib"],
        "pandas_seconds": None if pandas_seconds is None else round(pandas_seconds, 3),
        "ratio_vs_pandas": ratio(pandas_seconds, seconds),
        "ratio_compute_vs_pandas": ratio(pandas_seconds, median([r["compute_seconds"] for r in runs])),
        "baseline": baseline.status,
        "values_written": runs[-1]["values_written"],
        "values_stored": banso["values_stored"],
        "accounts_with_events": banso["rows"],
        "results_match": not mismatches and baseline.status == "ok",
        "values_checked": checked,
        "mismatches": mismatches,
        "repetitions": len(runs),
        "runs_seconds": [round(r["seconds"], 3) for r in runs],
        "pandas_repetitions": len(baseline.figures.get("times", [])),
        "pandas_peak_rss_mib": baseline.figures.get("peak_rss_mib", round(baseline.peak_rss_mib, 1)),
        "baseline_memory_limit_mib": BASELINE_MEMORY_LIMIT // 2**20,
        "baseline_timeout_s": BASELINE_TIMEOUT,
        "backend": "duckdb",
        "duckdb_threads": banso["duckdb_threads"],
        "duckdb_memory_limit": banso["duckdb_memory_limit"],
        "database": database.vendor,
        "as_of": AS_OF.isoformat(),
        "lake_files": len(files),
        "lake_mib": round(lake_bytes(root) / 2**20, 1),
        "lake_cached": reused,
        "cpus": os.cpu_count(),
        "other_cpu_share_during_banso": banso_child.other_cpu_share,
    }
    if baseline.status != "ok":
        figures["pandas_seconds_before_limit"] = round(baseline.wall_seconds, 1)
    if examples:
        figures["mismatch_examples"] = examples
    if mismatches:
        log(f"MISMATCH between Banso and pandas: {mismatches}")
        sys.stdout.write(json.dumps(figures, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        raise SystemExit(1)
    return figures


if __name__ == "__main__":
    child_main(sys.argv[1:], {"banso": _banso, "pandas": _pandas})
