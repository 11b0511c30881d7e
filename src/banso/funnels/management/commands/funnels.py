"""`banso funnels <group> [options]`: client funnels from the command line.

banso funnels staleness [--date YYYY-MM-DD]   check every active staleness tracker for the day (default today
                                              in Japan): raise, update and resolve alerts, print the counts
banso funnels compute [--as-of D] [--funnel ID]
                                              compute every client's funnel for the period ending on D (default
                                              yesterday) here and now, print clients, events and the top losses
banso funnels report <account id> --period YYYY-MM -o F.pdf|F.xlsx [--funnel ID]
                                              generate the client's report for the month and write it to F

Each group is a subparser added by an `_add_<group>` method and dispatched to `_<group>`; a new group is one
more `_add_...` call in `add_arguments` and its handler method.
"""

from __future__ import annotations

import datetime as dt
from argparse import _SubParsersAction
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Client funnels: staleness checks, computations and client reports."

    def add_arguments(self, parser: CommandParser) -> None:
        groups = parser.add_subparsers(dest="group", required=True, metavar="group")
        self._add_staleness(groups)
        self._add_compute(groups)
        self._add_report(groups)

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

    # compute and report ------------------------------------------------------------------------------------

    def _add_compute(self, groups: _SubParsersAction[CommandParser]) -> None:
        compute = groups.add_parser("compute", help="compute every client's funnel now")
        compute.add_argument("--as-of", type=dt.date.fromisoformat, help="the period's last day (default yesterday)")
        compute.add_argument("--funnel", type=int, help="the funnel's id (default: the default funnel)")

    def _compute(self, as_of: dt.date | None = None, funnel: int | None = None, **options: Any) -> None:
        from django.utils import timezone

        from banso.funnels import computing, presenting
        from banso.funnels.funnel_forms import default_funnel
        from banso.funnels.models import Funnel

        chosen = Funnel.objects.filter(pk=funnel).first() if funnel else default_funnel()
        if chosen is None:
            raise CommandError("no such funnel")
        run = computing.compute_now(chosen, as_of or timezone.localdate() - dt.timedelta(days=1))
        self.stdout.write(f"run {run.pk} {run.as_of}: {run.status}, clients {run.clients}, events {run.events}")
        for cf in presenting.client_rows(run, presenting.ClientFilters())[:5]:
            self.stdout.write(f"  {cf.account.name}: {cf.loss_per_month}/month {cf.explanation}")

    def _add_report(self, groups: _SubParsersAction[CommandParser]) -> None:
        report = groups.add_parser("report", help="generate a client's report and write it as PDF or XLSX")
        report.add_argument("account", type=int, help="the client's account id")
        report.add_argument("--period", required=True, help="the month, YYYY-MM")
        report.add_argument("-o", "--output", required=True, help="the file to write (.pdf or .xlsx)")
        report.add_argument("--funnel", type=int, help="the funnel's id (default: the default funnel)")

    def _report(self, account: int, period: str, output: str, funnel: int | None = None, **options: Any) -> None:
        from pathlib import Path

        from banso.accounts.models import Account
        from banso.funnels import reports
        from banso.funnels.funnel_forms import default_funnel
        from banso.funnels.models import Funnel

        client = Account.objects.filter(pk=account).first()
        chosen = Funnel.objects.filter(pk=funnel).first() if funnel else default_funnel()
        if client is None or chosen is None:
            raise CommandError("no such account" if client is None else "no such funnel")
        try:
            start, end = reports.parse_period(period)
        except ValueError as error:
            raise CommandError("--period: enter the month as YYYY-MM") from error
        path = Path(output)
        if path.suffix.lower() not in (".pdf", ".xlsx"):
            raise CommandError("-o: the file must end in .pdf or .xlsx")
        made = reports.generate_report(chosen, client, start, end, None, via="cli")
        path.write_bytes(reports.render_pdf(made) if path.suffix.lower() == ".pdf" else reports.render_xlsx(made))
        self.stdout.write(f"report {made.pk}: {path}")
