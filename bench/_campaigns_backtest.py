"""The forecast backtest half of `banso bench campaigns`: 1,000 offers × 2 years of daily history, every past
special-rate period forecast from the data before it and compared with what happened (issue 10: under 60 s).

Data (numpy, seeded; in memory, nothing in a database): offers in seven categories, each with an advertiser
whose unique visitors per day follow a level (log-normal across offers), a weekly pattern (weekends higher), a
slow drift and day-to-day noise; a conversion rate per offer drawn around its category's; every offer runs
a special rate for 7–31 days every 2–4 months at 1.2–3× its base reward, during which conversions rise by
ratio^β (β per category, 0.3–0.9) times a log-normal period effect; conversions per day are Poisson. The
backtest is the app's own code (`banso.campaigns.forecasting.backtest`), fed these arrays; timed as the
median of 3 runs. `run(scale)`: offers = 1,000 × scale (at least 20).
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from typing import Any

import numpy as np

FULL_OFFERS = 1_000
DAYS = 730
SEED = 20240401
CATEGORIES = ("ec", "travel", "restaurant", "card", "finance", "service", "other")
CATEGORY_BETA = {"ec": 0.6, "travel": 0.5, "restaurant": 0.3, "card": 0.9, "finance": 0.8, "service": 0.5, "other": 0.4}
CATEGORY_CVR = {
    "ec": 0.02,
    "travel": 0.008,
    "restaurant": 0.01,
    "card": 0.004,
    "finance": 0.003,
    "service": 0.006,
    "other": 0.005,
}
FIRST_DAY = dt.date(2024, 11, 1)


def synthetic_history(offers: int, days: int = DAYS, seed: int = SEED) -> Any:
    """A `forecasting.History` with known uplifts (see the module docstring)."""
    from banso.campaigns.forecasting import History

    rng = np.random.default_rng(seed)
    categories = rng.choice(np.array(CATEGORIES), size=offers)
    level = np.exp(rng.normal(np.log(800), 1.0, size=offers))
    weekday = (FIRST_DAY.weekday() + np.arange(days)) % 7
    weekly = np.where(weekday >= 5, 1.25, 1.0) * (1 + 0.05 * np.sin(weekday))
    drift = np.exp(np.cumsum(rng.normal(0, 0.01, size=(offers, days)), axis=1))
    uu_mean = level[:, None] * weekly[None, :] * drift * np.exp(rng.normal(0, 0.08, size=(offers, days)))
    uu = rng.poisson(uu_mean).astype(np.int64)
    base_cvr = np.array([CATEGORY_CVR[c] for c in categories]) * np.exp(rng.normal(0, 0.3, size=offers))
    beta = np.array([CATEGORY_BETA[c] for c in categories])
    multiplier = np.ones((offers, days))
    p_offer: list[int] = []
    p_start: list[int] = []
    p_end: list[int] = []
    p_ratio: list[float] = []
    for o in range(offers):
        day = int(rng.integers(30, 120))
        while day < days:
            length = int(rng.integers(7, 32))
            ratio = float(rng.choice([1.2, 1.5, 2.0, 2.5, 3.0]))
            end = min(day + length, days)
            multiplier[o, day:end] = ratio ** beta[o] * float(np.exp(rng.normal(0, 0.1)))
            p_offer.append(o)
            p_start.append(day)
            p_end.append(end)
            p_ratio.append(ratio)
            day = end + int(rng.integers(60, 120))
    conversions = rng.poisson(uu * base_cvr[:, None] * multiplier).astype(np.int64)
    order_amount = conversions * rng.integers(3_000, 15_000, size=(offers, 1))
    return History(
        first_day=FIRST_DAY,
        offer_ids=np.arange(1, offers + 1, dtype=np.int64),
        categories=categories,
        uu=uu,
        conversions=conversions,
        order_amount=order_amount.astype(np.int64),
        period_offer=np.array(p_offer, np.int64),
        period_start=np.array(p_start, np.int64),
        period_end=np.array(p_end, np.int64),
        period_ratio=np.array(p_ratio, np.float64),
    )


def _scale(args: Any) -> float:
    if isinstance(args, (int, float)):
        return float(args)
    return float(getattr(args, "scale", 1.0) or 1.0)


def run(args: Any = 1.0) -> dict[str, Any]:
    """Figures of the backtest benchmark; `args` is the scale or an object with `.scale`."""
    from _data import log
    from banso.campaigns import forecasting

    offers = max(20, round(FULL_OFFERS * _scale(args)))
    started = time.perf_counter()
    history = synthetic_history(offers)
    log(f"backtest data: {offers} offers × {DAYS} days in {time.perf_counter() - started:.1f} s")
    times: list[float] = []
    summary: dict[str, Any] = {}
    for repetition in range(3):
        started = time.perf_counter()
        result = forecasting.backtest(history)
        summary = forecasting.summarise(result)
        times.append(time.perf_counter() - started)
        log(f"backtest {repetition + 1}/3: {summary['periods']} periods in {times[-1]:.2f} s")
    return {
        "backtest_offers": offers,
        "backtest_days": DAYS,
        "backtest_periods": summary["periods"],
        "backtest_seconds": round(statistics.median(times), 3),
        "backtest_mape": summary["mape"],
        "backtest_median_ape": summary["median_ape"],
        "backtest_bias": summary["bias"],
        "backtest_coverage": summary["coverage"],
    }
