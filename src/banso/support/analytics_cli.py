"""`banso support ...` actions of the analytics area (see management/commands/support.py):
`categories-import FILE`, `analytics [--from --to --grain --xlsx F]`, `classifier-train`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import translation


def add_actions(actions: Any) -> None:
    """Register this area's subcommands on `actions` (argparse subparsers)."""
    parser = actions.add_parser(
        "categories-import", help="Import the service-category tree from CSV/XLSX (code, name, parent_code)."
    )
    parser.add_argument("file", help="CSV (UTF-8 or cp932) or XLSX file")
    parser.set_defaults(run=run_import)

    parser = actions.add_parser("analytics", help="Inquiry analytics for a period (summary, JSON or XLSX).")
    parser.add_argument("--from", dest="date_from", help="first day YYYY-MM-DD (default: 12 weeks ago)")
    parser.add_argument("--to", dest="date_to", help="last day YYYY-MM-DD (default: today)")
    parser.add_argument("--grain", choices=("day", "week", "month"), default="week")
    parser.add_argument("--xlsx", help="write the workbook to this file")
    parser.add_argument("--json", dest="as_json", action="store_true", help="print the whole report as JSON")
    parser.set_defaults(run=run_analytics)

    parser = actions.add_parser("classifier-train", help="Train the inquiry-type classifier now.")
    parser.set_defaults(run=run_train)


def run_import(command: Any, *, file: str, **_options: Any) -> None:
    from .categories import CategoryImportError, import_categories

    path = Path(file)
    if not path.is_file():
        raise CommandError(f"No such file: {file}")
    try:
        result = import_categories(path.read_bytes(), path.name)
    except CategoryImportError as error:
        lines = "\n".join(f"  row {row}: {message}" for row, message in error.errors)
        raise CommandError(f"{path.name} was not imported (nothing changed):\n{lines}") from None
    command.stdout.write(
        f"{result.rows:,} rows: {result.created:,} new, {result.updated:,} changed, {result.unchanged:,} unchanged"
    )


def run_analytics(
    command: Any,
    *,
    date_from: str | None = None,
    date_to: str | None = None,
    grain: str = "week",
    xlsx: str | None = None,
    as_json: bool = False,
    **_options: Any,
) -> None:
    from . import analytics
    from .desk import DeskError

    try:
        period = analytics.parse_period(date_from, date_to, grain)
    except DeskError as error:
        raise CommandError(f"--{error.field}: {error.message}") from None
    with translation.override(settings.LANGUAGE_CODE):
        data = analytics.report(period)
        if xlsx:
            Path(xlsx).write_bytes(analytics.workbook(data))
    if as_json:
        command.stdout.write(_dumps(analytics.as_json(data)))
        return
    vol, resp, bot = data["volume"], data["response"]["overall"], data["chatbot"]
    rate = f"{bot['rate']:.1%}" if bot["rate"] is not None else "-"
    command.stdout.write(
        f"{period.start} – {period.end}: {vol['total']:,} inquiries; first response median "
        f"{_m(resp['first']['median'])} (p90 {_m(resp['first']['p90'])}), resolution median "
        f"{_m(resp['resolution']['median'])} business minutes; chatbot self-resolution {rate}"
    )
    for row in vol["by_type"][:10]:
        command.stdout.write(f"  {row['count']:>7,}  {row['name']}")
    if xlsx:
        command.stdout.write(f"wrote {xlsx}")


def _m(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1, default=str)


def run_train(command: Any, **_options: Any) -> None:
    from .classify import ClassifierError, train

    try:
        run = train(progress=lambda p, text: command.stderr.write(f"{p:3d}% {text}"))
    except ClassifierError as error:
        raise CommandError(str(error)) from None
    command.stdout.write(
        f"trained on {run.samples:,} inquiries, {run.types} types: accuracy {run.accuracy:.3f}, "
        f"macro F1 {run.macro_f1:.3f} ({run.path})"
    )
