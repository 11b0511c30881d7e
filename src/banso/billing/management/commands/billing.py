"""`banso billing <action>`: merchant operations from the command line.

Each area adds its own actions (`close_cli`, `report_cli`, `recon_cli`, `newsletter_cli`: an
`add_actions(actions)` that registers subparsers whose defaults carry `run=<callable(command, **options)>`).
`banso billing --help` lists them all.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from banso.billing import close_cli, newsletter_cli, recon_cli, report_cli

AREAS = (close_cli, report_cli, recon_cli, newsletter_cli)


class Command(BaseCommand):
    help = "Merchant billing: month close, statements and invoices, reports, reconciliation, newsletters."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="action")
        for area in AREAS:
            area.add_actions(actions)

    def handle(self, *args: Any, **options: Any) -> None:
        run = options.pop("run")
        run(self, **options)
