"""The backtest half of `banso bench campaigns` runs tiny and reports its figures (never timed here)."""

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_backtest_bench_runs_tiny():
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    import _campaigns_backtest

    figures = _campaigns_backtest.run(0.02)
    assert figures["backtest_offers"] == 20
    assert figures["backtest_periods"] > 20
    assert figures["backtest_seconds"] > 0
    assert 0 < figures["backtest_mape"] < 1
    assert 0.5 < figures["backtest_coverage"] <= 1
