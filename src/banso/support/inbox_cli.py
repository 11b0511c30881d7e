"""`banso support ...` actions of the inbox area (see management/commands/support.py).

banso support inquiries [--view V] [--status KEY] [--channel C] [--team ID] [--assignee ID|none] [--from D] [--to D]
                        [--csv FILE]      list (newest first) or export every match as CSV (UTF-8 with BOM)
banso support assign NUMBER... (--to USERNAME | --nobody) [--team NAME]
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from banso.core.business_hours import TOKYO
from banso.core.models import Team, User

from . import desk
from .models import Inquiry

CSV_COLUMNS = (
    "number",
    "subject",
    "channel",
    "status",
    "priority",
    "team",
    "assignee",
    "requester_name",
    "requester_email",
    "account",
    "tags",
    "created_at",
    "updated_at",
    "solved_at",
)


def add_actions(actions: Any) -> None:
    """Register this area's subcommands on `actions` (argparse subparsers)."""
    listing = actions.add_parser("inquiries", help="List inquiries or export them as CSV.")
    listing.add_argument("--view", default="all", choices=desk.INBOX_VIEWS)
    listing.add_argument("--status", default="", help="status key (new, open, waiting_customer, solved …)")
    listing.add_argument("--channel", default="")
    listing.add_argument("--priority", default="")
    listing.add_argument("--team", default="", help="team id")
    listing.add_argument("--assignee", default="", help="user id, or none")
    listing.add_argument("--tag", default="")
    listing.add_argument("--from", dest="since", default="", help="received on or after YYYY-MM-DD (Tokyo)")
    listing.add_argument("--to", dest="until", default="", help="received on or before YYYY-MM-DD (Tokyo)")
    listing.add_argument("--csv", type=Path, help="write every match to this CSV file (UTF-8 with BOM)")
    listing.add_argument("--limit", type=int, default=50, help="rows printed without --csv")
    listing.set_defaults(run=run_inquiries)

    assign = actions.add_parser("assign", help="Assign inquiries to an agent and/or a team.")
    assign.add_argument("numbers", nargs="+", type=int)
    who = assign.add_mutually_exclusive_group()
    who.add_argument("--to", dest="username", help="the agent's username")
    who.add_argument("--nobody", action="store_true", help="leave them unassigned")
    assign.add_argument("--team", help="team name")
    assign.set_defaults(run=run_assign)


def _filters(options: dict[str, Any]) -> dict[str, str]:
    return {
        "view": options["view"],
        "status": options["status"],
        "channel": options["channel"],
        "priority": options["priority"],
        "team": options["team"],
        "assignee": options["assignee"],
        "tag": options["tag"],
        "from": options["since"],
        "to": options["until"],
    }


def _local(value: Any) -> str:
    return value.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M") if value else ""


def export_csv(inquiries: Any, path: Path) -> int:
    """Every inquiry of `inquiries` (newest first) as CSV; returns the rows written."""
    rows = 0
    ordered = (
        inquiries.order_by("-updated_at", "-id")
        .select_related("status", "team", "assignee", "account")
        .prefetch_related("tags")
    )
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for inquiry in ordered.iterator(chunk_size=2000):
            writer.writerow(
                [
                    inquiry.number,
                    inquiry.subject,
                    inquiry.get_channel_display(),
                    inquiry.status.name,
                    inquiry.get_priority_display(),
                    inquiry.team.name if inquiry.team else "",
                    str(inquiry.assignee) if inquiry.assignee else "",
                    inquiry.requester_name,
                    inquiry.requester_email,
                    inquiry.account.name if inquiry.account else "",
                    ",".join(sorted(t.name for t in inquiry.tags.all())),
                    _local(inquiry.created_at),
                    _local(inquiry.updated_at),
                    _local(inquiry.solved_at),
                ]
            )
            rows += 1
    return rows


def run_inquiries(command: Any, **options: Any) -> None:
    try:
        inquiries = desk.filter_inquiries(None, _filters(options), now=timezone.now())
        if options["csv"]:
            rows = export_csv(inquiries, options["csv"])
            command.stdout.write(f"{rows} inquiries written to {options['csv']}")
            return
        page, _cursor = desk.inquiry_page(inquiries, size=max(1, options["limit"]))
    except desk.DeskError as error:
        raise CommandError(f"--{error.field}: {error.message}") from None
    for inquiry in page:
        command.stdout.write(
            f"#{inquiry.number}\t{inquiry.status.name}\t{inquiry.get_priority_display()}\t"
            f"{inquiry.assignee or '-'}\t{_local(inquiry.updated_at)}\t{inquiry.subject}"
        )


def run_assign(command: Any, **options: Any) -> None:
    kwargs: dict[str, Any] = {}
    if options["username"]:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"--to: no user {options['username']}")
        kwargs["assignee"] = user
    elif options["nobody"]:
        kwargs["assignee"] = None
    if options["team"]:
        team = Team.objects.filter(name=options["team"]).first()
        if team is None:
            raise CommandError(f"--team: no team {options['team']}")
        kwargs["team"] = team
    if not kwargs:
        raise CommandError("give --to USERNAME, --nobody or --team NAME")
    found = {i.number: i for i in Inquiry.objects.filter(number__in=options["numbers"])}
    missing = [n for n in options["numbers"] if n not in found]
    if missing:
        raise CommandError(f"no inquiry numbered {', '.join(map(str, missing))}; nothing was changed")
    from django.db import transaction

    try:
        with transaction.atomic():
            for number in options["numbers"]:
                desk.assign(found[number], via="cli", **kwargs)
    except desk.DeskError as error:
        raise CommandError(f"{error.field}: {error.message}; nothing was changed") from None
    command.stdout.write(f"{len(found)} inquiries assigned")
