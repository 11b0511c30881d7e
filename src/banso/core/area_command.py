"""`banso <app> <action>` for apps whose command-line actions come from several areas.

Each area module has `add_actions(actions)`, registering subparsers whose defaults carry
`run=<callable(command, **options)>`; the app's command lists its areas:

    class Command(AreaCommand):
        help = "…"
        areas = (inbox_cli, sla_cli)
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, ClassVar

from django.core.management.base import BaseCommand, CommandParser


class AreaCommand(BaseCommand):
    areas: ClassVar[tuple[ModuleType, ...]] = ()

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="action")
        for area in self.areas:
            area.add_actions(actions)

    def handle(self, *args: Any, **options: Any) -> None:
        run = options.pop("run")
        run(self, **options)
