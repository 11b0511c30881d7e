"""`banso funnels <group> [options]`: client funnels from the command line.

banso funnels staleness [--date YYYY-MM-DD]   check every active staleness tracker for the day (default today
                                              in Japan): raise, update and resolve alerts, print the counts

Each group is a subparser added by an `_add_<group>` method and dispatched to `_<group>`; a new group is one
more `_add_...` call in `add_arguments` and its handler method.
"""

from __future__ import annotations

import datetime as dt
from argparse import _SubParsersAction
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Client funnels: staleness checks."

    def add_arguments(self, parser: CommandParser) -> None:
        groups = parser.add_subparsers(dest="group", required=True, metavar="group")
        self._add_staleness(groups)

    def handle(self, *args: Any, **options: Any) -> None:
        handler = getattr(self, f"_{options['group']}", None)
        if handler is None:
            raise CommandError(f"unknown group {options['group']!r}")
        handler(**options)

    # staleness ---------------------------------------------------------------------------------------------

    def _add_staleness(self, groups: _SubParsersAction[CommandParser]) -> None:
        staleness = groups.add_parser("staleness", help="check the staleness trackers now")
        staleness.add_argument("--date", type=dt.date.fromisoformat, help="the day to check (default: today)")

    def _staleness(self, date: dt.date | None = None, **options: Any) -> None:
        from banso.funnels import staleness

        totals = staleness.check(date)
        self.stdout.write(
            "trackers {rules}: raised {raised}, updated {updated}, resolved {resolved}, tasks {tasks}".format(**totals)
        )
