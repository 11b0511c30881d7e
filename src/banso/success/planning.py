"""The coverage plan's arithmetic, free of the database: which accounts a month's plan takes and why, how
urgent each is, who contacts it and on which business day. `plans` gathers the inputs as frames and
writes the results; these functions only compute, so the property tests can drive them directly."""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from banso.churn.models import RISK_BANDS
from banso.core.calendar import month_start

from .models import TargetReason

# Days to the renewal beyond which it no longer raises the priority.
RENEWAL_HORIZON_DAYS = 90
# MRR breakpoints kept on the plan (0th…100th percentile), so a target's priority can be explained later.
PERCENTILES = 101
# A main reason is the first that applies in this order; a worsening outranks an improvement.
REASON_ORDER = (TargetReason.RENEWAL, TargetReason.RISK, TargetReason.HEALTH, TargetReason.UNTOUCHED)
HEALTH_RANK = {"green": 0, "yellow": 1, "red": 2}  # higher = worse
RISK_RANK = {"low": 0, "medium": 1, "high": 2}


class PlanningError(ValueError):
    """The plan cannot be made as asked (no one to assign to); the message says why."""


@dataclass(frozen=True)
class Weights:
    mrr: int = 40
    risk: int = 40
    renewal: int = 20

    @property
    def total(self) -> int:
        return max(self.mrr + self.risk + self.renewal, 1)


# Candidates ------------------------------------------------------------------------------------------

CANDIDATE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "account_id": pl.Int64,
    "owner_id": pl.Int64,
    "mrr": pl.Int64,
    "renewal_date": pl.Date,
    "risk": pl.Float64,
    "health_band": pl.String,
    "reason": pl.String,
    "reasons": pl.List(pl.String),
    "worsened": pl.Boolean,
}


def _risk_band(column: str) -> pl.Expr:
    (high, high_name), (medium, medium_name), (_floor, low_name) = RISK_BANDS
    return (
        pl.when(pl.col(column).is_null())
        .then(None)
        .when(pl.col(column) >= high)
        .then(pl.lit(high_name))
        .when(pl.col(column) >= medium)
        .then(pl.lit(medium_name))
        .otherwise(pl.lit(low_name))
    )


def _rank(column: str, ranks: Mapping[str, int]) -> pl.Expr:
    return pl.col(column).replace_strict(ranks, default=None, return_dtype=pl.Int64)


def _flag(reason: str) -> str:
    """The column saying whether a reason applies (not the reason's name: "risk" is also the probability)."""
    return f"is_{reason}"


def select_candidates(
    month: dt.date,
    accounts: pl.DataFrame,
    renewals: pl.DataFrame,
    health: pl.DataFrame,
    risk: pl.DataFrame,
    last_touch: pl.DataFrame,
    untouched_days: Mapping[str, int],
    manual: Iterable[int] = (),
) -> pl.DataFrame:
    """The accounts the month's plan takes, once each, with all their reasons and the main one.

    accounts: account_id, owner_id, tier, mrr. renewals: account_id, renewal_date (active contracts
    renewing in the month). health: account_id, band, band_before (the latest snapshot and the one about
    30 days earlier). risk: account_id, probability, probability_before. last_touch: account_id, last
    (a date). untouched_days: per tier, days without a touch after which an account is due (0: never),
    counted to the first day of the month."""
    base = accounts.select(
        pl.col("account_id").cast(pl.Int64),
        pl.col("owner_id").cast(pl.Int64),
        pl.col("tier").cast(pl.String),
        pl.col("mrr").cast(pl.Int64),
    )
    renewing = (
        renewals.select(pl.col("account_id").cast(pl.Int64), pl.col("renewal_date").cast(pl.Date))
        .group_by("account_id")
        .agg(pl.col("renewal_date").min())
    )
    bands = health.select(
        pl.col("account_id").cast(pl.Int64),
        pl.col("band").cast(pl.String).alias("health_band"),
        pl.col("band_before").cast(pl.String),
    )
    risks = risk.select(
        pl.col("account_id").cast(pl.Int64),
        pl.col("probability").cast(pl.Float64).alias("risk"),
        pl.col("probability_before").cast(pl.Float64),
    )
    touched = last_touch.select(pl.col("account_id").cast(pl.Int64), pl.col("last").cast(pl.Date))
    rules = pl.DataFrame(
        {"tier": list(untouched_days), "limit": [int(v) for v in untouched_days.values()]},
        schema={"tier": pl.String, "limit": pl.Int64},
    )
    manual_ids = pl.DataFrame(
        {"account_id": sorted(set(manual)), "manual": True}, schema={"account_id": pl.Int64, "manual": pl.Boolean}
    )
    frame = (
        base.join(renewing, on="account_id", how="left")
        .join(bands, on="account_id", how="left")
        .join(risks, on="account_id", how="left")
        .join(touched, on="account_id", how="left")
        .join(rules, on="tier", how="left")
        .join(manual_ids, on="account_id", how="left")
        .with_columns(
            _risk_band("risk").alias("risk_band"),
            _risk_band("probability_before").alias("risk_band_before"),
        )
        .with_columns(
            (_rank("risk_band", RISK_RANK) - _rank("risk_band_before", RISK_RANK)).alias("risk_move"),
            (_rank("health_band", HEALTH_RANK) - _rank("band_before", HEALTH_RANK)).alias("health_move"),
            ((pl.lit(month) - pl.col("last")).dt.total_days()).alias("idle_days"),
        )
        .with_columns(
            pl.col("renewal_date").is_not_null().alias(_flag(TargetReason.RENEWAL)),
            pl.col("risk_move").fill_null(0).ne(0).alias(_flag(TargetReason.RISK)),
            pl.col("health_move").fill_null(0).ne(0).alias(_flag(TargetReason.HEALTH)),
            (
                (pl.col("limit").fill_null(0) > 0)
                & (pl.col("idle_days").is_null() | (pl.col("idle_days") > pl.col("limit")))
            ).alias(_flag(TargetReason.UNTOUCHED)),
            pl.col("manual").fill_null(False).alias(_flag(TargetReason.MANUAL)),
            ((pl.col("risk_move").fill_null(0) > 0) | (pl.col("health_move").fill_null(0) > 0)).alias("worsened"),
        )
    )
    reasons_in_order = [r.value for r in (*REASON_ORDER, TargetReason.MANUAL)]
    flags = [_flag(r) for r in reasons_in_order]
    frame = frame.filter(pl.any_horizontal(flags))
    if frame.is_empty():
        return pl.DataFrame(schema=CANDIDATE_SCHEMA)
    reasons = pl.concat_list(
        [pl.when(pl.col(_flag(r))).then(pl.lit(r)).otherwise(None) for r in reasons_in_order]
    ).list.drop_nulls()
    # Main reason: the renewal; else a worsening (risk before health); else an improvement; else untouched.
    main = (
        pl.when(pl.col(_flag(TargetReason.RENEWAL)))
        .then(pl.lit(TargetReason.RENEWAL.value))
        .when(pl.col("risk_move").fill_null(0) > 0)
        .then(pl.lit(TargetReason.RISK.value))
        .when(pl.col("health_move").fill_null(0) > 0)
        .then(pl.lit(TargetReason.HEALTH.value))
        .when(pl.col(_flag(TargetReason.UNTOUCHED)))
        .then(pl.lit(TargetReason.UNTOUCHED.value))
        .when(pl.col(_flag(TargetReason.RISK)))
        .then(pl.lit(TargetReason.RISK.value))
        .when(pl.col(_flag(TargetReason.HEALTH)))
        .then(pl.lit(TargetReason.HEALTH.value))
        .otherwise(pl.lit(TargetReason.MANUAL.value))
    )
    return frame.select(
        "account_id",
        "owner_id",
        "mrr",
        "renewal_date",
        "risk",
        "health_band",
        main.alias("reason"),
        reasons.alias("reasons"),
        "worsened",
    ).sort("account_id")


# Priority ---------------------------------------------------------------------------------------------


def mrr_breakpoints(mrr: Sequence[int] | np.ndarray) -> list[int]:
    """The 0th…100th percentiles of the accounts' MRR: what a target's MRR is ranked against."""
    values = np.asarray(mrr, dtype=np.float64)
    if values.size == 0:
        return [0] * PERCENTILES
    return [int(v) for v in np.percentile(values, np.linspace(0, 100, PERCENTILES), method="lower")]


def priority_parts(
    mrr: np.ndarray,
    risk: np.ndarray,
    days_to_renewal: np.ndarray,
    breakpoints: Sequence[int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each input scaled to 0–1: MRR's percentile rank, the churn probability (missing: 0) and how soon the
    renewal comes (today: 1, RENEWAL_HORIZON_DAYS or more away, or none: 0)."""
    points = np.asarray(breakpoints, dtype=np.float64)
    rank = (np.searchsorted(points, np.asarray(mrr, dtype=np.float64), side="right") - 1).clip(0, PERCENTILES - 1)
    mrr_part = rank / (PERCENTILES - 1)
    risk_part = np.nan_to_num(np.asarray(risk, dtype=np.float64), nan=0.0).clip(0, 1)
    days = np.asarray(days_to_renewal, dtype=np.float64)
    renewal_part = np.nan_to_num(1 - days.clip(0, None) / RENEWAL_HORIZON_DAYS, nan=0.0).clip(0, 1)
    return mrr_part, risk_part, renewal_part


def priorities(
    mrr: np.ndarray, risk: np.ndarray, days_to_renewal: np.ndarray, breakpoints: Sequence[int], weights: Weights
) -> np.ndarray:
    """Priority 0–100: the weighted mean of the three parts, one decimal."""
    mrr_part, risk_part, renewal_part = priority_parts(mrr, risk, days_to_renewal, breakpoints)
    score = (weights.mrr * mrr_part + weights.risk * risk_part + weights.renewal * renewal_part) / weights.total
    rounded: np.ndarray = np.round(100 * score, 1)
    return rounded


def days_to_renewal(renewal_dates: pl.Series, month: dt.date) -> np.ndarray:
    """Days from the month's first day to each renewal (NaN where there is none)."""
    days = renewal_dates.cast(pl.Date) - month
    return days.dt.total_days().cast(pl.Float64).fill_null(np.nan).to_numpy()


# Assignment -------------------------------------------------------------------------------------------


def assign(
    owner_ids: Sequence[int | None] | np.ndarray,
    priority: Sequence[float] | np.ndarray,
    capacity: Mapping[int, int],
    load: Mapping[int, int] | None = None,
) -> np.ndarray:
    """One assignee per target (the CSM ids of `capacity`, which maps each active CSM to the accounts they
    can carry in the month; `load` is what they already carry on the plan).

    Highest priority first: a target goes to its owner while the owner has room; the rest to whoever has
    the most room left; once nobody has room, to whoever is least loaded relative to capacity, so nobody
    is over capacity while someone is under."""
    if not capacity:
        raise PlanningError("There is no active CSM to assign the plan to.")
    n = len(priority)
    owners = np.array([-1 if o is None else int(o) for o in owner_ids], dtype=np.int64) if n else np.zeros(0, np.int64)
    order = np.lexsort((np.arange(n), -np.asarray(priority, dtype=np.float64)))
    loads = {csm: int((load or {}).get(csm, 0)) for csm in capacity}
    result = np.full(n, -1, dtype=np.int64)

    # Owners first, each up to their room, their highest-priority targets first.
    ranked_owners = owners[order]
    for csm, cap in capacity.items():
        room = cap - loads[csm]
        if room <= 0:
            continue
        mine = order[ranked_owners == csm][:room]
        result[mine] = csm
        loads[csm] += len(mine)

    rest = order[result[order] == -1]
    if rest.size == 0:
        return result
    # Then whoever has the most room left (ties: the lower id), while anyone has room.
    roomy = [(-(capacity[c] - loads[c]), c) for c in capacity if capacity[c] - loads[c] > 0]
    heapq.heapify(roomy)
    position = 0
    while roomy and position < rest.size:
        negative_room, csm = heapq.heappop(roomy)
        result[rest[position]] = csm
        position += 1
        loads[csm] += 1
        if negative_room + 1 < 0:
            heapq.heappush(roomy, (negative_room + 1, csm))

    # Overflow: the CSM whose load after one more is the smallest share of capacity (zero capacity last).
    def pressure(csm: int) -> tuple[int, float, int]:
        cap = capacity[csm]
        return (0, (loads[csm] + 1) / cap, csm) if cap > 0 else (1, float(loads[csm] + 1), csm)

    full = [pressure(c) for c in capacity]
    heapq.heapify(full)
    while position < rest.size:
        _zero, _share, csm = heapq.heappop(full)
        result[rest[position]] = csm
        position += 1
        loads[csm] += 1
        heapq.heappush(full, pressure(csm))
    return result


# Scheduling -------------------------------------------------------------------------------------------


def _quotas(total: int, days: int) -> np.ndarray:
    """`total` contacts over `days` days as evenly as possible, the extra ones spread through the month."""
    base, extra = divmod(total, days)
    quotas = np.full(days, base, dtype=np.int64)
    if extra:
        quotas[np.floor(np.arange(extra) * days / extra).astype(np.int64)] += 1
    return quotas


def schedule(
    assignees: np.ndarray,
    priority: np.ndarray,
    renewal_dates: pl.Series,
    business_days: Sequence[dt.date],
    month: dt.date,
    lead_business_days: int,
    occupied: Mapping[int, Mapping[dt.date, int]] | None = None,
) -> list[dt.date]:
    """A contact date per target: each assignee's targets spread evenly over the month's business days,
    earliest deadline first, then by priority. A target renewing in the month has the deadline of
    `lead_business_days` business days before its renewal (the first business day when that falls before
    the month); the others, the month's end. `business_days` are the company's business days from some
    weeks before the month to its end (the lead time may reach back before the month). `occupied`: per
    assignee, contacts already on a day (targets kept from an earlier generation)."""
    calendar = np.array(sorted(business_days), dtype="datetime64[D]")
    first, after = np.datetime64(month, "D"), np.datetime64(month_start(month, 1), "D")
    in_month = calendar[(calendar >= first) & (calendar < after)]
    if in_month.size == 0:
        raise PlanningError(f"{month:%Y-%m} has no business day.")
    n = len(assignees)
    renewal = renewal_dates.cast(pl.Date).to_numpy().astype("datetime64[D]")
    has_renewal = ~np.isnat(renewal) & (renewal >= first) & (renewal < after)
    deadline = np.full(n, in_month.size - 1, dtype=np.int64)
    if has_renewal.any():
        # Business days before the renewal date, minus the lead: the index of the last allowed contact day.
        if lead_business_days > 0:  # the lead-th business day before the renewal
            allowed = np.searchsorted(calendar, renewal[has_renewal], side="left") - lead_business_days
        else:  # the renewal day itself, or the business day before it
            allowed = np.searchsorted(calendar, renewal[has_renewal], side="right") - 1
        latest = np.where(allowed >= 0, calendar[np.clip(allowed, 0, calendar.size - 1)], calendar[0] - 1)
        index = np.searchsorted(in_month, latest, side="right") - 1
        deadline[has_renewal] = np.clip(index, 0, in_month.size - 1)
    dates = np.empty(n, dtype="datetime64[D]")
    assignees = np.asarray(assignees, dtype=np.int64)
    priority = np.asarray(priority, dtype=np.float64)
    order = np.lexsort((np.arange(n), -priority, deadline, assignees))
    sorted_assignees = assignees[order]
    starts = np.flatnonzero(np.r_[True, sorted_assignees[1:] != sorted_assignees[:-1]]) if n else np.zeros(0, np.int64)
    bounds = np.r_[starts, n]
    for start, end in itertools.pairwise(bounds):
        csm = int(sorted_assignees[start])
        taken = np.zeros(in_month.size, dtype=np.int64)
        for day, count in ((occupied or {}).get(csm) or {}).items():
            at = np.searchsorted(in_month, np.datetime64(day, "D"))
            if at < in_month.size and in_month[at] == np.datetime64(day, "D"):
                taken[at] += count
        quotas = np.clip(_quotas(int(end - start + taken.sum()), in_month.size) - taken, 0, None)
        short = int(end - start) - int(quotas.sum())
        for _ in range(max(short, 0)):  # kept targets crowd some days: top up the emptiest
            quotas[np.argmin(quotas + taken)] += 1
        slots = np.repeat(np.arange(in_month.size), quotas)[: end - start]
        dates[order[start:end]] = in_month[slots]
    return [d.item() for d in dates]
