"""`banso campaigns <action>`: offers, special rates, ASP conversions, forecasts and push campaigns.

Each area adds its own actions (`offers_cli`, `conversions_cli`, `forecasts_cli`, `push_cli`: an
`add_actions(actions)` that registers subparsers whose defaults carry `run=<callable(command, **options)>`).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from banso.campaigns import conversions_cli, forecasts_cli, offers_cli, push_cli

AREAS = (offers_cli, conversions_cli, forecasts_cli, push_cli)


class Command(BaseCommand):
    help = "Campaigns: offers, special rates, ASP conversion imports, forecasts and proposals, push campaigns."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="action")
        for area in AREAS:
            area.add_actions(actions)

    def handle(self, *args: Any, **options: Any) -> None:
        run = options.pop("run")
        run(self, **options)
