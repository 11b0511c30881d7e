"""`banso billing newsletters send-due` (what the scheduler's task does, run now) and `banso billing newsletters
list` (status, recipients and rates) — see management/commands/billing.py."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from . import newsletters
from .models import NewsletterStatus


def _rate(value: Any) -> str:
    return "-" if value is None else f"{value}%"


def send_due(command: BaseCommand, *, batch: int, **options: Any) -> None:
    sent = newsletters.send_due(batch=batch)
    for newsletter in sent:
        command.stdout.write(f"#{newsletter.pk} {newsletter.title}: {newsletter.recipients} recipients queued")
    command.stdout.write(f"{len(sent)} newsletter(s) sent")


def list_newsletters(command: BaseCommand, *, status: str, **options: Any) -> None:
    command.stdout.write("id\tstatus\tsend_at (Asia/Tokyo)\trecipients\tdelivered\topened\tclicked\ttitle")
    for row in newsletters.list_rows(status):
        when = row.sent_at or row.scheduled_at
        shown = timezone.localtime(when).strftime("%Y-%m-%d %H:%M") if when else "-"
        rates = newsletters.row_rates(row)
        command.stdout.write(
            f"{row.pk}\t{row.status}\t{shown}\t{row.recipients}\t{_rate(rates['delivered_rate'])}\t"
            f"{_rate(rates['opened_rate'])}\t{_rate(rates['clicked_rate'])}\t{row.title}"
        )


def add_actions(actions: Any) -> None:
    """Register this area's subcommands on `actions` (argparse subparsers)."""
    parser = actions.add_parser("newsletters", help="Member newsletters: send what is due, list them.")
    sub = parser.add_subparsers(dest="newsletters_action", required=True, metavar="newsletters_action")
    due = sub.add_parser("send-due", help="Send every newsletter whose time has come (safe to run twice).")
    due.add_argument("--batch", type=int, default=newsletters.BATCH, help="mails queued per transaction")
    due.set_defaults(run=send_due)
    listing = sub.add_parser("list", help="Newsletters with recipients and delivered/opened/clicked rates.")
    listing.add_argument("--status", choices=NewsletterStatus.values, default="")
    listing.set_defaults(run=list_newsletters)
