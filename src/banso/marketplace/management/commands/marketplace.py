"""`banso marketplace <action>`: bookings, providers, incidents and threshold rules from the command line.

Each area adds its own actions (`bookings_cli`, `incidents_cli`, `rules_cli`, `concierge_cli`: an
`add_actions(actions)` that registers subparsers whose defaults carry `run=<callable(command, **options)>`).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from banso.marketplace import bookings_cli, concierge_cli, incidents_cli, providers_cli, rules_cli

AREAS = (bookings_cli, providers_cli, incidents_cli, rules_cli, concierge_cli)


class Command(BaseCommand):
    help = "Marketplace: bookings, providers, incidents, threshold rules and their actions, the concierge."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="action")
        for area in AREAS:
            area.add_actions(actions)

    def handle(self, *args: Any, **options: Any) -> None:
        run = options.pop("run")
        run(self, **options)
