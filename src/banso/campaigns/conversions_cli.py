"""`banso campaigns ...` actions of the conversions area.

banso campaigns import-conversions FILE [--asp CODE]     import an ASP result report (CSV/XLSX) through the import
                                                         engine; --asp names the ASP (and so its report layout)
banso campaigns reconcile [--month YYYY-MM] [--csv FILE] per offer: clicks, results by status, approval rate, CVR,
                                                         rewards, cashback owed, unmatched results, expired clicks
banso campaigns cashback-owed [--month YYYY-MM] [--offer ID] (--csv FILE | --xlsx FILE)
                                                         the per-user cashback owed, for the payout team
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from openpyxl import Workbook

from banso.activity.models import ImportStatus
from banso.activity.services import import_path
from banso.core import xlsx as _xlsx

from . import conversions, reconcile
from .conversions_import import ENTITY
from .models import Asp

RECONCILE_COLUMNS = (
    "offer",
    "offer_name",
    "asp",
    "asp_offer_id",
    "clicks",
    "visits",
    "visitors",
    "conversions",
    "pending",
    "approved",
    "rejected",
    "approval_rate",
    "cvr",
    "reward_pending",
    "reward_approved",
    "reward_rejected",
    "order_amount",
    "cashback_owed",
    "unmatched",
    "expired_clicks",
)


def add_actions(actions: Any) -> None:
    """Register this area's subparsers; each sets `run=<callable(command, **options)>` as its default."""
    imp = actions.add_parser("import-conversions", help="Import an ASP result report (CSV or XLSX).")
    imp.add_argument("file", type=Path)
    imp.add_argument("--asp", default="", help="the ASP's code (its report layout is used); else an asp column")
    imp.add_argument("--source", default="", help="import source when --asp is not given (default: asp-report)")
    imp.set_defaults(run=run_import)

    rec = actions.add_parser("reconcile", help="Reconcile a month's ASP results with our clicks, per offer.")
    rec.add_argument("--month", default="", help="YYYY-MM (Tokyo); default this month")
    rec.add_argument("--csv", type=Path, help="write the table to this CSV file (UTF-8 with BOM)")
    rec.set_defaults(run=run_reconcile)

    owed = actions.add_parser("cashback-owed", help="Cashback owed per user (approved, not paid yet).")
    owed.add_argument("--month", default="", help="results that occurred in YYYY-MM (Tokyo); default all")
    owed.add_argument("--offer", type=int, help="one offer's results")
    out = owed.add_mutually_exclusive_group()
    out.add_argument("--csv", type=Path)
    out.add_argument("--xlsx", type=Path)
    owed.set_defaults(run=run_cashback_owed)


def _month(text: str, *, default: dt.date | None) -> dt.date | None:
    if not text:
        return default
    month = conversions.parse_month(text)
    if month is None:
        raise CommandError(f"--month: not a month (YYYY-MM): {text!r}")
    return month


def run_import(command: Any, *, file: Path, asp: str, source: str, **_options: Any) -> None:
    if not file.exists():
        raise CommandError(f"{file}: no such file")
    if asp and not Asp.objects.filter(code=asp).exists():
        codes = ", ".join(Asp.objects.values_list("code", flat=True))
        raise CommandError(f"--asp: no ASP with code {asp!r} (known: {codes})")
    job = import_path(ENTITY, file, asp or source or "asp-report")
    if job.status != ImportStatus.SUCCEEDED:
        for error in job.errors[:50]:
            command.stderr.write(f"row {error['row']}, {error['column']}: {error['reason']}")
        raise CommandError(f"refused: nothing was written ({len(job.errors)} error(s) shown)")
    command.stdout.write(
        f"{job.total_rows} rows: {job.created_count} created, {job.updated_count} updated, "
        f"{job.unchanged_count} unchanged"
    )


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1%}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def run_reconcile(command: Any, *, month: str, csv: Path | None, **_options: Any) -> None:
    first = _month(month, default=conversions.this_month())
    assert first is not None
    rows = [r.as_dict() for r in reconcile.reconcile_month(first)]
    if csv is not None:
        _write_csv(csv, RECONCILE_COLUMNS, ([r[c] for c in RECONCILE_COLUMNS] for r in rows))
        command.stdout.write(f"{len(rows)} offers written to {csv}")
        return
    command.stdout.write(f"{first:%Y-%m} (clicks older than {reconcile.CLICK_WINDOW_DAYS} days count as expired)")
    shown = (
        "offer_name",
        "clicks",
        "pending",
        "approved",
        "rejected",
        "approval_rate",
        "cvr",
        "reward_approved",
        "cashback_owed",
        "unmatched",
        "expired_clicks",
    )
    command.stdout.write("\t".join(shown))
    for r in rows:
        command.stdout.write("\t".join(_fmt(r[c]) for c in shown))
    if not rows:
        command.stdout.write("no results or clicks in this month")


def _write_csv(path: Path, header: tuple[str, ...], rows: Any) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)


def run_cashback_owed(
    command: Any, *, month: str, offer: int | None, csv: Path | None, xlsx: Path | None, **_options: Any
) -> None:
    owed = reconcile.cashback_owed(month=_month(month, default=None), offer=offer)
    if csv is not None:
        header = tuple(name for name, _fmt, _get in reconcile.OWED_COLUMNS)
        _write_csv(csv, header, ([get(u) for _n, _f, get in reconcile.OWED_COLUMNS] for u in owed))
        command.stdout.write(f"{len(owed)} users written to {csv}")
        return
    if xlsx is not None:
        book = Workbook(write_only=True)
        _xlsx.sheet(book, "cashback owed", reconcile.OWED_COLUMNS, owed)
        xlsx.write_bytes(_xlsx.to_bytes(book))
        command.stdout.write(f"{len(owed)} users written to {xlsx}")
        return
    for u in owed:
        command.stdout.write(f"{u.external_id or '-'}\t{u.results}\t{u.owed:,}")
    command.stdout.write(f"total\t{sum(u.results for u in owed)}\t{sum(u.owed for u in owed):,}")
