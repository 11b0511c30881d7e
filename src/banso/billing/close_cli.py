"""`banso billing close|preview|documents --month YYYY-MM`: the month close from the command line (see
management/commands/billing.py). `close` runs in the foreground with its progress on standard error;
`documents` writes the PDFs a closed month is still missing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import CommandError

from banso.accounts.services import parse_month


def add_actions(actions: Any) -> None:
    """Register this area's subcommands on `actions` (argparse subparsers)."""
    close = actions.add_parser("close", help="Close a month: statements, invoices, credit notes and their PDFs.")
    close.add_argument("--month", required=True, help="YYYY-MM")
    close.set_defaults(run=run_close)
    preview = actions.add_parser("preview", help="What closing a month would write, per merchant (writes nothing).")
    preview.add_argument("--month", required=True, help="YYYY-MM")
    preview.set_defaults(run=run_preview)
    documents = actions.add_parser("documents", help="Write the PDFs a closed month is still missing.")
    documents.add_argument("--month", required=True, help="YYYY-MM")
    documents.set_defaults(run=run_documents)


def _month(text: str) -> dt.date:
    try:
        return parse_month(text)[0]
    except ValueError:
        raise CommandError(f"--month: not a month (YYYY-MM): {text!r}") from None


def run_close(command: Any, *, month: str, **_options: Any) -> None:
    from . import closing
    from .invoicing import IssueError

    try:
        run = closing.close_month(_month(month))
    except (closing.CloseError, IssueError) as error:
        raise CommandError(str(error)) from None
    command.stdout.write(
        f"{run.as_of:%Y-%m} closed: {run.merchants:,} statements, {run.bookings:,} bookings, "
        f"{run.documents:,} documents"
    )


def run_preview(command: Any, *, month: str, **_options: Any) -> None:
    from . import closing

    rows = closing.preview(_month(month))
    for r in rows:
        command.stdout.write(
            f"{r['merchant_name']}\tbookings {r['bookings']:,}\tsales ¥{r['sales']:,}\trefunds ¥{r['refunds']:,}\t"
            f"invoice ¥{r['invoice_total']:,}\tadjustments ¥{r['adjustments']:,}\tpayout ¥{r['payout']:,}"
        )
    total = sum(r["payout"] for r in rows)
    command.stdout.write(f"{len(rows):,} merchants, payouts ¥{total:,}")


def run_documents(command: Any, *, month: str, **_options: Any) -> None:
    from . import closing

    run = closing.closed_close(_month(month))
    if run is None:
        raise CommandError(f"{month} is not closed")
    run = closing.retry_documents(run)
    command.stdout.write(f"{run.as_of:%Y-%m}: {run.documents:,} documents")
