"""`banso churn <action>`: churn analysis from the command line.

banso churn export --from YYYY-MM --to YYYY-MM -o file.xlsx   the churn analysis of a period as an XLSX workbook
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


def _month(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text + "-01" if len(text) == 7 else text).replace(day=1)
    except ValueError as error:
        raise CommandError(f"{option}: expected YYYY-MM, got {text!r}") from error


class Command(BaseCommand):
    help = "Churn: export the churn analysis of a period."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="action")
        export = actions.add_parser("export", help="write the churn analysis of a period to an XLSX workbook")
        export.add_argument("--from", dest="start", default=None, help="first month, YYYY-MM (default: 24 months ago)")
        export.add_argument("--to", dest="end", default=None, help="last month, YYYY-MM (default: this month)")
        export.add_argument("--tier", default="", help="only accounts of this touch tier")
        export.add_argument("--industry", default="", help="only accounts of this industry")
        export.add_argument("--owner", default="", help="only accounts of this owner (user id)")
        export.add_argument("-o", "--output", required=True, help="the .xlsx file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(**options)

    def _export(
        self, *, start: str | None, end: str | None, tier: str, industry: str, owner: str, output: str, **_: Any
    ) -> None:
        from banso.churn import analysis, exports

        period = analysis.default_period()
        first = _month(start, "--from") if start else period.start
        last = _month(end, "--to") if end else period.end
        if last < first:
            raise CommandError("--to: the last month is before the first")
        filters = analysis.Filters(tier=tier, industry=industry, owner_id=int(owner) if owner else None)
        result = analysis.analyse(analysis.Period(first, last), filters)
        Path(output).write_bytes(exports.workbook_bytes(result))
        self.stdout.write(f"{output}: {len(result.months)} months, {result.churned_accounts} churned accounts")
