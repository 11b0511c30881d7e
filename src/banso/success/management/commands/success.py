"""`banso success <action>`: success operations from the command line.

banso success plan [--month YYYY-MM] [--lock]       generate (or regenerate) a month's coverage plan now
banso success renewals                               open and close renewals from the contracts now
banso success kpis [--month YYYY-MM] -o file.xlsx    write a month's team KPIs to an XLSX workbook
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from banso.accounts.services import parse_month
from banso.core.calendar import month_start


def _month(text: str | None, default: dt.date) -> dt.date:
    if not text:
        return default
    try:
        return parse_month(text)[0]
    except ValueError as error:
        raise CommandError(f"--month: expected YYYY-MM, got {text!r}") from error


class Command(BaseCommand):
    help = "Success operations: coverage plans, renewals and KPI exports."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="action")
        plan = actions.add_parser("plan", help="generate a month's coverage plan now (default: next month)")
        plan.add_argument("--month", default=None, help="YYYY-MM (default: next month)")
        plan.add_argument("--lock", action="store_true", help="lock the plan once generated")
        actions.add_parser("renewals", help="open renewals for upcoming renewal dates and close decided ones")
        kpis = actions.add_parser("kpis", help="write a month's KPIs per person and team to an XLSX workbook")
        kpis.add_argument("--month", default=None, help="YYYY-MM (default: this month)")
        kpis.add_argument("--team", default=None, help="only this team (name)")
        kpis.add_argument("-o", "--output", required=True, help="the .xlsx file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(**options)

    def _plan(self, *, month: str | None, lock: bool, **_: Any) -> None:
        from banso.success import plans

        first = _month(month, month_start(timezone.localdate(), 1))
        try:
            plan = plans.generate(first, echo=self.stdout.write)
            if lock:
                plan = plans.lock(plan, None)
        except plans.PlanError as error:
            raise CommandError(str(error)) from error
        state = "locked" if plan.locked else "draft"
        self.stdout.write(f"plan {plan}: {plan.targets.count():,} targets ({state})")

    def _renewals(self, **_: Any) -> None:
        from banso.success import renewals

        result = renewals.sync()
        self.stdout.write(
            f"renewals: {result.created:,} opened, {result.closed:,} closed, "
            f"{result.repriced:,} with a new MRR at stake"
        )

    def _kpis(self, *, month: str | None, team: str | None, output: str, **_: Any) -> None:
        from banso.core.models import Team
        from banso.success import kpi_exports

        first = _month(month, month_start(timezone.localdate()))
        chosen = None
        if team:
            chosen = Team.objects.filter(name=team).first()
            if chosen is None:
                raise CommandError(f"--team: no team named {team!r}")
        Path(output).write_bytes(kpi_exports.workbook_bytes(first, team=chosen))
        self.stdout.write(f"{output}: KPIs for {first:%Y-%m}")
