"""`banso health <action>`: scorecards and health scores from the command line.

banso health rescore [--as-of YYYY-MM-DD]            score every account with its card for one day
banso health rescore --from YYYY-MM-DD --to YYYY-MM-DD  every day of a range (backfills trends)
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from banso.analytics.backends import BackendError, get_backend
from banso.health import services, survey_cli

BACKENDS = ("duckdb", "postgres", "pyspark", "url")


def _day(option: str, text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"{option}: {error}") from error


class Command(BaseCommand):
    help = "Health: rescore accounts with their scorecards."

    def add_arguments(self, parser: CommandParser) -> None:
        self.actions = parser.add_subparsers(dest="action", required=True, metavar="action")
        rescore = self.actions.add_parser("rescore", help="score every account for a day or a range of days")
        rescore.add_argument("--as-of", default=None, help="the day, YYYY-MM-DD (default: today)")
        rescore.add_argument("--from", dest="start", default=None, help="first day of a range, YYYY-MM-DD")
        rescore.add_argument("--to", dest="end", default=None, help="last day of a range (default: today)")
        rescore.add_argument("--backend", choices=BACKENDS, default=None, help="engine (default: the setting)")
        survey_cli.add_parser(self.actions)  # banso health surveys list|send|resume (see health/survey_cli.py)

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(**options)

    def _surveys(self, **options: Any) -> None:
        survey_cli.run(options, self.stdout.write, self._echo)

    def _echo(self, line: str) -> None:
        self.stderr.write(line)
        self.stderr.flush()

    def _rescore(
        self, *, as_of: str | None, start: str | None, end: str | None, backend: str | None, **options: Any
    ) -> None:
        if as_of and (start or end):
            raise CommandError("--as-of: give either --as-of or --from/--to, not both")
        if end and not start:
            raise CommandError("--to: give --from as well")
        today = timezone.localdate()
        if start:
            first, last = _day("--from", start), _day("--to", end) if end else today
            if first > last:
                raise CommandError("--from: must not be after --to")
        else:
            first = last = _day("--as-of", as_of) if as_of else today
        try:
            engine = get_backend(backend)
        except BackendError as error:
            raise CommandError(str(error)) from error
        day = first
        while day <= last:
            started = time.perf_counter()
            try:
                run = services.rescore(day, engine, echo=self._echo if first == last else None)
            except Exception as error:
                raise CommandError(f"{day}: {type(error).__name__}: {error}") from error
            self.stdout.write(
                f"{day}: {run.accounts_scored:,} accounts scored in {time.perf_counter() - started:.1f} s"
            )
            day += dt.timedelta(days=1)
