"""The same metric and segment definitions give exactly the same results on DuckDB (over the Parquet copy),
PostgreSQL (over a table of events) and Apache Spark (local mode, over the Parquet copy)."""

import datetime as dt
import uuid
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from banso.activity import lake
from banso.analytics.backends import DuckDBBackend, PostgresBackend, SparkBackend
from banso.analytics.catalogue import BUILTIN
from banso.analytics.engine import day_start, metric_table, plan_segment, segment_members
from banso.analytics.specs import MetricSpec, Window, parse_segment

AS_OF = dt.date(2026, 11, 25)
PG_URL = "postgres://postgres@127.0.0.1:5432/postgres"
KINDS = [
    "login",
    "search",
    "report_export",
    "page_view",
    "inquiry_opened",
    "survey_nps",
    "booking",
    "visit",
    "purchase",
    "application",
]
EXTRA = {
    "visits_3_7_days_ago_at_3": MetricSpec(
        subject="end_user", aggregate="count", kinds=["visit"], at_accounts=[3], window=Window(days=5, offset=3)
    ),
    "spend_60d": MetricSpec(subject="end_user", aggregate="sum", kinds=["purchase", "booking"], window=Window(days=60)),
    "days_since_purchase_in_90d": MetricSpec(
        subject="end_user", aggregate="days_since", kinds=["purchase"], window=Window(days=90)
    ),
}


def random_events(n: int = 30_000) -> pa.Table:
    rng = np.random.default_rng(20261125)
    end = day_start(AS_OF + dt.timedelta(days=1))
    offsets = rng.integers(0, 200 * 86_400 * 1_000_000, n)  # microseconds before the end of the as-of day
    times = [end - dt.timedelta(microseconds=int(x)) for x in offsets]
    # Instants a hair either side of Japanese midnights, where rounding mistakes would show.
    for i, days in enumerate(range(0, 40)):
        times[i] = day_start(AS_OF - dt.timedelta(days=days)) - dt.timedelta(microseconds=1 + i % 2 * 499_999)
        times[n - 1 - i] = day_start(AS_OF - dt.timedelta(days=days))
    kinds = rng.choice(KINDS, n)
    values = [
        Decimal(int(v)) / 100 if k in ("booking", "purchase") else None
        for v, k in zip(rng.integers(100, 5_000_000, n), kinds, strict=True)
    ]
    end_users = rng.integers(1, 400, n)
    return pa.table(
        {
            "id": pa.array(np.arange(1, n + 1), pa.int64()),
            "source": pa.array(["test"] * n),
            "account_id": pa.array(rng.integers(1, 60, n), pa.int64()),
            "end_user_id": pa.array(
                [
                    None if k in ("login", "search") and u % 3 == 0 else int(u)
                    for k, u in zip(kinds, end_users, strict=True)
                ],
                pa.int64(),
            ),
            "kind": pa.array(kinds, pa.string()),
            "occurred_at": pa.array(times, pa.timestamp("us", "UTC")),
            "value": pa.array(values, pa.decimal128(18, 4)),
        }
    )


@pytest.fixture(scope="module")
def events(tmp_path_factory):
    return random_events()


@pytest.fixture(scope="module")
def backends(events, tmp_path_factory):
    root = tmp_path_factory.mktemp("lake")
    lake.append(events, root=root)
    table = f"banso_test_events_{uuid.uuid4().hex[:8]}"
    postgres = PostgresBackend(PG_URL, table)
    postgres.con.create_table(table, events)
    try:
        yield {"duckdb": DuckDBBackend(root=root), "postgres": postgres, "pyspark": SparkBackend(root=root)}
    finally:
        postgres.con.drop_table(table, force=True)


def rows(table: pa.Table) -> list[dict]:
    return table.sort_by("subject_id").to_pylist()


@pytest.mark.parametrize("subject", ["account", "end_user"])
def test_every_catalogue_metric_is_identical_on_duckdb_postgresql_and_spark(backends, subject):
    metrics = {m.key: m.spec for m in BUILTIN if m.spec.subject == subject}
    if subject == "end_user":
        metrics |= EXTRA
    results = {
        name: rows(metric_table(backend.events(), metrics, subject, AS_OF).to_pyarrow())
        for name, backend in backends.items()
    }
    assert len(results["duckdb"]) > 50
    assert any(
        row["days_since_login" if subject == "account" else "eu_days_since_visit"] == 0 for row in results["duckdb"]
    )
    assert results["postgres"] == results["duckdb"]
    assert results["pyspark"] == results["duckdb"]


def test_a_segment_with_metrics_and_attributes_selects_the_same_members_everywhere(backends):
    rules = parse_segment(
        {
            "subject": "account",
            "rules": {
                "match": "any",
                "rules": [
                    {
                        "type": "group",
                        "rules": [
                            {"type": "metric", "metric": "days_since_login", "op": "gte", "value": 3},
                            {"type": "attribute", "field": "tier", "op": "in", "value": ["high", "mid"]},
                        ],
                    },
                    {"type": "metric", "metric": "usage_trend_30d", "op": "lt", "value": -10},
                    {"type": "attribute", "field": "attributes.plan_size", "op": "gt", "value": 45},
                ],
            },
        }
    ).rules
    plan = plan_segment(rules, {m.key: m.spec for m in BUILTIN})
    subjects = pa.table(
        {
            "subject_id": pa.array(range(1, 80), pa.int64()),
            "a0": pa.array([None if i % 11 == 0 else float(i) for i in range(1, 80)], pa.float64()),
            "a1": pa.array([["high", "mid", "low"][i % 3] for i in range(1, 80)]),
        }
    )
    found = {}
    for name, backend in backends.items():
        members = segment_members(
            plan,
            backend.events(),
            "account",
            AS_OF,
            backend.upload(subjects),
            {"attributes.plan_size": "a0", "tier": "a1"},
        )
        found[name] = sorted(members.to_pyarrow()["subject_id"].to_pylist())
    assert 5 < len(found["duckdb"]) < 79
    assert found["postgres"] == found["duckdb"]
    assert found["pyspark"] == found["duckdb"]
