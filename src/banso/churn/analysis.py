"""Churn analysis for a period: monthly logo and revenue churn, GRR/NRR, NetMRR movements, reasons, the
attribute lift table and Kaplan–Meier retention curves by cohort. Definitions: docs/CHURN.md.

Revenue comes from contract intervals alone (a contract runs from `start_date` up to, not including, its
churn date or end date), computed with polars for every account at once; reasons come from churn records."""

from __future__ import annotations

import datetime
import hashlib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl
from django.core.cache import cache
from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from banso.accounts.choices import ContactRole, ContractStatus, LifecycleStage, TouchTier
from banso.accounts.models import Account, Contact, Contract
from banso.core import charts
from banso.core.calendar import month_start
from banso.core.models import User

from .models import ChurnReason, ChurnRecord

DAYS_PER_MONTH = 365.25 / 12
DEFAULT_MONTHS = 24
TRAILING = 12
MAX_ATTRIBUTE_VALUES = 12  # custom attributes with more distinct values are not grouped
MRR_BANDS: list[tuple[int, str]] = [
    (50_000, "〜5万円"),
    (100_000, "5万〜10万円"),
    (300_000, "10万〜30万円"),
    (1_000_000, "30万〜100万円"),
    (2**62, "100万円〜"),
]
CURVE_POINTS = (12, 24, 36)
CACHE_SECONDS = 3600


@dataclass(frozen=True)
class Period:
    """Whole months: `start` is the first month's first day, `end` the last month's first day."""

    start: datetime.date
    end: datetime.date

    @property
    def months(self) -> list[datetime.date]:
        count = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1
        return [month_start(self.start, i) for i in range(count)]

    @property
    def stop(self) -> datetime.date:
        """The first day after the period."""
        return month_start(self.end, 1)


def default_period(today: datetime.date | None = None) -> Period:
    today = today or timezone.localdate()
    end = today.replace(day=1)
    return Period(month_start(end, -(DEFAULT_MONTHS - 1)), end)


@dataclass(frozen=True)
class Filters:
    tier: str = ""
    industry: str = ""
    owner_id: int | None = None

    def accounts(self) -> QuerySet[Account]:
        rows = Account.objects.all()
        if self.tier:
            rows = rows.filter(tier=self.tier)
        if self.industry:
            rows = rows.filter(industry=self.industry)
        if self.owner_id:
            rows = rows.filter(owner_id=self.owner_id)
        return rows

    @property
    def any(self) -> bool:
        return bool(self.tier or self.industry or self.owner_id)


@dataclass
class MonthRow:
    month: datetime.date
    active_accounts: int
    new_accounts: int
    churned_accounts: int
    logo_churn_rate: float | None
    start_mrr: int
    new_mrr: int
    expansion_mrr: int
    contraction_mrr: int
    churned_mrr: int
    net_mrr: int
    end_mrr: int
    revenue_churn_rate: float | None
    grr: float | None
    nrr: float | None
    grr_12m: float | None
    nrr_12m: float | None


@dataclass
class ReasonRow:
    reason: str
    sub_reason: str
    records: int
    lost_mrr: int
    share: float | None


@dataclass
class LiftRow:
    attribute: str
    value: str
    accounts: int
    churned: int
    share_churned: float | None
    share_all: float | None
    lift: float | None
    churn_rate: float | None
    p_value: float | None
    test: str  # "fisher" or "z": which test gave the p-value


@dataclass
class CurvePoint:
    month: int
    survival: float
    lower: float
    upper: float


@dataclass
class CohortRow:
    cohort: str
    accounts: int
    churned: int
    median_months: float | None  # None: the curve never fell to 50 %
    survival_at: dict[int, float | None]
    curve: list[CurvePoint] = field(default_factory=list)


@dataclass
class ChurnAnalysis:
    period: Period
    filters: Filters
    months: list[MonthRow]
    reasons: list[ReasonRow]
    lift: list[LiftRow]
    cohorts: list[CohortRow]
    cohort_by: str
    churned_accounts: int
    at_risk_accounts: int
    unrecorded_contracts: int

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["period"] = {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()}
        for row in data["months"]:
            row["month"] = row["month"].isoformat()[:7]
        for cohort in data["cohorts"]:
            cohort["survival_at"] = {str(k): v for k, v in cohort["survival_at"].items()}
        return data


# --- Contract intervals → MRR per account at month starts ------------------------------------------------


def contract_frame(account_ids: QuerySet[Account] | None = None) -> pl.DataFrame:
    """One row per contract: account_id, plan, mrr, start, end (exclusive; null = still running)."""
    rows = Contract.objects.exclude(status=ContractStatus.PENDING, start_date__isnull=True)
    if account_ids is not None:
        rows = rows.filter(account_id__in=account_ids.values("pk"))
    data = list(rows.values_list("account_id", "plan", "mrr", "start_date", "end_date", "status", "churned_on"))
    frame = pl.DataFrame(
        data,
        schema={
            "account_id": pl.Int64,
            "plan": pl.String,
            "mrr": pl.Int64,
            "start": pl.Date,
            "end_date": pl.Date,
            "status": pl.String,
            "churned_on": pl.Date,
        },
        orient="row",
    )
    return frame.with_columns(
        end=pl.when(pl.col("status") == ContractStatus.CHURNED).then(pl.col("churned_on")).otherwise(pl.col("end_date"))
    ).select("account_id", "plan", "mrr", "start", "end")


def mrr_matrix(contracts: pl.DataFrame, days: Sequence[datetime.date]) -> tuple[np.ndarray, np.ndarray]:
    """MRR per account on each of `days` (sorted): (account ids, matrix accounts × days, int64 yen).

    A contract counts on day d when start <= d < end. Each contract covers a contiguous run of the sorted
    days, found by binary search; adding its MRR where the run starts and subtracting it where it stops,
    then summing along the days, fills the matrix in time proportional to contracts + accounts × days."""
    if contracts.is_empty():
        return np.zeros(0, dtype=np.int64), np.zeros((0, len(days)), dtype=np.int64)
    bounds = pl.Series("bounds", list(days), dtype=pl.Date)
    first = bounds.search_sorted(contracts["start"], side="left").to_numpy().astype(np.int64)
    ends = contracts["end"]
    last = np.where(
        ends.is_null().to_numpy(),
        len(days),
        bounds.search_sorted(ends.fill_null(datetime.date(9999, 12, 31)), side="left").to_numpy(),
    ).astype(np.int64)
    last = np.maximum(first, last)
    ids, row = np.unique(contracts["account_id"].to_numpy(), return_inverse=True)
    mrr = contracts["mrr"].to_numpy().astype(np.int64)
    steps = np.zeros((len(ids), len(days) + 1), dtype=np.int64)
    np.add.at(steps, (row, first), mrr)
    np.add.at(steps, (row, last), -mrr)
    return ids, np.cumsum(steps[:, :-1], axis=1)


def _rate(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def monthly(contracts: pl.DataFrame, period: Period) -> list[MonthRow]:
    months = period.months
    # Month starts: twelve before the period (for trailing figures), the period's, and the day after it.
    days = [month_start(period.start, i) for i in range(-TRAILING, len(months) + 1)]
    _ids, levels = mrr_matrix(contracts, days)
    out = []
    for j, month in enumerate(months):
        k = TRAILING + j
        s, e = levels[:, k], levels[:, k + 1]
        live = s > 0
        start_mrr = int(s.sum())
        new = int(e[~live].sum())
        expansion = int(np.where(live & (e > s), e - s, 0).sum())
        contraction = int(np.where((e > 0) & (e < s), s - e, 0).sum())
        gone = live & (e == 0)
        churned = int(s[gone].sum())
        active, churned_accounts = int(live.sum()), int(gone.sum())
        # Trailing twelve months: accounts live at the start of month m-11, their MRR then (base)
        # against their MRR after month m.
        base = levels[:, k - TRAILING + 1]
        held = base > 0
        base_mrr, after = int(base.sum()), e[held]
        out.append(
            MonthRow(
                month=month,
                active_accounts=active,
                new_accounts=int(((s == 0) & (e > 0)).sum()),
                churned_accounts=churned_accounts,
                logo_churn_rate=_rate(churned_accounts, active),
                start_mrr=start_mrr,
                new_mrr=new,
                expansion_mrr=expansion,
                contraction_mrr=contraction,
                churned_mrr=churned,
                net_mrr=new + expansion - contraction - churned,
                end_mrr=int(e.sum()),
                revenue_churn_rate=_rate(churned, start_mrr),
                grr=_rate(start_mrr - contraction - churned, start_mrr),
                nrr=_rate(start_mrr + expansion - contraction - churned, start_mrr),
                grr_12m=_rate(int(np.minimum(after, base[held]).sum()), base_mrr),
                nrr_12m=_rate(int(after.sum()), base_mrr),
            )
        )
    return out


# --- Reasons -------------------------------------------------------------------------------------------


def reasons(period: Period, filters: Filters) -> list[ReasonRow]:
    """Count and lost MRR per reason (a total row with an empty sub-reason) and per sub-reason."""
    # A churn on day d counts in the month of d − 1, its last day of service (as in `monthly`).
    rows = ChurnRecord.objects.filter(churned_on__gt=period.start, churned_on__lte=period.stop)
    if filters.any:
        rows = rows.filter(account__in=filters.accounts())
    grouped = list(
        rows.values("reason__name", "reason__order", "reason_id", "sub_reason__name", "sub_reason__order")
        .annotate(records=Count("id"), lost=Sum("lost_mrr"))
        .order_by("reason__order", "reason_id", "sub_reason__order", "sub_reason__name")
    )
    total = sum(int(g["records"]) for g in grouped)
    out: list[ReasonRow] = []
    for reason_id in dict.fromkeys(g["reason_id"] for g in grouped):
        parts = [g for g in grouped if g["reason_id"] == reason_id]
        count = sum(int(g["records"]) for g in parts)
        out.append(
            ReasonRow(parts[0]["reason__name"], "", count, sum(int(g["lost"] or 0) for g in parts), _rate(count, total))
        )
        for g in parts:
            if g["sub_reason__name"] is not None:
                out.append(
                    ReasonRow(
                        g["reason__name"],
                        g["sub_reason__name"],
                        int(g["records"]),
                        int(g["lost"] or 0),
                        _rate(int(g["records"]), total),
                    )
                )
    return out


# --- Which attributes churners share -----------------------------------------------------------------------


def _band(mrr: int) -> str:
    return next(label for limit, label in MRR_BANDS if mrr < limit)


def at_risk(contracts: pl.DataFrame, period: Period) -> pl.DataFrame:
    """Accounts live at some month start in the period: account_id, churned (bool: their MRR fell to zero
    during a month of the period), churned_on (the month start after the first such month), mrr (at their
    last live month start)."""
    schema = {"account_id": pl.Int64, "churned": pl.Boolean, "churned_on": pl.Date, "mrr": pl.Int64}
    days = [*period.months, period.stop]
    ids, levels = mrr_matrix(contracts, days)
    start, after = levels[:, :-1], levels[:, 1:]
    live = start > 0
    keep = live.any(axis=1)
    if not keep.any():
        return pl.DataFrame(schema=schema)
    gone = live & (after == 0)
    churned = gone.any(axis=1)
    month_after = np.array(days, dtype="datetime64[D]")[np.argmax(gone, axis=1) + 1]
    last_live = live.shape[1] - 1 - np.argmax(live[:, ::-1], axis=1)
    return pl.DataFrame(
        {
            "account_id": ids[keep],
            "churned": churned[keep],
            "churned_on": pl.Series(month_after[keep]).cast(pl.Date),
            "mrr": start[np.arange(len(ids)), last_live][keep],
        },
        schema=schema,
    ).with_columns(churned_on=pl.when(pl.col("churned")).then(pl.col("churned_on")))


def lift(contracts: pl.DataFrame, period: Period, filters: Filters) -> tuple[list[LiftRow], int, int]:
    """Each attribute value's share among churners against its share among all accounts at risk.
    Returns the rows, the number of churners and the number of accounts at risk."""
    risk = at_risk(contracts, period)
    total, churners = risk.height, int(risk["churned"].sum()) if risk.height else 0
    if not total:
        return [], 0, 0
    ids = risk["account_id"].to_list()
    accounts = _account_attributes(filters, set(ids))
    # The plan of each account's latest contract begun before the period's end.
    plans = (
        contracts.filter(pl.col("start") < period.stop)
        .sort("start")
        .group_by("account_id")
        .agg(plan=pl.col("plan").last())
    )
    plan_of = dict(zip(plans["account_id"].to_list(), plans["plan"].to_list(), strict=True))
    left = _champion_left(filters)
    # Labels are translated once, not per account: gettext costs ~50 µs a call.
    tiers = {code: str(label) for code, label in TouchTier.choices}
    stages = {code: str(label) for code, label in LifecycleStage.choices}
    none, yes, no = _("(none)"), _("Yes"), _("No")
    names = {
        "tier": _("Touch tier"),
        "industry": _("Industry"),
        "plan": _("Plan"),
        "stage": _("Lifecycle stage"),
        "owner": _("Owner CSM"),
        "band": _("MRR band"),
        "left": _("Primary contact or champion left"),
    }
    columns: dict[str, list[str | None]] = {name: [] for name in names.values()}
    tier_col, industry_col, plan_col, stage_col, owner_col, band_col, left_col = columns.values()
    custom: dict[str, list[str | None]] = {}
    rows = list(risk.iter_rows(named=True))
    for i, row in enumerate(rows):
        account_id = row["account_id"]
        tier, industry, stage, owner, attrs = accounts.get(account_id, ("", "", "", None, {}))
        tier_col.append(tiers.get(tier, tier))
        industry_col.append(industry or none)
        plan_col.append(plan_of.get(account_id) or none)
        # The churned stage is the outcome itself, not an attribute.
        stage_col.append(None if stage == LifecycleStage.CHURNED else stages.get(stage, stage))
        owner_col.append(owner or none)
        band_col.append(_band(int(row["mrr"])))
        left_on = left.get(account_id)
        left_col.append(yes if left_on is not None and left_on <= (row["churned_on"] or period.stop) else no)
        for key, value in attrs.items():
            if isinstance(value, str | bool | int):
                values = custom.get(key)
                if values is None:
                    values = custom[key] = [None] * len(rows)
                values[i] = str(value)
    for key, values in sorted(custom.items()):
        distinct = len({v for v in values if v is not None})
        # A grouping, not an identifier: a few values, shared by two accounts each on average.
        if 1 < distinct <= MAX_ATTRIBUTE_VALUES and distinct * 2 <= sum(v is not None for v in values):
            columns[str(key)] = values
    frame = pl.DataFrame(
        {"churned": risk["churned"], **{name: pl.Series(v, dtype=pl.String) for name, v in columns.items()}}
    )
    out: list[LiftRow] = []
    for name in columns:
        groups = (
            frame.select(name, "churned")
            .drop_nulls(name)
            .group_by(name)
            .agg(accounts=pl.len(), churned=pl.col("churned").sum())
            .sort(name)
        )
        for value, n_all, n_churn in groups.iter_rows():
            n_all, n_churn = int(n_all), int(n_churn)
            share_churned, share_all = _rate(n_churn, churners), n_all / total
            p_value, test = significance(n_churn, n_all, churners, total)
            out.append(
                LiftRow(
                    attribute=name,
                    value=str(value),
                    accounts=n_all,
                    churned=n_churn,
                    share_churned=share_churned,
                    share_all=share_all,
                    lift=share_churned / share_all if share_churned is not None else None,
                    churn_rate=n_churn / n_all,
                    p_value=p_value,
                    test=test,
                )
            )
    return out, churners, total


def significance(churned: int, accounts: int, churners: int, total: int) -> tuple[float | None, str]:
    """Two-sided p-value that a group of `accounts` with `churned` churners differs from the rest.

    Fisher's exact test of the 2×2 table when any expected cell is under 5 (small groups, where it matters);
    otherwise the pooled two-proportion z-test, which agrees closely there and costs nothing at 100,000
    accounts (Fisher's test on such counts takes ~25 ms per group, and owners alone may be a thousand groups)."""
    from scipy.stats import fisher_exact, norm

    if not churners or churners == total:
        return None, ""
    rest = total - accounts
    expected = [accounts * churners, accounts * (total - churners), rest * churners, rest * (total - churners)]
    if min(expected) < 5 * total:
        table = [[churned, accounts - churned], [churners - churned, rest - (churners - churned)]]
        return float(fisher_exact(table).pvalue), "fisher"
    pooled = churners / total
    error = math.sqrt(pooled * (1 - pooled) * (1 / accounts + 1 / rest))
    z = (churned / accounts - (churners - churned) / rest) / error
    return float(2 * norm.sf(abs(z))), "z"


def _account_attributes(filters: Filters, ids: set[int]) -> dict[int, tuple[str, str, str, str | None, dict[str, Any]]]:
    """tier, industry, lifecycle stage, owner's name and custom attributes of the accounts in `ids`.

    Read in one pass over the (filtered) accounts rather than by id lists: building 100,000-id IN clauses
    cost the ORM seconds."""
    owners = {u.pk: str(u) for u in User.objects.filter(owned_accounts__isnull=False).distinct()}
    rows = filters.accounts().values_list("pk", "tier", "industry", "lifecycle_stage", "owner_id", "attributes")
    return {
        pk: (
            tier,
            industry,
            stage,
            owners.get(owner_id) if owner_id else None,
            attrs if isinstance(attrs, dict) else {},
        )
        for pk, tier, industry, stage, owner_id, attrs in rows.iterator(chunk_size=5000)
        if pk in ids
    }


def _champion_left(filters: Filters) -> dict[int, datetime.date]:
    """Per account, the first day a primary contact, champion or decision maker left."""
    keyed = Q(is_primary=True) | Q(role__in=[ContactRole.CHAMPION, ContactRole.DECISION_MAKER])
    left = Contact.objects.filter(keyed, left_on__isnull=False)
    if filters.any:
        left = left.filter(account__in=filters.accounts())
    return dict(left.values("account_id").annotate(first=Min("left_on")).values_list("account_id", "first"))


# --- Retention curves ----------------------------------------------------------------------------------


def lifetimes(contracts: pl.DataFrame, as_of: datetime.date, cohort_by: str = "year") -> pl.DataFrame:
    """Per account begun before `as_of`: cohort, months from its first contract's start to its churn
    (the end of its last contract, when nothing runs at `as_of`) or to `as_of` (censored), and churned."""
    if contracts.is_empty():
        return pl.DataFrame(
            schema={"account_id": pl.Int64, "cohort": pl.String, "months": pl.Float64, "churned": pl.Boolean}
        )
    open_end = pl.col("end").is_null() | (pl.col("end") > as_of)
    per = (
        contracts.filter(pl.col("start") < as_of)
        .group_by("account_id")
        .agg(first=pl.col("start").min(), running=open_end.any(), last_end=pl.col("end").max())
    )
    stop = pl.when(pl.col("running")).then(pl.lit(as_of)).otherwise(pl.col("last_end"))
    year = pl.col("first").dt.year().cast(pl.String)
    cohort = year if cohort_by == "year" else year + pl.lit("Q") + pl.col("first").dt.quarter().cast(pl.String)
    return per.select(
        "account_id",
        cohort=cohort,
        months=(stop - pl.col("first")).dt.total_days().cast(pl.Float64) / DAYS_PER_MONTH,
        churned=~pl.col("running"),
    )


def retention(lives: pl.DataFrame) -> list[CohortRow]:
    """A Kaplan–Meier curve per cohort with its 95 % confidence band (lifelines' exponential Greenwood),
    read off at whole months."""
    from lifelines import KaplanMeierFitter

    out = []
    for cohort in sorted(lives["cohort"].unique().to_list()):
        part = lives.filter(pl.col("cohort") == cohort)
        durations = part["months"].to_numpy()
        events = part["churned"].to_numpy().astype(bool)
        kmf = KaplanMeierFitter().fit(durations, events, label=cohort)
        times = kmf.survival_function_.index.to_numpy()
        survival = kmf.survival_function_.iloc[:, 0].to_numpy()
        bands = kmf.confidence_interval_survival_function_
        lower, upper = bands.iloc[:, 0].to_numpy(), bands.iloc[:, 1].to_numpy()
        horizon = math.floor(float(durations.max())) if len(durations) else 0
        curve = []
        for month in range(horizon + 1):
            i = int(np.searchsorted(times, month, side="right")) - 1
            curve.append(
                CurvePoint(month, float(survival[i]), float(np.nan_to_num(lower[i], nan=0.0)), float(upper[i]))
            )
        median = float(kmf.median_survival_time_)
        out.append(
            CohortRow(
                cohort=cohort,
                accounts=len(durations),
                churned=int(events.sum()),
                median_months=median if math.isfinite(median) else None,
                survival_at={m: curve[m].survival if m < len(curve) else None for m in CURVE_POINTS},
                curve=curve,
            )
        )
    return out


# --- Everything at once ---------------------------------------------------------------------------------


def analyse(period: Period, filters: Filters | None = None, *, cohort_by: str = "year") -> ChurnAnalysis:
    filters = filters or Filters()
    contracts = contract_frame(filters.accounts() if filters.any else None)
    lift_rows, churners, total = lift(contracts, period, filters)
    unrecorded = Contract.objects.filter(
        status=ContractStatus.CHURNED,
        churned_on__gt=period.start,
        churned_on__lte=period.stop,
        churn_records__isnull=True,
    )
    if filters.any:
        unrecorded = unrecorded.filter(account__in=filters.accounts())
    return ChurnAnalysis(
        period=period,
        filters=filters,
        months=monthly(contracts, period),
        reasons=reasons(period, filters),
        lift=lift_rows,
        cohorts=retention(lifetimes(contracts, min(period.stop, timezone.localdate()), cohort_by)),
        cohort_by=cohort_by,
        churned_accounts=churners,
        at_risk_accounts=total,
        unrecorded_contracts=unrecorded.count(),
    )


def cached_analyse(period: Period, filters: Filters | None = None, *, cohort_by: str = "year") -> ChurnAnalysis:
    """`analyse`, kept in the cache until an account, contract or churn record changes (or for an hour):
    the page, its download and the API ask for the same figures in turn, and at 100,000 accounts one
    analysis reads every account and contract (about 10 s on SQLite)."""
    filters = filters or Filters()
    stamp = [
        model.objects.aggregate(n=Count("pk"), last=Max("updated_at")) for model in (Account, Contract, ChurnRecord)
    ]
    reasons = list(ChurnReason.objects.values_list("pk", "parent_id", "name", "order"))
    key = (
        "churn-analysis:"
        + hashlib.sha256(
            repr(
                (period, filters, cohort_by, timezone.localdate(), stamp, reasons, translation.get_language())
            ).encode()
        ).hexdigest()
    )
    found = cache.get(key)
    if isinstance(found, ChurnAnalysis):
        return found
    result = analyse(period, filters, cohort_by=cohort_by)
    cache.set(key, result, CACHE_SECONDS)
    return result


# --- Charts (Chart.js configurations; the tables beside them carry the exact numbers) -------------------


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 2)


def chart_configs(result: ChurnAnalysis) -> dict[str, dict[str, Any]]:
    labels = [m.month.strftime("%Y-%m") for m in result.months]
    rows = result.months
    rates = charts.line_chart(
        labels,
        [
            charts.series(_("Logo churn rate"), [_pct(m.logo_churn_rate) for m in rows], 0),
            charts.series(_("Revenue churn rate"), [_pct(m.revenue_churn_rate) for m in rows], 1),
        ],
        y_title="%",
    )
    retention_chart = charts.line_chart(
        labels,
        [
            charts.series(_("GRR (month)"), [_pct(m.grr) for m in rows], 0),
            charts.series(_("NRR (month)"), [_pct(m.nrr) for m in rows], 1),
            charts.series(_("GRR (trailing 12 months)"), [_pct(m.grr_12m) for m in rows], 2, borderDash=[6, 3]),
            charts.series(_("NRR (trailing 12 months)"), [_pct(m.nrr_12m) for m in rows], 3, borderDash=[6, 3]),
        ],
        y_title="%",
    )
    net = charts.bar_chart(
        labels,
        [
            charts.series(_("New"), [m.new_mrr for m in rows], 2, stack="mrr"),
            charts.series(_("Expansion"), [m.expansion_mrr for m in rows], 5, stack="mrr"),
            charts.series(_("Contraction"), [-m.contraction_mrr for m in rows], 4, stack="mrr"),
            charts.series(_("Churned"), [-m.churned_mrr for m in rows], 1, stack="mrr"),
            charts.series(_("NetMRR"), [m.net_mrr for m in rows], 7, type="line"),
        ],
        y_title=_("yen"),
        stacked=True,
    )
    top = [r for r in result.reasons if not r.sub_reason]
    reason_chart = charts.bar_chart(
        [r.reason for r in top], [charts.series(_("Churn records"), [r.records for r in top], 0)]
    )
    reason_chart["options"]["indexAxis"] = "y"
    datasets: list[dict[str, Any]] = []
    longest = max((len(c.curve) for c in result.cohorts), default=0)
    for i, cohort in enumerate(result.cohorts):
        points = [_pct(p.survival) for p in cohort.curve]
        colour = charts.PALETTE[i % len(charts.PALETTE)]
        datasets.append(charts.series(cohort.cohort, points, i, stepped=True, pointRadius=0))
        band = {"borderWidth": 0, "pointRadius": 0, "stepped": True, "backgroundColor": colour + "22"}
        datasets.append(
            {
                "label": "",
                "data": [_pct(p.upper) for p in cohort.curve],
                "fill": False,
                "borderColor": colour + "00",
                **band,
            }
        )
        datasets.append(
            {
                "label": "",
                "data": [_pct(p.lower) for p in cohort.curve],
                "fill": "-1",
                "borderColor": colour + "00",
                **band,
            }
        )
    survival = charts.line_chart([str(m) for m in range(longest)], datasets, y_title="%", y_max=100)
    survival["options"]["scales"]["x"] = {"title": {"display": True, "text": _("months since start")}}
    return {"rates": rates, "retention": retention_chart, "net_mrr": net, "reasons": reason_chart, "survival": survival}
