"""`banso bench import`: import 1,000,000 events from CSV through the same engine as `banso import`.

Issue: at least 100,000 rows/s on one core with peak memory under 1 GiB. The CSV (seeded, cached under
bench/.cache/) references 10,000 accounts and 50,000 end users of source "bench". Each repetition runs in
a fresh child process pinned to one CPU (polars limited to one thread) against an empty event table:
on SQLite a copy of a migrated, seeded template file under bench/.cache/ (never var/banso.sqlite3), on
PostgreSQL the `--database` given (created if missing; the bench's own events are deleted before each
run). The child times `import_path("events", …)` (read, decode, check, write, commit) and reports its
peak RSS (ru_maxrss). Medians over 3 repetitions when a run takes under 10 s.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

FULL_EVENTS = 1_000_000
SOURCE = "bench"
SEED = 20240401
CACHE = Path(__file__).resolve().parent / ".cache"
KINDS = ["login", "page_view", "search", "booking", "inquiry", "survey_answer"]


def log(message: str) -> None:
    sys.stderr.write(f"[bench import] {message}\n")
    sys.stderr.flush()


def sizes(events: int) -> tuple[int, int]:
    return max(10, events // 100), max(10, events // 20)


def events_csv(events: int) -> Path:
    """The seeded events file (UTF-8, as an exporting system writes it), built once per size."""
    import numpy as np
    import polars as pl

    path = CACHE / f"events-{events}.csv"
    if path.exists():
        return path
    log(f"generating {events:,} events → {path}")
    CACHE.mkdir(parents=True, exist_ok=True)
    accounts, end_users = sizes(events)
    rng = np.random.default_rng(SEED)
    start = np.datetime64("2025-04-01T00:00:00")
    seconds = np.sort(rng.integers(0, 365 * 86400, events))
    kind = rng.integers(0, len(KINDS), events)
    account = rng.integers(0, accounts, events)
    user = rng.integers(0, end_users, events)
    has_user = rng.random(events) < 0.7
    frame = pl.DataFrame(
        {
            "external_id": [f"ev-{i:09d}" for i in range(events)],
            "account": [f"A{a:06d}" for a in account],
            "end_user": [f"U{u:07d}" if h else None for u, h in zip(user, has_user, strict=True)],
            "kind": [KINDS[k] for k in kind],
            "occurred_at": (start + seconds.astype("timedelta64[s]")).astype("datetime64[us]"),
            "value": [f"{v}" if k == 3 else None for v, k in zip(rng.integers(500, 50000, events), kind, strict=True)],
            "properties": [f'{{"page": "/p/{p}"}}' for p in rng.integers(0, 5000, events)],
        }
    ).with_columns(pl.col("occurred_at").dt.strftime("%Y-%m-%d %H:%M:%S"))
    tmp = path.with_suffix(".tmp")
    frame.write_csv(tmp)
    tmp.replace(path)
    return path


def _references_csv(events: int) -> tuple[bytes, bytes]:
    accounts, end_users = sizes(events)
    account_rows = "\n".join(f"A{i:06d},ベンチ顧客{i},べんちこきゃく{i}" for i in range(accounts))
    user_rows = "\n".join(f"U{i:07d},会員{i}" for i in range(end_users))
    return (
        f"external_id,name,name_kana\n{account_rows}\n".encode(),
        f"external_id,name\n{user_rows}\n".encode(),
    )


# ------------------------------------------------------------------------------------------ child process


def _child_setup(events: int) -> None:
    """Migrate and seed the accounts and end users the events reference (idempotent)."""
    from django.core.management import call_command

    from banso.activity.importing import import_bytes

    call_command("migrate", verbosity=0)
    accounts, users = _references_csv(events)
    import_bytes("accounts", SOURCE, accounts, "accounts.csv")
    import_bytes("end_users", SOURCE, users, "end_users.csv")


def _child_run(csv_path: Path) -> dict[str, Any]:
    import resource

    from banso.activity.models import Event, ImportStatus
    from banso.activity.services import import_path

    Event.objects.filter(source=SOURCE).delete()
    last = [0.0]

    def echo(done: int, total: int) -> None:
        now = time.perf_counter()
        if done >= total or now - last[0] > 1:
            last[0] = now
            log(f"  {done:,}/{total:,} rows written")

    started = time.perf_counter()
    job = import_path("events", csv_path, SOURCE, echo=echo)
    seconds = time.perf_counter() - started
    if job.status != ImportStatus.SUCCEEDED:
        raise SystemExit(f"import refused: {job.errors[:5]}")
    return {
        "rows": job.total_rows,
        "created": job.created_count,
        "seconds": seconds,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _child(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "banso.settings")
    import django

    django.setup()
    if argv[0] == "--setup":
        _child_setup(int(argv[1]))
    else:
        print(json.dumps(_child_run(Path(argv[0]))))


# ------------------------------------------------------------------------------------------ parent


def _spawn(args: list[str], database_url: str, *, pin: bool) -> str:
    env = dict(os.environ, DATABASE_URL=database_url, POLARS_MAX_THREADS="1" if pin else "")
    if not pin:
        env.pop("POLARS_MAX_THREADS")
    env.setdefault("BANSO_VAR_DIR", str(CACHE / "var"))
    command = [sys.executable, __file__, *args]
    if pin and shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, check=True)
    return done.stdout


def _database(events: int) -> tuple[str, str, Path | None]:
    """(url, vendor, template file): a throwaway SQLite file, or the PostgreSQL database asked for."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("postgresql"):
        url = os.environ["DATABASE_URL"]
        from _data import ensure_postgres_database

        ensure_postgres_database(url)
        return url, "postgresql", None
    template = CACHE / f"import-template-{events}.sqlite3"
    return f"sqlite:///{CACHE / 'import-bench.sqlite3'}", "sqlite", template


def run(scale: float = 1.0) -> dict[str, Any]:
    events = max(1000, round(FULL_EVENTS * scale))
    csv_path = events_csv(events)
    url, vendor, template = _database(events)
    if template is not None:
        if not template.exists():
            log(f"building the SQLite template {template.name}")
            _spawn(["--setup", str(events)], f"sqlite:///{template}", pin=False)
        target = Path(url.removeprefix("sqlite:///"))
    else:
        log(f"migrating and seeding {url}")
        _spawn(["--setup", str(events)], url, pin=False)
        target = None

    runs: list[dict[str, Any]] = []
    while True:
        if template is not None and target is not None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(template, target)
        log(f"run {len(runs) + 1}: importing {events:,} events into {vendor}")
        figures = json.loads(_spawn([str(csv_path)], url, pin=True).strip().splitlines()[-1])
        log(f"run {len(runs) + 1}: {figures['seconds']:.2f} s, peak RSS {figures['peak_rss_mib']:.0f} MiB")
        runs.append(figures)
        if figures["seconds"] >= 10 or len(runs) >= 3:
            break
    seconds = statistics.median(r["seconds"] for r in runs)
    return {
        "rows": runs[0]["rows"],
        "rows_per_s": round(runs[0]["rows"] / seconds),
        "seconds": round(seconds, 3),
        "peak_rss_mib": round(max(r["peak_rss_mib"] for r in runs), 1),
        "repetitions": len(runs),
        "database": vendor,
        "cpus": 1,
    }


if __name__ == "__main__":
    _child(sys.argv[1:])
