"""Helpers shared by the benchmarks: the benchmark database, and demo data built once and reused.

Benchmarks that want PostgreSQL by default call `default_postgres(name, scale)`: without `--database` it
creates the database if needed and runs the same benchmark again in a child process pointed at it (the
settings are read once per process). `ensure_demo` builds the seeded demo workspace at the asked size,
or keeps what the database already holds when it is the same size.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BENCH_SEED = 20240401
BENCH_TODAY = date(2026, 11, 1)  # a fixed reference date keeps cached bench data valid across days
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/{name}"


def log(message: str) -> None:
    sys.stderr.write(f"[bench] {message}\n")
    sys.stderr.flush()


def ensure_postgres_database(url: str) -> None:
    """Create the PostgreSQL database named in `url` if it does not exist yet."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            log(f"creating database {name}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def default_postgres(bench: str, scale: float, database: str = "banso_bench") -> dict[str, Any] | None:
    """Without `--database`, run this benchmark again against PostgreSQL and return its figures.

    Returns None when a database was chosen (DATABASE_URL is set): the caller goes on in this process.
    """
    if os.environ.get("DATABASE_URL"):
        return None
    url = DEFAULT_POSTGRES.format(name=database)
    ensure_postgres_database(url)
    log(f"no --database given: running against {url}")
    child = subprocess.run(
        [sys.executable, "-m", "banso.cli", "bench", bench, "--scale", str(scale), "--database", url],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    lines = [line for line in child.stdout.splitlines() if line.strip()]
    return dict(json.loads(lines[-1]))


def prepare_database() -> str:
    """Create (PostgreSQL) and migrate the chosen database; returns its vendor."""
    from django.core.management import call_command
    from django.db import connection

    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        ensure_postgres_database(url)
    call_command("migrate", verbosity=0)
    return connection.vendor


def demo_counts() -> tuple[int, int]:
    from banso.accounts.models import Account
    from banso.activity.models import Event
    from banso.core.demo import DEMO_SOURCE

    return Account.objects.filter(source=DEMO_SOURCE).count(), Event.objects.filter(source=DEMO_SOURCE).count()


def ensure_demo(
    accounts: int, events: int, only: tuple[str, ...] | None = None, min_events: int | None = None
) -> dict[str, Any]:
    """The demo workspace with `accounts` accounts and about `events` events, built unless already there.

    `only`: build just these apps' demo parts (e.g. the records and events a benchmark needs, not the
    scorecards or models that it measures itself). `min_events`: reuse only data with at least that many
    events (the generator lands near, not at, its target)."""
    from django.db import connection

    from banso.core.demo import DemoContext, Progress
    from banso.core.management.commands.demo import default_csms, run_demo

    have_accounts, have_events = demo_counts()
    close = abs(have_events - events) <= 0.2 * max(events, 1) if min_events is None else have_events >= min_events
    if have_accounts == accounts and close:
        log(f"reusing the demo data in the database: {have_accounts:,} accounts, {have_events:,} events")
        return {"accounts": have_accounts, "events": have_events, "cached": True, "build_seconds": 0.0}
    log(f"building demo data: {accounts:,} accounts, ~{events:,} events (found {have_accounts:,}/{have_events:,})")
    started = time.monotonic()
    ctx = DemoContext(
        seed=BENCH_SEED,
        accounts=accounts,
        csms=default_csms(accounts),
        today=BENCH_TODAY,
        events_target=events,
        reset=True,
        progress=Progress(),
    )
    run_demo(ctx, only)
    if connection.vendor == "postgresql":
        log("VACUUM ANALYZE")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    build_seconds = time.monotonic() - started
    have_accounts, have_events = demo_counts()
    return {"accounts": have_accounts, "events": have_events, "cached": False, "build_seconds": build_seconds}


def other_area(name: str, keys: tuple[str, ...], scale: float) -> dict[str, Any]:
    """Another area's part of the benchmark (bench/<name>.py: run(scale) -> dict), or nulls when it is missing."""
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    try:
        module = importlib.import_module(name)
    except ImportError:
        log(f"{name}.py not found: {', '.join(keys)} reported as null")
        return dict.fromkeys(keys)
    result = dict(module.run(scale))
    return {key: result.get(key) for key in keys} | {k: v for k, v in result.items() if k not in keys}
