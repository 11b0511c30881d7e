"""`banso billing reconcile …`: import PAY.JP or bank files, match a month, fetch from PAY.JP's API.

banso billing reconcile import --kind payjp|bank FILE
banso billing reconcile match [--month YYYY-MM]
banso billing reconcile fetch --since YYYY-MM-DD   (secret key from BANSO_PAYJP_SECRET_KEY)
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import translation

from banso.accounts.services import parse_month
from banso.activity.importing import ImportRefused

from . import reconcile
from .payjp import TOKYO

KEY_ENV = "BANSO_PAYJP_SECRET_KEY"


def add_actions(actions: Any) -> None:
    """Register this area's subcommands on `actions` (argparse subparsers)."""
    parser = actions.add_parser("reconcile", help="PAY.JP and bank deposit reconciliation.")
    steps = parser.add_subparsers(dest="step", required=True, metavar="step")

    imp = steps.add_parser("import", help="Import a PAY.JP CSV/JSON or a bank deposit CSV (all or nothing).")
    imp.add_argument("--kind", choices=["payjp", "bank"], required=True)
    imp.add_argument("file", type=Path)
    imp.set_defaults(run=run_import)

    match = steps.add_parser("match", help="Match a month (every month with data by default).")
    match.add_argument("--month", help="YYYY-MM")
    match.set_defaults(run=run_match)

    fetch = steps.add_parser("fetch", help=f"Read charges and transfers from PAY.JP's API (key in {KEY_ENV}).")
    fetch.add_argument("--since", required=True, help="YYYY-MM-DD (Tokyo time)")
    fetch.set_defaults(run=run_fetch)


def _refused(error: ImportRefused) -> CommandError:
    lines = [f"{error.error_count} error(s); nothing was imported."]
    for e in error.errors:
        lines.append(f"  row {e['row'] if e['row'] is not None else '-'} [{e['column'] or '-'}] {e['reason']}")
    return CommandError("\n".join(lines))


def _report(command: Any, record: Any) -> None:
    command.stdout.write(
        f"{record.kind} {record.filename}: {record.rows} rows, {record.created} new, "
        f"{record.updated} updated, {record.unchanged} unchanged"
    )


def run_import(command: Any, *, kind: str, file: Path, **_options: Any) -> None:
    if not file.is_file():
        raise CommandError(f"no such file: {file}")
    with translation.override(settings.LANGUAGE_CODE):
        try:
            if kind == "bank":
                record = reconcile.import_bank(file.read_bytes(), file.name)
            else:
                record = reconcile.import_payjp(file.read_bytes(), file.name)
        except ImportRefused as error:
            raise _refused(error) from None
    _report(command, record)


def run_match(command: Any, *, month: str | None = None, **_options: Any) -> None:
    first = None
    if month:
        try:
            first = parse_month(month)[0]
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    result = reconcile.match(first)
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(result.by_status.items()))
    months = ", ".join(f"{m:%Y-%m}" for m in result.months) or "-"
    command.stdout.write(f"matched {months}: {result.items} items, {result.kept} resolved kept ({statuses})")


def run_fetch(command: Any, *, since: str, **_options: Any) -> None:
    key = os.environ.get(KEY_ENV, "")
    if not key:
        raise CommandError(f"set {KEY_ENV} to the PAY.JP secret key (sk_…)")
    try:
        start = dt.datetime.combine(dt.date.fromisoformat(since), dt.time(0), tzinfo=TOKYO)
    except ValueError:
        raise CommandError("--since: YYYY-MM-DD") from None
    with translation.override(settings.LANGUAGE_CODE):
        try:
            record = reconcile.fetch_payjp(key, start)
        except ImportRefused as error:
            raise _refused(error) from None
    _report(command, record)
