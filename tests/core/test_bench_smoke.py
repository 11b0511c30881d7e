"""The benchmarks start and print their JSON line at a tiny scale on SQLite (figures are not checked here)."""

import json
import os
import subprocess
import sys

REQUIRED = {"accounts", "events", "account_list_p95_ms", "account_360_p95_ms", "database"}


def _sqlite(tmp_path):
    return "--database", f"sqlite:///{tmp_path / 'bench.sqlite3'}"


def test_bench_web_smoke(tmp_path):
    figures = _run_bench("web", tmp_path, 120, *_sqlite(tmp_path))
    assert figures.keys() >= REQUIRED
    assert figures["database"] == "sqlite"
    assert figures["accounts"] == 100
    assert figures["errors"] == 0
    assert figures["account_list_p95_ms"] > 0 and figures["account_360_p95_ms"] > 0


def test_bench_import_smoke(tmp_path):
    env = {**os.environ, "BANSO_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "banso.cli", "bench", "import", "--scale", "0.001"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures.keys() >= {"rows", "rows_per_s", "peak_rss_mib"}
    assert figures["rows"] == 1000
    assert figures["rows_per_s"] > 0 and figures["peak_rss_mib"] > 0


def _run_bench(name, tmp_path, timeout=120, *options):
    env = {**os.environ, "BANSO_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "banso.cli", "bench", name, "--scale", "0.001", *options],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_bench_metrics_smoke(tmp_path):
    figures = _run_bench("metrics", tmp_path)
    assert figures.keys() >= {"accounts", "events", "metrics", "seconds", "peak_rss_mib", "pandas_seconds"}
    assert "ratio_vs_pandas" in figures
    assert (figures["accounts"], figures["events"], figures["metrics"]) == (100, 50_000, 20)
    assert figures["baseline"] == "ok" and figures["results_match"] is True
    assert figures["values_written"] == figures["values_stored"] > 0


def test_bench_segment_smoke(tmp_path):
    figures = _run_bench("segment", tmp_path)
    assert figures.keys() >= {"end_users", "events", "seconds", "pandas_seconds", "ratio_vs_pandas"}
    assert figures["end_users"] == 5_000 and figures["visits"] == 200_000
    assert figures["baseline"] == "ok" and figures["results_match"] is True
    assert figures["members"] == figures["pandas_members"] > 0


def test_bench_coverage_smoke(tmp_path):
    figures = _run_bench("coverage", tmp_path, 120, *_sqlite(tmp_path))
    assert figures.keys() >= {"accounts", "csms", "seconds", "targets", "peak_rss_mib", "database"}
    assert (figures["accounts"], figures["csms"], figures["database"]) == (200, 2, "sqlite")
    assert 0 < figures["targets"] <= figures["accounts"]


def test_bench_playbooks_smoke(tmp_path):
    figures = _run_bench("playbooks", tmp_path, 180, *_sqlite(tmp_path))
    assert figures.keys() >= {"accounts", "trigger_seconds", "emails_per_s", "runs_started", "database"}
    assert (figures["accounts"], figures["playbooks"], figures["database"]) == (100, 11, "sqlite")
    assert figures["runs_started"] > 0 and figures["repeat_runs_started"] == 0


def test_bench_funnels_smoke(tmp_path):
    figures = _run_bench("funnels", tmp_path, 180, *_sqlite(tmp_path))
    assert figures.keys() >= {"clients", "events", "seconds", "query_seconds", "write_seconds", "peak_rss_mib"}
    assert (figures["clients"], figures["database"]) == (50, "sqlite")
    assert figures["events"] == 20_000
    assert figures["rows_stored"] == 50 and 0 < figures["bottlenecks"] <= 50
