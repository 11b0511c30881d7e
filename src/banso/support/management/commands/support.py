"""`banso support <action>`: the support desk from the command line.

Each area adds its own actions (`inbox_cli`, `sla_cli`, `kb_cli`, `analytics_cli`, `chat_cli`: an
`add_actions(actions)` that registers subparsers whose defaults carry `run=<callable(command, **options)>`).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from banso.support import analytics_cli, chat_cli, inbox_cli, kb_cli, sla_cli

AREAS = (inbox_cli, sla_cli, kb_cli, analytics_cli, chat_cli)


class Command(BaseCommand):
    help = "Support desk: inquiries, SLA, knowledge base, chat and mail channels, classifier, analytics."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="action")
        for area in AREAS:
            area.add_actions(actions)

    def handle(self, *args: Any, **options: Any) -> None:
        run = options.pop("run")
        run(self, **options)
