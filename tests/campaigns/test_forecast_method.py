"""The forecast method on synthetic history with a known uplift: the 80 % interval covers the truth, a higher
reward forecasts more acquisitions, and backtest error figures match a hand computation."""

import numpy as np
import pytest

from banso.campaigns import forecasting

from .factories_forecasts import synthetic


def _case(history, ratio, days=14, start=None):
    start = history.days if start is None else start
    return forecasting.Cases(
        offer=np.array([0]),
        as_of=np.array([history.days]),
        start=np.array([start]),
        days=np.array([days]),
        ratio=np.array([ratio]),
    )


def test_interval_covers_the_known_truth_at_a_special_rate():
    history = synthetic(beta=0.7, cvr=0.01, uu=2000.0)
    result = forecasting.forecast(history, _case(history, 2.0))
    # Truth for 14 days (2 weekends of 1.3×) at 2× reward: visitors × 1 % × 2**0.7.
    expected = (10 * 2000 + 4 * 2600) * 0.01 * 2**0.7
    low, mid, high = result.acquisitions[0]
    assert low < expected < high
    assert low < mid < high
    assert result.beta[0] == pytest.approx(0.7, abs=0.15)
    assert result.uplift_source[0] == "offer"


def test_more_reward_forecasts_more_acquisitions():
    history = synthetic()
    lower = forecasting.forecast(history, _case(history, 1.2)).acquisitions[0]
    higher = forecasting.forecast(history, _case(history, 3.0)).acquisitions[0]
    assert higher[1] > lower[1]
    assert higher[0] > lower[0] and higher[2] > lower[2]


def test_an_offer_with_few_periods_borrows_its_categorys_uplift():
    history = synthetic(offers=10)
    # Offer 0 keeps only its first special-rate period: the category's periods decide its uplift.
    keep = (history.period_offer != 0) | (history.period_start == history.period_start[history.period_offer == 0].min())
    history.period_offer, history.period_start = history.period_offer[keep], history.period_start[keep]
    history.period_end, history.period_ratio = history.period_end[keep], history.period_ratio[keep]
    result = forecasting.forecast(history, _case(history, 2.0))
    assert result.uplift_source[0] == "category"
    assert result.uplift_periods[0] > 3


def test_backtest_forecasts_each_period_only_from_data_before_it():
    history = synthetic(offers=12)
    result = forecasting.backtest(history)
    assert result.actual.size == int((history.period_start >= 56).sum())
    summary = forecasting.summarise(result)
    assert summary["coverage"] >= 0.6
    assert summary["mape"] < 0.35
    # Changing what happens from day 300 on changes no input of a forecast of a period starting before it.
    ok = history.period_start >= 56
    cases = forecasting.Cases(
        offer=history.period_offer[ok],
        as_of=history.period_start[ok],
        start=history.period_start[ok],
        days=history.period_end[ok] - history.period_start[ok],
        ratio=history.period_ratio[ok],
    )
    later = synthetic(offers=12)
    later.conversions[:, 300:] = 0
    later.uu[:, 300:] = 1
    before, after = forecasting.forecast(history, cases, draws=10), forecasting.forecast(later, cases, draws=10)
    early = cases.start <= 300
    assert early.any() and (~early).any()
    for name in ("baseline_uu", "cvr_mean", "beta", "sigma", "avg_order"):
        np.testing.assert_array_equal(getattr(before, name)[early], getattr(after, name)[early])
    assert not np.array_equal(before.cvr_mean[~early], after.cvr_mean[~early])


def test_error_figures_by_hand():
    low = np.array([8.0, 10.0, 0.0, 5.0])
    mid = np.array([12.0, 15.0, 3.0, 8.0])
    high = np.array([14.0, 18.0, 5.0, 9.0])
    actual = np.array([10.0, 20.0, 0.0, 10.0])
    figures = forecasting.error_figures(low, mid, high, actual)
    # APEs over actuals above 0: |12-10|/10 = 0.2, |15-20|/20 = 0.25, |8-10|/10 = 0.2
    assert figures["mape"] == pytest.approx((0.2 + 0.25 + 0.2) / 3)
    assert figures["median_ape"] == pytest.approx(0.2)
    # bias: (2 - 5 + 3 - 2) / 40
    assert figures["bias"] == pytest.approx(-2 / 40)
    # inside low–high: 10 in 8–14 yes, 20 in 10–18 no, 0 in 0–5 yes, 10 in 5–9 no
    assert figures["coverage"] == pytest.approx(0.5)
    assert figures["periods"] == 4


def test_summary_by_category():
    result = forecasting.Backtest(
        offer_id=np.array([1, 1, 2]),
        category=np.array(["ec", "ec", "travel"]),
        start=np.array([60, 120, 60]),
        end=np.array([70, 130, 70]),
        ratio=np.array([2.0, 2.0, 1.5]),
        low=np.array([5.0, 5.0, 1.0]),
        mid=np.array([10.0, 10.0, 2.0]),
        high=np.array([15.0, 15.0, 3.0]),
        actual=np.array([10.0, 20.0, 4.0]),
    )
    summary = forecasting.summarise(result)
    assert summary["offers"] == 2
    assert summary["by_category"]["ec"]["mape"] == pytest.approx(0.25)
    assert summary["by_category"]["travel"]["coverage"] == 0.0
    assert summary["coverage"] == pytest.approx(1 / 3)
