"""`banso marketplace` actions of the concierge area.

banso marketplace find --category C --area A --date YYYY-MM-DD [--guests N] [--limit N]
    providers that could take the request, best first, with their booking links
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import CommandError

from . import concierge


def add_actions(actions: Any) -> None:
    """Register this area's subparsers; each sets `run=<callable(command, **options)>` as its default."""
    find = actions.add_parser("find", help="Find providers for a request (category, area, date).")
    find.add_argument("--category", required=True)
    find.add_argument("--area", required=True)
    find.add_argument("--date", required=True, help="YYYY-MM-DD (Tokyo)")
    find.add_argument("--guests", type=int, default=1)
    find.add_argument("--limit", type=int, default=10)
    find.set_defaults(run=run_find)


def run_find(command: Any, **options: Any) -> None:
    try:
        day = dt.date.fromisoformat(options["date"])
    except ValueError:
        raise CommandError("--date: write a date as YYYY-MM-DD") from None
    try:
        found = concierge.search(options["category"], options["area"], day, options["guests"], limit=options["limit"])
    except concierge.ConciergeError as error:
        raise CommandError(f"--{error.field}: {error.message}") from None
    if not found:
        command.stdout.write("no provider can take this request")
        return
    for c in found:
        command.stdout.write(
            f"{c.provider_id}\t{c.name}\trating {c.rating or '-'} ({c.review_count})\tfree {c.free_slots}"
            f"\tincident points {c.incident_points}\tscore {c.score:.2f}\t{c.booking_url or '-'}"
        )
