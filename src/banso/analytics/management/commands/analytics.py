"""`banso analytics <action>`: recompute metrics and segments, keep the event copy, and run the scheduler.

banso analytics recompute [--as-of YYYY-MM-DD] [--backend duckdb|postgres|pyspark|url]
banso analytics sync          copy new events into the Parquet dataset the engine reads
banso analytics compact       merge each month's small Parquet files into one
banso analytics scheduler     every minute, queue the daily recompute once it is due, and every job other apps
                              register in core.schedule (--once: check once)
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections
from django.utils import timezone

from banso.activity import lake
from banso.analytics import services
from banso.analytics.backends import BackendError, get_backend
from banso.core.schedule import scheduled_jobs

log = logging.getLogger("banso.analytics.scheduler")
BACKENDS = ("duckdb", "postgres", "pyspark", "url")


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"--as-of: {error}") from error


def _time(text: str) -> dt.time:
    try:
        return dt.time.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"--at: expected HH:MM, got {text!r}") from error


class Command(BaseCommand):
    help = "Analytics: recompute metrics and segments, sync or compact the event copy, run the daily scheduler."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="action")
        recompute = actions.add_parser("recompute", help="compute every metric and segment now, here")
        recompute.add_argument("--as-of", default=None, help="the day to compute for, YYYY-MM-DD (default: today)")
        recompute.add_argument("--backend", choices=BACKENDS, default=None, help="engine (default: the setting)")
        actions.add_parser("sync", help="copy new events into the Parquet dataset")
        compact = actions.add_parser("compact", help="merge each month's small Parquet files")
        compact.add_argument("--min-files", type=int, default=4, help="merge months with at least this many files")
        scheduler = actions.add_parser("scheduler", help="queue the daily recompute when it is due")
        scheduler.add_argument("--once", action="store_true", help="check once and exit")
        scheduler.add_argument(
            "--at",
            default=settings.BANSO_ANALYTICS_RECOMPUTE_AT,
            help="time of day (Japan) after which the day's recompute is due (default: %(default)s)",
        )
        scheduler.add_argument("--interval", type=float, default=60.0, help="seconds between checks")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(**options)

    def _echo(self, line: str) -> None:
        self.stderr.write(line)
        self.stderr.flush()

    def _recompute(self, *, as_of: str | None, backend: str | None, **options: Any) -> None:
        day = _day(as_of) if as_of else None
        try:
            engine = get_backend(backend)
        except BackendError as error:
            raise CommandError(str(error)) from error
        started = time.perf_counter()
        try:
            run = services.recompute_now(day, engine, echo=self._echo)
        except Exception as error:  # recorded on the run; the shell sees a failure
            raise CommandError(f"recompute failed: {type(error).__name__}: {error}") from error
        self.stdout.write(
            f"Recompute #{run.pk} as of {run.as_of} on {run.backend} in {time.perf_counter() - started:.1f} s: "
            f"{run.events_synced:,} events copied, {run.values_written:,} values changed, "
            f"{run.segments_refreshed:,} segments refreshed"
        )

    def _sync(self, **options: Any) -> None:
        started = time.perf_counter()
        copied = lake.sync(progress=lambda n: self._echo(f"{n:,} events copied"))
        self.stdout.write(
            f"{copied:,} new events copied to {lake.lake_dir()} in {time.perf_counter() - started:.1f} s "
            f"({lake.row_count():,} in total)"
        )

    def _compact(self, *, min_files: int, **options: Any) -> None:
        merged = lake.compact(min_files=min_files)
        self.stdout.write(f"{merged:,} files merged in {lake.lake_dir()}")

    def _scheduler(self, *, once: bool, at: str, interval: float, **options: Any) -> None:
        daily = _time(at)
        if not once:
            self.stdout.write(
                f"Scheduler: the daily recompute is queued after {daily:%H:%M} (Japan time). Ctrl-C stops."
            )
        while True:
            if not once:
                close_old_connections()  # a database restart between checks must not end the loop
            queued = []
            try:
                run = services.due_recompute(at=daily)
                if run is not None:
                    queued.append(f"Queued recompute #{run.pk} as of {run.as_of}")
            except Exception:
                if once:
                    raise
                log.exception("the recompute check failed; trying again in %s s", interval)
            # Jobs other apps register (core.schedule), e.g. the health rescore after the recompute.
            for job in scheduled_jobs():
                try:
                    line = job.due(timezone.now())
                except Exception:
                    if once:
                        raise
                    log.exception("the %s check failed; trying again in %s s", job.name, interval)
                    continue
                if line:
                    queued.append(line)
            for line in queued:
                self.stdout.write(line)
            if once and not queued:
                self.stdout.write("Nothing due")
            if once:
                return
            time.sleep(interval)
