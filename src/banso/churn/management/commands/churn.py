"""`banso churn <action>`: churn analysis from the command line.

banso churn export --from YYYY-MM --to YYYY-MM -o file.xlsx   the churn analysis of a period as an XLSX workbook
banso churn train [--as-of YYYY-MM-DD] [--horizon DAYS]          train a churn-risk model version on the history
banso churn predict [--as-of YYYY-MM-DD]                         predict churn risk for every active account
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


def _month(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text + "-01" if len(text) == 7 else text).replace(day=1)
    except ValueError as error:
        raise CommandError(f"{option}: expected YYYY-MM, got {text!r}") from error


class Command(BaseCommand):
    help = "Churn: export the churn analysis of a period."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="action")
        export = actions.add_parser("export", help="write the churn analysis of a period to an XLSX workbook")
        export.add_argument("--from", dest="start", default=None, help="first month, YYYY-MM (default: 24 months ago)")
        export.add_argument("--to", dest="end", default=None, help="last month, YYYY-MM (default: this month)")
        export.add_argument("--tier", default="", help="only accounts of this touch tier")
        export.add_argument("--industry", default="", help="only accounts of this industry")
        export.add_argument("--owner", default="", help="only accounts of this owner (user id)")
        export.add_argument("-o", "--output", required=True, help="the .xlsx file to write")
        train = actions.add_parser("train", help="train a churn-risk model version on the history up to a day")
        train.add_argument("--as-of", dest="as_of", default=None, help="YYYY-MM-DD (default: today)")
        train.add_argument("--horizon", type=int, default=None, help="days after each prediction date (default: 90)")
        predict = actions.add_parser("predict", help="predict churn risk for every active account as of a day")
        predict.add_argument("--as-of", dest="as_of", default=None, help="YYYY-MM-DD (default: today)")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(**options)

    def _export(
        self, *, start: str | None, end: str | None, tier: str, industry: str, owner: str, output: str, **_: Any
    ) -> None:
        from banso.churn import analysis, exports

        period = analysis.default_period()
        first = _month(start, "--from") if start else period.start
        last = _month(end, "--to") if end else period.end
        if last < first:
            raise CommandError("--to: the last month is before the first")
        filters = analysis.Filters(tier=tier, industry=industry, owner_id=int(owner) if owner else None)
        result = analysis.analyse(analysis.Period(first, last), filters)
        Path(output).write_bytes(exports.workbook_bytes(result))
        self.stdout.write(f"{output}: {len(result.months)} months, {result.churned_accounts} churned accounts")

    def _risk_day(self, as_of: str | None) -> dt.date:
        from django.utils import timezone

        try:
            return dt.date.fromisoformat(as_of) if as_of else timezone.localdate()
        except ValueError as error:
            raise CommandError(f"--as-of: expected YYYY-MM-DD, got {as_of!r}") from error

    def _train(self, *, as_of: str | None, horizon: int | None, **_: Any) -> None:
        from banso.churn import risk
        from banso.churn.models import RiskRunKind, RiskRunStatus

        day = self._risk_day(as_of)
        if horizon is not None and not 7 <= horizon <= 730:
            raise CommandError("--horizon: between 7 and 730 days")
        run = risk.run_now(
            RiskRunKind.TRAIN, day, echo=self.stdout.write, horizon_days=horizon or risk.DEFAULT_HORIZON_DAYS
        )
        if run.status != RiskRunStatus.SUCCEEDED or run.model is None:
            raise CommandError(run.error)
        model = run.model
        m = model.metrics
        self.stdout.write(
            f"model #{model.pk}: ROC AUC {m['roc_auc']:.3f}, precision in the top decile "
            f"{m['precision_top_decile']:.3f}, base rate {m['base_rate']:.3f}, Brier {m['brier']:.4f}"
        )

    def _predict(self, *, as_of: str | None, **_: Any) -> None:
        from banso.churn import risk
        from banso.churn.models import RiskRunKind, RiskRunStatus

        run = risk.run_now(RiskRunKind.PREDICT, self._risk_day(as_of), echo=self.stdout.write)
        if run.status != RiskRunStatus.SUCCEEDED:
            raise CommandError(run.error)
        self.stdout.write(f"{run.rows:,} predictions written as of {run.as_of} by model #{run.model_id}")
