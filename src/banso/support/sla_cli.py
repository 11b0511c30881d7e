"""`banso support sla-report --month YYYY-MM [--xlsx FILE]`: SLA attainment per target (and the workbook per
agent and team); `banso support sla-check`: mark breaches and send warnings now (what the minute job queues);
`banso support sla-defaults`: create the default policies (see management/commands/support.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone, translation

from banso.accounts.services import parse_month
from banso.core.business_hours import TOKYO


def add_actions(actions: Any) -> None:
    """Register this area's subcommands on `actions` (argparse subparsers)."""
    report = actions.add_parser("sla-report", help="SLA attainment for a month (default: this month).")
    report.add_argument("--month", help="YYYY-MM, Asia/Tokyo (default: this month)")
    report.add_argument("--xlsx", help="write the workbook (targets, per agent, per team) to this file")
    report.set_defaults(run=run_report)
    check = actions.add_parser("sla-check", help="Mark breached SLA targets and warn assignees now.")
    check.set_defaults(run=run_check)
    defaults = actions.add_parser("sla-defaults", help="Create the default SLA policies for missing priorities.")
    defaults.set_defaults(run=run_defaults)


def run_report(command: Any, *, month: str | None = None, xlsx: str | None = None, **_options: Any) -> None:
    from . import sla_attainment

    if month:
        try:
            first = parse_month(month)[0]
        except ValueError:
            raise CommandError(f"--month: not a month (YYYY-MM): {month!r}") from None
    else:
        first = timezone.now().astimezone(TOKYO).date().replace(day=1)
    path = Path(xlsx) if xlsx else None
    if path is not None and path.suffix.lower() != ".xlsx":
        raise CommandError(f"--xlsx: write a .xlsx file, not {path.name!r}")
    with translation.override(settings.LANGUAGE_CODE):
        report = sla_attainment.build(*sla_attainment.month_range(first))
        for row in report.totals:
            f = row.figures
            rate = "–" if f.attainment is None else f"{f.attainment:.1%}"
            command.stdout.write(
                f"{first:%Y-%m} {row.metric}: due {f.due}, met {f.met}, breached {f.breached}, running {f.running}, "
                f"attainment {rate}, median {f.median}, p90 {f.p90}"
            )
        if path is not None:
            body = sla_attainment.workbook(report)
            path.write_bytes(body)
            command.stdout.write(f"{path} ({len(body):,} bytes)")


def run_check(command: Any, **_options: Any) -> None:
    from . import sla

    breached, warned = sla.check_breaches(timezone.now())
    command.stdout.write(f"{breached} targets breached, {warned} warnings sent")


def run_defaults(command: Any, **_options: Any) -> None:
    from . import sla

    command.stdout.write(f"{sla.ensure_default_policies()} default policies created")
