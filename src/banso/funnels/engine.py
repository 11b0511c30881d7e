"""The funnel arithmetic: stage counts in, rates, history, benchmark and bottleneck out, for every client at
once (polars, vectorised over clients; no Django here, so it can be property-tested).

Definitions (the pages show them):

- **Count** of a stage over a period [start, end): the distinct end users with an event of the stage's
  kind in the period; events without an end user count one each. Per client (account) and, when the funnel
  has a project property, per (client, project) too; project "" is the client's total (an applicant of two
  projects counts once in the total).
- **Rate** into stage k (k ≥ 2) = count_k / count_{k-1}; none (not 0) when count_{k-1} is 0.
- **Own history**: the same rates pooled over the client's previous `history_periods` periods (counts
  summed, then the ratio).
- **Benchmark**: the rates pooled over similar clients (same value of the funnel's peer attribute), the
  client itself left out. With fewer than 3 other clients in its group, or no value to compare on, all
  other clients are the benchmark (`peer_group` "" and `peers` says how many clients that was).
  Projects are compared with their client's benchmark.
- **Bottleneck**: for each stage k ≥ 2 with a benchmark rate, expected_k = count_{k-1} × bench_k,
  shortfall_k = max(0, expected_k − count_k), outcomes lost = shortfall_k × Π_{j>k} (the client's rate_j,
  or bench_j where the client has none; a stage after k with neither makes the loss unknown, counted 0).
  Per month = lost × 30 / period days (2 decimals). The bottleneck is the stage losing the most outcomes
  (ties: the earliest stage); none when no stage loses any.

Everything is a function of the counts, which are integers: the result does not depend on the order of
the events (tests/funnels/test_engine_properties.py shuffles them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

MIN_PEERS = 3
TOTAL = ""  # the project of a client's total row

COUNT_SCHEMA = {
    "account_id": pl.Int64,
    "project": pl.String,
    "position": pl.Int32,
    "period": pl.Int32,
    "n": pl.Int64,
}
CLIENT_SCHEMA = {"account_id": pl.Int64, "peer": pl.String}


@dataclass(frozen=True)
class StageInfo:
    """What the engine needs to know of a stage: its label and the name of the rate into it."""

    label: str
    rate_label: str = ""

    @property
    def rate_name(self) -> str:
        return self.rate_label or self.label


def _c(k: int) -> str:
    return f"c{k}"


def _h(k: int) -> str:
    return f"h{k}"


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator, null for a zero denominator (never a division error, never 0 by accident)."""
    return pl.when(denominator > 0).then(numerator.cast(pl.Float64) / denominator).otherwise(None)


def funnel_table(counts: pl.DataFrame, clients: pl.DataFrame, stages: int, period_days: int) -> pl.DataFrame:
    """Every client's funnel, one row per (client, project).

    counts: account_id, project ("" for the client's total), position (1-based stage), period (0 the
    current period, 1.. the previous ones), n. clients: account_id, peer (the peer attribute's value, null
    or "" for none): the clients to report, each with a total row even without events; counts of other
    accounts are ignored.

    Returns account_id, project, counts, rates, history_rates, benchmark_rates (lists, rates[0] always
    null), peer_group, peers, bottleneck_position (null for none), loss (outcomes lost in the period) and
    loss_per_month (Decimal, 2 places), sorted by account and project.
    """
    positions = range(1, stages + 1)
    counts = counts.cast(COUNT_SCHEMA).join(clients.select("account_id"), on="account_id", how="semi")  # type: ignore[arg-type]
    at = pl.col("position")
    current, previous = pl.col("period") == 0, pl.col("period") >= 1
    wide = counts.group_by("account_id", "project").agg(
        *[pl.col("n").filter(current & (at == k)).sum().alias(_c(k)) for k in positions],
        *[pl.col("n").filter(previous & (at == k)).sum().alias(_h(k)) for k in positions],
    )
    totals = clients.cast(CLIENT_SCHEMA).select(  # type: ignore[arg-type]
        "account_id", pl.lit(TOTAL).alias("project"), pl.col("peer").fill_null("")
    )
    rows = pl.concat(
        [
            totals.select("account_id", "project"),
            wide.filter(pl.col("project") != TOTAL).select("account_id", "project"),
        ]
    ).unique()
    rows = rows.join(wide, on=["account_id", "project"], how="left").with_columns(
        [pl.col(_c(k)).fill_null(0) for k in positions] + [pl.col(_h(k)).fill_null(0) for k in positions]
    )
    bench = _benchmark(rows.filter(pl.col("project") == TOTAL).join(totals, on=["account_id", "project"]), positions)
    rows = rows.join(bench, on="account_id", how="left")
    rows = rows.with_columns(
        *[_ratio(pl.col(_c(k)), pl.col(_c(k - 1))).alias(f"r{k}") for k in positions[1:]],
        *[_ratio(pl.col(_h(k)), pl.col(_h(k - 1))).alias(f"hr{k}") for k in positions[1:]],
    )
    rows = _bottleneck(rows, positions, period_days)
    nothing = pl.lit(None, dtype=pl.Float64)
    return rows.select(
        "account_id",
        "project",
        pl.concat_list([pl.col(_c(k)) for k in positions]).alias("counts"),
        pl.concat_list([nothing] + [pl.col(f"r{k}") for k in positions[1:]]).alias("rates"),
        pl.concat_list([nothing] + [pl.col(f"hr{k}") for k in positions[1:]]).alias("history_rates"),
        pl.concat_list([nothing] + [pl.col(f"b{k}") for k in positions[1:]]).alias("benchmark_rates"),
        "peer_group",
        "peers",
        "bottleneck_position",
        "loss",
        "loss_per_month",
    ).sort("account_id", "project")


def _benchmark(totals: pl.DataFrame, positions: range) -> pl.DataFrame:
    """Leave-one-out pooled rates of each client's peer group, or of all other clients when the group has
    fewer than MIN_PEERS others (or the client has no value to compare on)."""
    cols = [_c(k) for k in positions]
    group = totals.group_by("peer").agg(pl.len().alias("g_n"), *[pl.col(c).sum().alias(f"g_{c}") for c in cols])
    everyone = totals.select(pl.len().alias("t_n"), *[pl.col(c).sum().alias(f"t_{c}") for c in cols])
    joined = totals.join(group, on="peer").join(everyone, how="cross")
    own_group = (pl.col("peer") != "") & (pl.col("g_n") - 1 >= MIN_PEERS)
    pooled = {c: pl.when(own_group).then(pl.col(f"g_{c}")).otherwise(pl.col(f"t_{c}")) - pl.col(c) for c in cols}
    return joined.select(
        "account_id",
        pl.when(own_group).then(pl.col("peer")).otherwise(pl.lit("")).alias("peer_group"),
        (pl.when(own_group).then(pl.col("g_n")).otherwise(pl.col("t_n")) - 1).cast(pl.Int64).alias("peers"),
        *[_ratio(pooled[_c(k)], pooled[_c(k - 1)]).alias(f"b{k}") for k in positions[1:]],
    )


def _bottleneck(rows: pl.DataFrame, positions: range, period_days: int) -> pl.DataFrame:
    later = list(positions[1:])
    if not later:
        return rows.with_columns(
            pl.lit(None, dtype=pl.Int32).alias("bottleneck_position"),
            pl.lit(0.0).alias("loss"),
            pl.lit(Decimal("0.00")).alias("loss_per_month"),
        )
    effective = {j: pl.coalesce(pl.col(f"r{j}"), pl.col(f"b{j}")) for j in later}
    losses = []
    for k in later:
        shortfall = (pl.col(_c(k - 1)) * pl.col(f"b{k}") - pl.col(_c(k))).clip(lower_bound=0)
        multiplier = pl.lit(1.0)
        for j in later:
            if j > k:
                multiplier = multiplier * effective[j]
        losses.append((shortfall * multiplier).fill_null(0.0).alias(f"loss{k}"))
    rows = rows.with_columns(losses)
    # Losses are compared at a precision far below what is shown, so that equal losses computed through
    # different float paths still tie (and the earliest stage wins).
    rounded = {k: pl.col(f"loss{k}").round(9) for k in later}
    most = pl.max_horizontal(*rounded.values())
    rows = rows.with_columns(
        pl.coalesce([pl.when((most > 0) & (rounded[k] == most)).then(pl.lit(k, dtype=pl.Int32)) for k in later]).alias(
            "bottleneck_position"
        ),
        pl.max_horizontal(*[pl.col(f"loss{k}") for k in later]).alias("loss"),
    )
    return rows.with_columns(
        pl.col("loss")
        .map_elements(lambda lost: per_month(lost, period_days), return_dtype=pl.Decimal(12, 2))
        .alias("loss_per_month")
    )


def per_month(lost: float, period_days: int) -> Decimal:
    """Outcomes lost in a period of `period_days`, as outcomes per 30 days (2 places, half up)."""
    return (Decimal(repr(lost)) * 30 / period_days).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def points_below(rate: float, bench: float) -> int:
    """How many percentage points `rate` is below `bench`, rounded half up."""
    return int((Decimal(repr(bench)) - Decimal(repr(rate))).scaleb(2).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def outcomes_text(per_month_lost: Decimal) -> str:
    """One decimal under 10 (0.8), a whole number from 10 (12)."""
    if per_month_lost < 10:
        return str(per_month_lost.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    return str(per_month_lost.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def explain(row: dict[str, object], stages: Sequence[StageInfo], template: str) -> str:
    """The sentence for a result row of `funnel_table`; "" without a bottleneck.

    `template` has the placeholders {rate}, {points}, {outcome} and {lost} (the caller translates it)."""
    position = row.get("bottleneck_position")
    if not position:
        return ""
    k = int(position)  # type: ignore[call-overload]
    rates, bench = row["rates"], row["benchmark_rates"]
    assert isinstance(rates, list) and isinstance(bench, list)
    lost = row["loss_per_month"]
    assert isinstance(lost, Decimal)
    return template.format(
        rate=stages[k - 1].rate_name,
        points=points_below(rates[k - 1], bench[k - 1]),
        outcome=stages[-1].label,
        lost=outcomes_text(lost),
    )
