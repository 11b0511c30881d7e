"""Helpers shared by the analytics benchmarks (`metrics`, `segment`).

- `cached_lake`: a seeded event lake (the Parquet dataset of `activity.lake`) under bench/.cache/, built
  once per size into a temporary directory and renamed into place when complete, so an interrupted build
  is never reused and two runs never see each other's half-written files.
- `AppDatabase`: where Banso's part writes. On SQLite a migrated template (rebuilt when the migrations
  change) copied to a throwaway file, fresh for every repetition; never var/banso.sqlite3. On PostgreSQL
  the `--database` given, migrated.
- `run_child`: the timed parts run in child processes (`python bench/<name>.py <role> <json>`), so that
  each reports its own peak RSS (ru_maxrss) and the baseline cannot inflate Banso's. The baseline runs
  under a memory cap (RSS of the child, sampled every 50 ms) and a time limit; hitting either is reported
  as "oom" or "timeout" with the limit, as ../shared/BENCHMARKS.md asks. Each run also reports how much
  of the machine other processes used meanwhile (`other_cpu_share_during_banso`): on 2 cores, someone
  else's test run doubles the times.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

CACHE = Path(__file__).resolve().parent / ".cache"
REPO = Path(__file__).resolve().parent.parent
TOKYO = ZoneInfo("Asia/Tokyo")
COMPLETE = "_bench_complete.json"
GIB = 1024**3
BASELINE_MEMORY_LIMIT = 16 * GIB  # of the machine's 24: the rest keeps the OS and the parent alive
SAMPLE_SECONDS = 0.05


def logger(name: str) -> Callable[[str], None]:
    def log(message: str) -> None:
        sys.stderr.write(f"[bench {name}] {message}\n")
        sys.stderr.flush()

    return log


def day_start(day: dt.date) -> dt.datetime:
    """The instant a Japanese calendar day begins, in UTC."""
    return dt.datetime.combine(day, dt.time(), TOKYO).astimezone(dt.UTC)


def epoch_us(moment: dt.datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


# ------------------------------------------------------------------------------------------ the lake


def cached_lake(name: str, build: Callable[[Path], dict[str, Any]], log: Callable[[str], None]) -> tuple[Path, bool]:
    """(root, reused): the lake `name` under bench/.cache/, built by `build(root)` unless already complete.

    `build` writes with `activity.lake.append` and returns what it wrote (kept in the completion marker).
    """
    final = CACHE / name
    if (final / COMPLETE).exists():
        return final, True
    import psutil

    CACHE.mkdir(parents=True, exist_ok=True)
    for stale in CACHE.glob(f".{name}.*.tmp"):  # left by a build that was killed (a full lake is gigabytes)
        pid = stale.name.removeprefix(f".{name}.").removesuffix(".tmp")
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    temporary = CACHE / f".{name}.{os.getpid()}.tmp"
    shutil.rmtree(temporary, ignore_errors=True)
    started = time.monotonic()
    facts = build(temporary)
    facts["build_seconds"] = round(time.monotonic() - started, 1)
    (temporary / COMPLETE).write_text(json.dumps(facts))
    if final.exists() and not (final / COMPLETE).exists():
        shutil.rmtree(final)  # a build interrupted before the rename below cannot leave this, but be sure
    try:
        os.rename(temporary, final)
    except OSError:
        if not (final / COMPLETE).exists():
            raise
        shutil.rmtree(temporary)  # another run finished the same (deterministic) lake first
    log(f"lake {name} built in {facts['build_seconds']} s")
    return final, False


def lake_facts(root: Path) -> dict[str, Any]:
    return dict(json.loads((root / COMPLETE).read_text()))


def lake_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in root.glob("month=*/*.parquet"))


def lake_files(root: Path, since_month: str | None = None) -> list[str]:
    """The live files the manifest lists (what `lake.files` returns), read without Django."""
    manifest = json.loads((root / "_manifest.json").read_text())
    return [str(root / e["path"]) for e in manifest["files"] if since_month is None or e["month"] >= since_month]


# ------------------------------------------------------------------------------------------ the app database


def _migrations_key() -> str:
    digest = hashlib.sha256()
    for path in sorted((REPO / "src" / "banso").glob("*/migrations/*.py")):
        digest.update(path.relative_to(REPO).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@dataclass
class AppDatabase:
    """The app database a benchmark's Banso part uses (see the module docstring)."""

    url: str
    vendor: str
    template: Path | None = None

    @classmethod
    def choose(cls, bench: str, log: Callable[[str], None]) -> AppDatabase:
        from django.conf import settings

        if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
            from _data import prepare_database

            log("migrating the PostgreSQL database given")
            prepare_database()
            return cls(os.environ["DATABASE_URL"], "postgresql")
        template = CACHE / f"app-template-{_migrations_key()}.sqlite3"
        if not template.exists():
            log(f"building the migrated SQLite template {template.name}")
            CACHE.mkdir(parents=True, exist_ok=True)
            building = template.with_name(f".{template.name}.{os.getpid()}.tmp")
            env = dict(os.environ, DATABASE_URL=f"sqlite:///{building}")
            env.setdefault("BANSO_VAR_DIR", str(CACHE / "var"))
            subprocess.run([sys.executable, "-m", "banso.cli", "migrate", "--verbosity", "0"], env=env, check=True)
            os.replace(building, template)
        work = CACHE / f"{bench}-app-{os.getpid()}.sqlite3"
        return cls(f"sqlite:///{work}", "sqlite", template)

    @property
    def work_file(self) -> Path | None:
        return None if self.template is None else Path(self.url.removeprefix("sqlite:///"))

    def fresh(self) -> None:
        """Inside a Django child: start from the empty migrated database (SQLite: a new copy of the template)."""
        if self.template is None or self.work_file is None:
            return
        from django.db import connection

        connection.close()
        self.remove()
        shutil.copyfile(self.template, self.work_file)

    def remove(self) -> None:
        if self.work_file is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.work_file}{suffix}").unlink(missing_ok=True)

    def as_args(self) -> dict[str, Any]:
        return {"url": self.url, "vendor": self.vendor, "template": str(self.template) if self.template else None}

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> AppDatabase:
        return cls(args["url"], args["vendor"], Path(args["template"]) if args["template"] else None)


# ------------------------------------------------------------------------------------------ child processes


@dataclass
class ChildResult:
    status: str  # "ok", "oom" or "timeout" (a child failing otherwise raises)
    figures: dict[str, Any]
    wall_seconds: float
    peak_rss_mib: float  # sampled by the parent (the child's own ru_maxrss is in figures when it finished)
    # Of the machine's CPU time while the child ran, the share other processes used: anything above a few
    # percent means the figures were taken on a busy machine. On PostgreSQL it includes the server's work.
    other_cpu_share: float


def _busy_seconds() -> float:
    import psutil

    times = psutil.cpu_times()
    return float(times.user + times.nice + times.system + getattr(times, "irq", 0) + getattr(times, "softirq", 0))


def _children_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_child(
    script: str,
    role: str,
    args: dict[str, Any],
    *,
    database: AppDatabase | None = None,
    memory_limit: int | None = None,
    timeout: float | None = None,
) -> ChildResult:
    """Run `python <script> <role> <json args>`; its last stdout line is its JSON figures.

    With `memory_limit`, the child is killed when its RSS passes it ("oom"); with `timeout`, when it runs
    longer ("timeout"). A child that fails otherwise raises, since that is a bug in the benchmark.
    """
    import psutil

    env = dict(os.environ)
    env.setdefault("BANSO_VAR_DIR", str(CACHE / "var"))
    env["DJANGO_SETTINGS_MODULE"] = "banso.settings"
    if database is not None:
        env["DATABASE_URL"] = database.url
    command = [sys.executable, script, role, json.dumps(args)]
    started, busy, ours = time.monotonic(), _busy_seconds(), _children_seconds()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    process = psutil.Process(child.pid)
    peak, status = 0, "ok"
    while child.poll() is None:
        try:
            rss = process.memory_info().rss
        except psutil.Error:
            rss = 0
        peak = max(peak, rss)
        elapsed = time.monotonic() - started
        if memory_limit is not None and rss > memory_limit:
            status = "oom"
        elif timeout is not None and elapsed > timeout:
            status = "timeout"
        if status != "ok":
            child.kill()
            child.wait()
            break
        time.sleep(SAMPLE_SECONDS)
    wall = time.monotonic() - started
    # Busy CPU time of the whole machine minus the child's (and this process's sampling, a few ms).
    other = (_busy_seconds() - busy) - (_children_seconds() - ours)
    other_share = max(0.0, other) / (wall * (os.cpu_count() or 1))
    output = child.stdout.read() if child.stdout else ""
    if child.stdout:
        child.stdout.close()
    lines = [line for line in output.splitlines() if line.strip()]
    figures: dict[str, Any] = json.loads(lines[-1]) if status == "ok" and lines else {}
    if status == "ok" and figures.get("error") == "oom":
        status = "oom"  # MemoryError inside the child
    elif status == "ok" and child.returncode == -9 and memory_limit is not None:
        status = "oom"  # the kernel's OOM killer
    elif status == "ok" and child.returncode != 0:
        raise RuntimeError(f"{Path(script).name} {role} exited with {child.returncode}")
    return ChildResult(status, figures, wall, peak / 2**20, round(other_share, 3))


def child_main(argv: list[str], roles: dict[str, Callable[[dict[str, Any]], dict[str, Any]]]) -> None:
    """The entry point of a benchmark file run as a child: `<role> <json args>`."""
    role, args = argv[0], json.loads(argv[1])
    if role.startswith("banso"):
        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "banso.settings")
        django.setup()
    try:
        figures = roles[role](args)
    except MemoryError:
        figures = {"error": "oom"}
    figures.setdefault("child_peak_rss_mib", round(peak_rss_mib(), 1))
    sys.stdout.write(json.dumps(figures) + "\n")
    sys.stdout.flush()


def peak_rss_mib() -> float:
    """This process's peak resident set so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------------------ repetitions


def repeat(run_once: Callable[[], float], *, at_least: int = 3, slow: float = 10.0) -> list[float]:
    """Time `run_once` (it returns its own seconds) `at_least` times, or once when that took `slow` s or more."""
    times: list[float] = []
    while len(times) < at_least:
        times.append(run_once())
        if times[-1] >= slow:
            break
    return times


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def ratio(baseline: float | None, banso: float) -> float | None:
    return None if baseline is None or banso <= 0 else round(baseline / banso, 2)
