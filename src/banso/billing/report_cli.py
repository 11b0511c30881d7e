"""`banso billing report --month YYYY-MM -o FILE.xlsx|FILE.pdf`: the merchant monthly report as a file
(see management/commands/billing.py). Without -o it prints the headline figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import translation

from banso.accounts.services import parse_month


def add_actions(actions: Any) -> None:
    """Register this area's subcommands on `actions` (argparse subparsers)."""
    parser = actions.add_parser("report", help="The merchant monthly report as XLSX or PDF (default: last month).")
    parser.add_argument("--month", help="YYYY-MM (default: last month)")
    parser.add_argument("-o", "--output", help="file to write: .xlsx or .pdf")
    parser.set_defaults(run=run)


def run(command: Any, *, month: str | None = None, output: str | None = None, **_options: Any) -> None:
    from . import report_exports, reports

    if month:
        try:
            first = parse_month(month)[0]
        except ValueError:
            raise CommandError(f"--month: not a month (YYYY-MM): {month!r}") from None
    else:
        first = reports.default_month()
    path = Path(output) if output else None
    if path is not None and path.suffix.lower() not in (".xlsx", ".pdf"):
        raise CommandError(f"-o: write a .xlsx or .pdf file, not {path.name!r}")
    with translation.override(settings.LANGUAGE_CODE):
        report = reports.build(first)
        if path is None:
            t = report.totals.current
            command.stdout.write(
                f"{first:%Y-%m}: bookings {t.bookings:,}, guests {t.guests:,}, sales ¥{t.sales:,}, "
                f"merchants {len(report.merchants):,}, new members {report.new_members:,}"
            )
            return
        body = report_exports.workbook(report) if path.suffix.lower() == ".xlsx" else report_exports.pdf(report)
    path.write_bytes(body)
    command.stdout.write(f"{path} ({len(body):,} bytes)")
