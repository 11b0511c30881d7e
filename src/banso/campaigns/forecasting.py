"""How a special rate's acquisitions are forecast — the method, as pure, vectorised functions over arrays.

The same code makes a single forecast for a proposal (one "case") and replays every past special-rate period
of every offer in a backtest (thousands of cases at once): `forecasts.py` gathers the history from the
database and the analytics lake into a `History`, `bench/_campaigns_backtest.py` generates one.

The method, for offer O, a proposed reward R over the days of period P (Tokyo dates), forecast on day F
(only data before F is used):

1. **Visitors.** The advertiser's unique visitors per day (distinct end users with a "visit" event there that
   Tokyo day). Baseline for P = for each weekday, the mean of the 8 same weekdays in the 8 weeks before F,
   summed over the days of P ("a Monday in P gets the mean of the last eight Mondays"). Uncertainty: the
   spread of the 8 weekly totals (their coefficient of variation), as a log-normal factor on the whole period.
2. **Conversion rate** = conversions of O that were not rejected (否認) per visitor-day (daily unique visitors
   summed) over the 90 days before F. With few data it is shrunk toward the offer's category: the category's
   pooled rate over the same 90 days counts as `PRIOR_CONVERSIONS` conversions' worth of evidence (a Beta
   prior), so an offer with 3 conversions leans on its category and one with 3,000 on itself. Uncertainty: the
   Beta posterior.
3. **Uplift of a special rate.** For every past special-rate period: x = log(reward ratio) (special reward /
   base reward, both in yen per acquisition — rates × the average order amount), y = log(conversion rate
   during the period / conversion rate in the 28 days before it). Fitted through the origin (no increase,
   no uplift): y = β·x, weighted by the periods' sizes (1 / Poisson variance of y). So β is an elasticity:
   doubling the reward multiplies conversions by 2^β. We use O's own past periods when it has at least
   `MIN_OWN_PERIODS` of them, else its category's (which include O's); with none at all a cautious default
   (β = `DEFAULT_BETA` with a wide spread). A single log-linear slope is robust to a few odd periods, needs few
   of them, and reads naturally to an advertiser; a median of ratios at "similar increases" needs many more
   periods per increase level. Uncertainty: the weighted spread of the past periods around the line, plus
   the slope's own uncertainty.
4. **Interval.** `DRAWS` simulations with a fixed seed: visitors × conversion rate × uplift, then Poisson noise
   of the count. Reported as an 80 % interval: p10 (low), p50 (mid), p90 (high) of acquisitions; reward cost
   (acquisitions × yen per acquisition, for rate offers × the average order amount over the same 90 days),
   the advertiser's sales (acquisitions × average order amount), the users' cashback and the media's net
   revenue (reward − cashback), all integer yen. Never a point alone.
5. **Backtest.** Every past special-rate period of every offer is forecast with only the data before its start
   (the uplift fitted on periods that had ended by then) and compared with its actual conversions: MAPE,
   median APE, bias (Σ(mid − actual) / Σ actual) and coverage (share of actuals within low–high), overall and
   by category. Periods with no actual conversions have no percentage error and count only for coverage.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

BASELINE_WEEKS = 8
CVR_DAYS = 90
BEFORE_DAYS = 28
PRIOR_CONVERSIONS = 5.0
MIN_OWN_PERIODS = 3
DEFAULT_BETA = 0.5
DEFAULT_SIGMA = 0.5
DRAWS = 2000
SEED = 20261126
INTERVAL = 0.8
QUANTILES = (0.1, 0.5, 0.9)

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


class MissingHistory(ValueError):
    """What a forecast needs is not there; the message names it."""


@dataclass
class History:
    """Daily history of a set of offers from `first_day` on (column t = first_day + t days):

    - `uu[o, t]`: unique visitors to offer o's advertiser's site that day (offers of one advertiser share it),
    - `conversions[o, t]`: o's conversions that day, rejected ones excluded; `order_amount[o, t]`: their order
      amounts (yen),
    - periods: special-rate periods as offer row, first day index, end day index (exclusive) and reward ratio.
    """

    first_day: dt.date
    offer_ids: Ints
    categories: npt.NDArray[np.str_]
    uu: Ints
    conversions: Ints
    order_amount: Ints
    period_offer: Ints = field(default_factory=lambda: np.zeros(0, np.int64))
    period_start: Ints = field(default_factory=lambda: np.zeros(0, np.int64))
    period_end: Ints = field(default_factory=lambda: np.zeros(0, np.int64))
    period_ratio: Floats = field(default_factory=lambda: np.zeros(0, np.float64))

    @property
    def days(self) -> int:
        return int(self.uu.shape[1])

    def index(self, day: dt.date) -> int:
        return (day - self.first_day).days


def _cumsum(matrix: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """Cumulative sums along days with a leading zero column: window [a, b) = c[:, b] - c[:, a]."""
    out = np.zeros((matrix.shape[0], matrix.shape[1] + 1), np.float64)
    np.cumsum(matrix, axis=1, out=out[:, 1:])
    return out


def _window(cum: Floats, rows: Ints, start: Ints, end: Ints) -> Floats:
    days = cum.shape[1] - 1
    a = np.clip(start, 0, days)
    b = np.clip(end, 0, days)
    return np.asarray(cum[rows, b] - cum[rows, a], np.float64)


@dataclass
class Cases:
    """What to forecast: per case the offer row, the forecast day index F (data before it), the period's
    first day index and length in days, and the reward ratio (proposed / base, yen per acquisition)."""

    offer: Ints
    as_of: Ints
    start: Ints
    days: Ints
    ratio: Floats


@dataclass
class Forecasts:
    """Per case: the inputs (for display) and the simulated quantiles (p10, p50, p90) of acquisitions."""

    baseline_uu: Floats
    uu_cv: Floats
    cvr_conversions: Floats
    cvr_visitors: Floats
    cvr_prior_rate: Floats
    cvr_mean: Floats
    beta: Floats
    sigma: Floats
    uplift_periods: Ints
    uplift_source: npt.NDArray[np.str_]
    uplift: Floats
    avg_order: Floats
    acquisitions: Floats  # (cases, 3)
    draws: Floats  # (cases, DRAWS) acquisitions per simulation

    def row(self, i: int) -> dict[str, Any]:
        """One case's inputs, JSON-ready."""
        return {
            "unique_visitors": round(float(self.baseline_uu[i]), 1),
            "unique_visitors_cv": round(float(self.uu_cv[i]), 4),
            "history_conversions": int(self.cvr_conversions[i]),
            "history_visitor_days": int(self.cvr_visitors[i]),
            "category_rate": float(self.cvr_prior_rate[i]),
            "conversion_rate": float(self.cvr_mean[i]),
            "uplift_beta": round(float(self.beta[i]), 4),
            "uplift_sigma": round(float(self.sigma[i]), 4),
            "uplift_periods": int(self.uplift_periods[i]),
            "uplift_source": str(self.uplift_source[i]),
            "uplift": round(float(self.uplift[i]), 4),
            "average_order": round(float(self.avg_order[i])),
        }


# Past special-rate periods ---------------------------------------------------------------------------------


@dataclass
class Effects:
    """Per past period: x = log reward ratio, y = log conversion-rate ratio vs the 28 days before, weight w,
    and the day index it ended (usable by forecasts made on or after it)."""

    offer: Ints
    start: Ints
    end: Ints
    x: Floats
    y: Floats
    w: Floats
    during: Floats
    before: Floats


def period_effects(history: History) -> Effects:
    """The uplift each past special-rate period showed (periods with 28 days of history before them)."""
    ok = history.period_start >= BEFORE_DAYS
    ok &= history.period_end <= history.days
    ok &= history.period_ratio > 0
    rows = history.period_offer[ok]
    start, end, ratio = history.period_start[ok], history.period_end[ok], history.period_ratio[ok]
    cu, cc = _cumsum(history.uu), _cumsum(history.conversions)
    c_p = _window(cc, rows, start, end)
    n_p = _window(cu, rows, start, end)
    c_b = _window(cc, rows, start - BEFORE_DAYS, start)
    n_b = _window(cu, rows, start - BEFORE_DAYS, start)
    usable = (n_p > 0) & (n_b > 0)
    rows, start, end, ratio = rows[usable], start[usable], end[usable], ratio[usable]
    c_p, n_p, c_b, n_b = c_p[usable], n_p[usable], c_b[usable], n_b[usable]
    y = np.log((c_p + 0.5) / n_p) - np.log((c_b + 0.5) / n_b)
    w = 1.0 / (1.0 / (c_p + 0.5) + 1.0 / (c_b + 0.5))
    return Effects(
        offer=rows,
        start=start,
        end=end,
        x=np.log(ratio),
        y=y,
        w=w,
        during=c_p / n_p,
        before=c_b / n_b,
    )


def _fit(sums: Floats) -> tuple[Floats, Floats]:
    """β and σ from cumulative sums [n, Σw, Σwx², Σwxy, Σwy²] (rows: cases)."""
    n, sw, sxx, sxy, syy = (sums[:, k] for k in range(5))
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.where(sxx > 1e-12, sxy / np.where(sxx > 1e-12, sxx, 1.0), DEFAULT_BETA)
        resid = np.maximum(syy - 2 * beta * sxy + beta * beta * sxx, 0.0)
        var = np.where(sw > 0, resid / np.where(sw > 0, sw, 1.0), DEFAULT_SIGMA**2)
        # the slope's own uncertainty, for few periods: σ²(1 + 1/n)
        sigma = np.sqrt(var * (1.0 + 1.0 / np.maximum(n, 1.0)))
    none = n < 1
    beta = np.where(none, DEFAULT_BETA, beta)
    sigma = np.where(none, DEFAULT_SIGMA, np.maximum(sigma, 0.05))
    return beta, sigma


def _sums_before(effects: Effects, groups: Ints, n_groups: int, case_group: Ints, case_day: Ints) -> Floats:
    """For each case, the sums [n, Σw, Σwx², Σwxy, Σwy²] over the effects of its group that ended by its day."""
    values = np.stack(
        [
            np.ones_like(effects.x),
            effects.w,
            effects.w * effects.x**2,
            effects.w * effects.x * effects.y,
            effects.w * effects.y**2,
        ],
        axis=1,
    )
    out = np.zeros((case_group.size, 5))
    if effects.x.size == 0:
        return out
    order = np.lexsort((effects.end, groups))
    g_sorted, end_sorted, v_sorted = groups[order], effects.end[order], values[order]
    cum = np.vstack([np.zeros((1, 5)), np.cumsum(v_sorted, axis=0)])
    # Position of each (group, end) boundary: effects of group g with end <= day.
    key_sorted = g_sorted.astype(np.float64) * 1e7 + end_sorted
    lo = np.searchsorted(key_sorted, case_group.astype(np.float64) * 1e7 - 0.5, side="left")
    hi = np.searchsorted(key_sorted, case_group.astype(np.float64) * 1e7 + case_day + 0.5, side="left")
    out = cum[hi] - cum[lo]
    return np.asarray(out, np.float64)


# Forecast --------------------------------------------------------------------------------------------------


def forecast(history: History, cases: Cases, draws: int = DRAWS, seed: int = SEED) -> Forecasts:
    """Forecast every case at once (see the module's docstring for the method)."""
    n_cases = cases.offer.size
    rows, as_of = cases.offer, cases.as_of
    first_weekday = history.first_day.weekday()

    # 1. Visitors: same-weekday means of the 8 weeks before F, summed over the period's days.
    lags = np.arange(1, BASELINE_WEEKS * 7 + 1)
    idx = as_of[:, None] - lags[None, :]
    valid = idx >= 0
    uu_lag = np.where(valid, history.uu[rows[:, None], np.clip(idx, 0, None)], 0).astype(np.float64)
    weekday_of_lag = (first_weekday + idx) % 7
    weekday_sum = np.zeros((n_cases, 7))
    weekday_n = np.zeros((n_cases, 7))
    np.add.at(weekday_sum, (np.repeat(np.arange(n_cases), lags.size), weekday_of_lag.ravel()), uu_lag.ravel())
    np.add.at(weekday_n, (np.repeat(np.arange(n_cases), lags.size), weekday_of_lag.ravel()), valid.ravel())
    weekday_mean = weekday_sum / np.maximum(weekday_n, 1)
    start_weekday = (first_weekday + cases.start) % 7
    full_weeks, rest = np.divmod(cases.days, 7)
    counts = np.repeat(full_weeks[:, None], 7, axis=1).astype(np.float64)
    offsets = (np.arange(7)[None, :] - start_weekday[:, None]) % 7  # day offset of each weekday in the period
    counts += offsets < rest[:, None]
    baseline_uu = (weekday_mean * counts).sum(axis=1)
    weekly = uu_lag.reshape(n_cases, BASELINE_WEEKS, 7).sum(axis=2)
    weeks_seen = valid.reshape(n_cases, BASELINE_WEEKS, 7).all(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        w_count = weeks_seen.sum(axis=1)
        w_mean = np.where(weeks_seen, weekly, 0).sum(axis=1) / np.maximum(w_count, 1)
        w_var = np.where(weeks_seen, (weekly - w_mean[:, None]) ** 2, 0).sum(axis=1) / np.maximum(w_count - 1, 1)
        uu_cv = np.where(w_mean > 0, np.sqrt(w_var) / np.where(w_mean > 0, w_mean, 1), 0.0)
    uu_cv = np.where(w_count >= 2, uu_cv, 0.25)

    # 2. Conversion rate over the 90 days before F, shrunk toward the category's.
    cu, cc, co = _cumsum(history.uu), _cumsum(history.conversions), _cumsum(history.order_amount)
    c90 = _window(cc, rows, as_of - CVR_DAYS, as_of)
    n90 = _window(cu, rows, as_of - CVR_DAYS, as_of)
    o90 = _window(co, rows, as_of - CVR_DAYS, as_of)
    names, category_of_offer = np.unique(history.categories, return_inverse=True)
    cat_cc = np.zeros((names.size, history.days + 1))
    cat_cu = np.zeros_like(cat_cc)
    cat_co = np.zeros_like(cat_cc)
    np.add.at(cat_cc, category_of_offer, cc)
    np.add.at(cat_cu, category_of_offer, cu)
    np.add.at(cat_co, category_of_offer, co)
    case_cat = category_of_offer[rows]
    cat_c = _window(cat_cc, case_cat, as_of - CVR_DAYS, as_of)
    cat_n = _window(cat_cu, case_cat, as_of - CVR_DAYS, as_of)
    cat_o = _window(cat_co, case_cat, as_of - CVR_DAYS, as_of)
    prior_rate = np.where(cat_n > 0, (cat_c + 0.5) / np.maximum(cat_n, 1), 0.0)
    prior_a = np.where(prior_rate > 0, PRIOR_CONVERSIONS, 0.5)
    prior_b = np.where(prior_rate > 0, PRIOR_CONVERSIONS / np.maximum(prior_rate, 1e-12), 0.5)
    post_a = prior_a + c90
    post_b = prior_b + np.maximum(n90 - c90, 0)
    cvr_mean = post_a / (post_a + post_b)
    avg_order = np.where(c90 > 0, o90 / np.maximum(c90, 1), np.where(cat_c > 0, cat_o / np.maximum(cat_c, 1), 0.0))

    # 3. Uplift: own periods that had ended by F when there are enough, else the category's.
    effects = period_effects(history)
    own = _sums_before(effects, effects.offer, history.offer_ids.size, rows, as_of)
    cat = _sums_before(effects, category_of_offer[effects.offer], names.size, case_cat, as_of)
    use_own = own[:, 0] >= MIN_OWN_PERIODS
    sums = np.where(use_own[:, None], own, cat)
    beta, sigma = _fit(sums)
    source = np.where(use_own, "offer", np.where(sums[:, 0] >= 1, "category", "default"))
    log_ratio = np.log(np.maximum(cases.ratio, 1e-9))
    uplift = np.exp(beta * log_ratio)

    # 4. Simulation.
    rng = np.random.default_rng(seed)
    uu_draw = baseline_uu[:, None] * np.exp(
        rng.standard_normal((n_cases, draws)) * uu_cv[:, None] - uu_cv[:, None] ** 2 / 2
    )
    cvr_draw = rng.beta(post_a[:, None], post_b[:, None], size=(n_cases, draws))
    uplift_draw = np.exp(
        beta[:, None] * log_ratio[:, None]
        + rng.standard_normal((n_cases, draws)) * (sigma * np.abs(log_ratio))[:, None]
    )
    counts_draw = rng.poisson(np.maximum(uu_draw * cvr_draw * uplift_draw, 0.0)).astype(np.float64)
    quantiles = np.quantile(counts_draw, QUANTILES, axis=1).T
    return Forecasts(
        baseline_uu=baseline_uu,
        uu_cv=uu_cv,
        cvr_conversions=c90,
        cvr_visitors=n90,
        cvr_prior_rate=prior_rate,
        cvr_mean=cvr_mean,
        beta=beta,
        sigma=sigma,
        uplift_periods=sums[:, 0].astype(np.int64),
        uplift_source=source,
        uplift=uplift,
        avg_order=avg_order,
        acquisitions=quantiles,
        draws=counts_draw,
    )


def money_interval(draws: Floats, yen_each: float) -> dict[str, int]:
    """p10/p50/p90 of `draws` acquisitions × `yen_each`, integer yen (each simulated total rounded down)."""
    totals = np.floor(draws * yen_each)
    low, mid, high = np.quantile(totals, QUANTILES)
    return {"low": int(low), "mid": int(mid), "high": int(high)}


def count_interval(values: Floats) -> dict[str, int]:
    low, mid, high = values
    return {"low": round(low), "mid": round(mid), "high": round(high)}


# Backtest --------------------------------------------------------------------------------------------------


@dataclass
class Backtest:
    """Per replayed period: offer id, category, start/end day index, ratio, forecast low/mid/high, actual."""

    offer_id: Ints
    category: npt.NDArray[np.str_]
    start: Ints
    end: Ints
    ratio: Floats
    low: Floats
    mid: Floats
    high: Floats
    actual: Floats


def backtest(history: History, draws: int = 500, seed: int = SEED) -> Backtest:
    """Forecast every past special-rate period (with at least 8 weeks of history before it) from the data
    before its start, at its actual reward ratio, and keep the actual conversions beside it."""
    ok = (history.period_start >= BASELINE_WEEKS * 7) & (history.period_end <= history.days)
    rows = history.period_offer[ok]
    start, end, ratio = history.period_start[ok], history.period_end[ok], history.period_ratio[ok]
    cases = Cases(offer=rows, as_of=start, start=start, days=end - start, ratio=ratio)
    result = forecast(history, cases, draws=draws, seed=seed)
    actual = _window(_cumsum(history.conversions), rows, start, end)
    return Backtest(
        offer_id=history.offer_ids[rows],
        category=history.categories[rows],
        start=start,
        end=end,
        ratio=ratio,
        low=result.acquisitions[:, 0],
        mid=result.acquisitions[:, 1],
        high=result.acquisitions[:, 2],
        actual=actual,
    )


def error_figures(low: Floats, mid: Floats, high: Floats, actual: Floats) -> dict[str, Any]:
    """MAPE and median APE (over actuals above 0), bias Σ(mid − actual)/Σ actual, coverage of low–high."""
    n = int(actual.size)
    positive = actual > 0
    ape = np.abs(mid[positive] - actual[positive]) / actual[positive]
    total = float(actual.sum())
    return {
        "periods": n,
        "mape": float(ape.mean()) if ape.size else None,
        "median_ape": float(np.median(ape)) if ape.size else None,
        "bias": float((mid - actual).sum() / total) if total > 0 else None,
        "coverage": float(((actual >= low) & (actual <= high)).mean()) if n else None,
    }


def summarise(result: Backtest) -> dict[str, Any]:
    """The backtest's figures overall and by category."""
    summary = error_figures(result.low, result.mid, result.high, result.actual)
    summary["interval"] = INTERVAL
    summary["offers"] = int(np.unique(result.offer_id).size)
    by_category: dict[str, Any] = {}
    for name in np.unique(result.category):
        mask = result.category == name
        by_category[str(name)] = error_figures(
            result.low[mask], result.mid[mask], result.high[mask], result.actual[mask]
        )
    summary["by_category"] = by_category
    return summary
