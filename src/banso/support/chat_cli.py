"""`banso support ...` actions of the channels area (see management/commands/support.py): `mail-receive FILE`
(take a raw RFC 822 message into the desk, as the webhook does), `mail-poll` (fetch unseen IMAP mail once),
`chat-end-idle` (end chat sessions idle for 30 minutes), `chat-stats` (sessions per outcome and the
self-resolution rate)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError


def add_actions(actions: Any) -> None:
    """Register this area's subcommands on `actions` (argparse subparsers)."""
    parser = actions.add_parser("mail-receive", help="Take a raw email (.eml) into the desk (idempotent).")
    parser.add_argument("file", help="the RFC 822 message file")
    parser.set_defaults(run=run_receive)

    parser = actions.add_parser("mail-poll", help="Fetch unseen mail from the configured IMAP folder once.")
    parser.set_defaults(run=run_poll)

    parser = actions.add_parser("chat-end-idle", help="End chat sessions idle for 30 minutes.")
    parser.set_defaults(run=run_end_idle)

    parser = actions.add_parser("chat-stats", help="Chat sessions per outcome and the self-resolution rate.")
    parser.add_argument("--json", dest="as_json", action="store_true", help="print the figures as JSON")
    parser.set_defaults(run=run_stats)


def run_receive(command: Any, *, file: str, **_options: Any) -> None:
    from . import channels_email, desk

    path = Path(file)
    if not path.is_file():
        raise CommandError(f"No such file: {file}")
    try:
        received = channels_email.receive(path.read_bytes())
    except desk.DeskError as error:
        raise CommandError(f"{error.field}: {error.message}") from None
    what = "new inquiry" if received.new_inquiry else ("added to" if received.created else "already in")
    command.stdout.write(f"{what} #{received.message.inquiry.number}")


def run_poll(command: Any, **_options: Any) -> None:
    from . import channels_email

    command.stdout.write(json.dumps(channels_email.poll_imap()))


def run_end_idle(command: Any, **_options: Any) -> None:
    from . import chat

    command.stdout.write(json.dumps(chat.end_idle()))


def run_stats(command: Any, *, as_json: bool = False, **_options: Any) -> None:
    from . import chat
    from .widget_views import outcome_counts

    counts = outcome_counts()
    rate = chat.self_resolution_rate()
    if as_json:
        command.stdout.write(json.dumps({"outcomes": counts, "self_resolution_rate": rate}))
        return
    for outcome, n in counts.items():
        command.stdout.write(f"{outcome:15} {n:>8,}")
    command.stdout.write("self-resolution rate: " + ("—" if rate is None else f"{rate:.1%}"))
