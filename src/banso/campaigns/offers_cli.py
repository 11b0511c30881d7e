"""`banso campaigns` actions of the offers area.

banso campaigns switches [--apply] [--at ISO]   the special-rate switches due (and not applied); apply them
banso campaigns calendar --month 2026-12        every switch of a Tokyo month, then the turn into the next
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from banso.accounts.services import parse_month

from . import offers, rates


def add_actions(actions: Any) -> None:
    """Register this area's subparsers; each sets `run=<callable(command, **options)>` as its default."""
    switches = actions.add_parser("switches", help="List the special-rate switches due now; --apply applies them.")
    switches.add_argument("--apply", action="store_true", help="apply them (what the scheduler does every minute)")
    switches.add_argument("--at", default="", help="as of this time (ISO, Tokyo without an offset; default now)")
    switches.set_defaults(run=run_switches)

    cal = actions.add_parser("calendar", help="Every special-rate switch of a Tokyo month and the month turn.")
    cal.add_argument("--month", required=True, help="YYYY-MM")
    cal.set_defaults(run=run_calendar)


def _when(options: dict[str, Any]) -> Any:
    if not options.get("at"):
        return timezone.now()
    try:
        return rates.parse_instant("at", options["at"])
    except offers.OfferError as error:
        raise CommandError(f"--at: {error.message}") from None


def run_switches(command: Any, **options: Any) -> None:
    now = _when(options)
    due = rates.due(now)
    for s in due:
        command.stdout.write(f"{rates.local(s.at)}  {s.kind:5}  #{s.rate.pk}  {s.rate.offer.name}  {s.reward}")
    if not options["apply"]:
        command.stdout.write(f"{len(due)} switches due (use --apply to apply them)")
        return
    applied = rates.apply_due(now, via="cli")
    for a in applied:
        command.stdout.write(f"applied {a.kind} #{a.special_rate_id}: {a.before.get('text')} → {a.after.get('text')}")
    command.stdout.write(f"{len(applied)} switches applied")


def run_calendar(command: Any, **options: Any) -> None:
    try:
        first, following = parse_month(options["month"])
    except ValueError:
        raise CommandError("--month: a month as YYYY-MM") from None
    switches = rates.calendar(first.year, first.month)
    for s in switches:
        state = "applied" if s.applied else "pending"
        command.stdout.write(f"{rates.local(s.at)}  {s.kind:5}  #{s.rate.pk}  {s.rate.offer.name}  {s.reward}  {state}")
    command.stdout.write(f"{len(switches)} switches in {first:%Y-%m}")
    turn = rates.month_turn(following.year, following.month)
    command.stdout.write(f"month turn {turn.last_day:%m/%d} 24:00 → {following:%m/%d} 00:00:")
    for row in turn.rows:
        flag = "  (not at 00:00)" if row.off_boundary else ""
        command.stdout.write(f"  {row.offer.name}: {row.before} → {row.after}{flag}")
    for a, b in rates.conflicts(since=rates.month_bounds(first.year, first.month)[0]):
        command.stdout.write(f"overlap: {a.offer.name} #{a.pk} and #{b.pk}")
    for a, b, gap in rates.gaps(since=rates.month_bounds(first.year, first.month)[0]):
        command.stdout.write(f"gap: {a.offer.name} #{a.pk} → #{b.pk} ({gap})")
