"""The built-in measure sources a scorecard can use: engine metrics (`metric:`), contract facts
(`contract:`) and open inquiries (`inquiries:`). Each computes one value per account as of a day, for all
accounts at once; registered from `HealthConfig.ready()`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl
from django.utils.translation import gettext_lazy as _

from banso.accounts.models import Account, Contract
from banso.analytics import services as analytics
from banso.analytics.specs import MAX_DAYS, MetricSpec, Window

from .measures import MeasureOption, MeasureSource, current_backend, register_source


def _accounts(account_ids: Sequence[int] | None) -> pl.DataFrame:
    ids = list(account_ids) if account_ids is not None else list(Account.objects.values_list("id", flat=True))
    return pl.DataFrame({"account_id": pl.Series(ids, dtype=pl.Int64)})


def _engine(as_of: dt.date, specs: dict[str, MetricSpec]) -> pl.DataFrame:
    table = analytics.compute_metrics("account", as_of, specs, current_backend())
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.rename({"subject_id": "account_id"}).with_columns(
        pl.col("account_id").cast(pl.Int64), *[pl.col(key).cast(pl.Float64) for key in specs]
    )


# metric: -------------------------------------------------------------------------------------------

# What a default mapping assumes for the catalogue's keys (more is better unless listed here).
LOWER_IS_BETTER_WORDS = ("days_since", "inquiries")


def metric_options() -> list[MeasureOption]:
    found = []
    for key, metric in analytics.catalogue("account").items():
        better = None if metric.spec.aggregate == "trend" else not any(w in key for w in LOWER_IS_BETTER_WORDS)
        unit = _("days") if metric.spec.aggregate == "days_since" else ("%" if metric.spec.aggregate == "trend" else "")
        found.append(MeasureOption(key, metric.label, unit, True if better is None else better, metric.category))
    return found


def metric_values(keys: Sequence[str], as_of: dt.date, account_ids: Sequence[int] | None) -> pl.DataFrame:
    """Catalogue metrics from the engine; an account without events has each metric's empty value. A key no
    longer in the catalogue (a custom metric switched off) has no data, so cards using it still score."""
    known = analytics.catalogue("account")
    specs = {key: known[key].spec for key in keys if key in known}
    frame = _accounts(account_ids)
    if specs:
        frame = frame.join(_engine(as_of, specs), on="account_id", how="left")
    gone = [pl.lit(None, pl.Float64).alias(key) for key in keys if key not in known]
    if gone:
        frame = frame.with_columns(gone)
    fills = [
        pl.col(key).fill_null(float(spec.empty_value)) for key, spec in specs.items() if spec.empty_value is not None
    ]
    return frame.with_columns(fills) if fills else frame


# contract: -----------------------------------------------------------------------------------------


def contract_options() -> list[MeasureOption]:
    category = _("Contract")
    return [
        MeasureOption("days_to_renewal", _("Days to renewal"), _("days"), True, category),
        MeasureOption("mrr", _("MRR (yen)"), _("yen"), True, category),
        MeasureOption("tenure_days", _("Days as a customer"), _("days"), True, category),
    ]


def contract_values(keys: Sequence[str], as_of: dt.date, account_ids: Sequence[int] | None) -> pl.DataFrame:
    """From the contracts in force on the day: MRR (sum), days to the nearest renewal, days since the first
    contract started. An account with no contract in force has no data."""
    unknown = [key for key in keys if key not in ("days_to_renewal", "mrr", "tenure_days")]
    if unknown:
        raise KeyError(", ".join(unknown))
    contracts = Contract.objects.filter(start_date__lte=as_of)
    if account_ids is not None:
        contracts = contracts.filter(account_id__in=list(account_ids))
    rows = list(contracts.values_list("account_id", "mrr", "start_date", "end_date", "renewal_date", "churned_on"))
    schema = {
        "account_id": pl.Int64,
        "mrr": pl.Int64,
        "start": pl.Date,
        "end": pl.Date,
        "renewal": pl.Date,
        "churned": pl.Date,
    }
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    day = pl.lit(as_of)
    in_force = (pl.col("end").is_null() | (pl.col("end") >= day)) & (
        pl.col("churned").is_null() | (pl.col("churned") > day)
    )
    upcoming = pl.when(in_force & (pl.col("renewal") >= day)).then((pl.col("renewal") - day).dt.total_days())
    facts = (
        frame.group_by("account_id")
        .agg(
            pl.col("mrr").filter(in_force).sum().cast(pl.Float64).alias("mrr"),
            upcoming.min().cast(pl.Float64).alias("days_to_renewal"),
            (day - pl.col("start").min()).dt.total_days().cast(pl.Float64).alias("tenure_days"),
            in_force.any().alias("_in_force"),
        )
        .filter(pl.col("_in_force"))
    )
    return _accounts(account_ids).join(facts.select("account_id", *keys), on="account_id", how="left")


# inquiries: ----------------------------------------------------------------------------------------

ALL_HISTORY = Window(days=MAX_DAYS)


def inquiry_options() -> list[MeasureOption]:
    return [MeasureOption("open", _("Open inquiries"), _("inquiries"), False, _("Support"))]


def inquiry_values(keys: Sequence[str], as_of: dt.date, account_ids: Sequence[int] | None) -> pl.DataFrame:
    """Inquiries opened minus inquiries resolved up to the day (never below 0), by the engine."""
    if list(keys) != ["open"]:
        raise KeyError(", ".join(k for k in keys if k != "open"))
    specs = {
        "opened": MetricSpec(aggregate="count", kinds=("inquiry_opened",), window=ALL_HISTORY),
        "resolved": MetricSpec(aggregate="count", kinds=("inquiry_resolved",), window=ALL_HISTORY),
    }
    counts = _engine(as_of, specs)
    frame = _accounts(account_ids).join(counts, on="account_id", how="left")
    opened = pl.col("opened").fill_null(0.0) - pl.col("resolved").fill_null(0.0)
    return frame.select("account_id", opened.clip(lower_bound=0.0).alias("open"))


def register_builtin_sources() -> None:
    register_source(MeasureSource("metric", _("Metrics"), metric_options, metric_values))
    register_source(MeasureSource("contract", _("Contract"), contract_options, contract_values))
    register_source(MeasureSource("inquiries", _("Inquiries"), inquiry_options, inquiry_values))
