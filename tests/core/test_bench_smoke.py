"""The benchmarks start and print their JSON line at a tiny scale on SQLite (figures are not checked here)."""

import json
import os
import subprocess
import sys

REQUIRED = {"accounts", "events", "account_list_p95_ms", "account_360_p95_ms", "database"}


def test_bench_web_smoke(tmp_path):
    env = {**os.environ, "BANSO_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    database = f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "-m", "banso.cli", "bench", "web", "--scale", "0.001", "--database", database],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
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
