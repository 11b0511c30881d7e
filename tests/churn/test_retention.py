"""Retention curves: Kaplan–Meier per cohort against a hand computation, and account lifetimes from contracts."""

import datetime

import polars as pl
import pytest

from banso.churn import analysis

D = datetime.date


def test_kaplan_meier_matches_a_hand_computation():
    lives = pl.DataFrame(
        {
            "account_id": [1, 2, 3, 4, 5],
            "cohort": ["2024"] * 5,
            "months": [2.0, 3.0, 3.0, 5.0, 8.0],
            "churned": [True, False, True, True, False],
        }
    )
    (cohort,) = analysis.retention(lives)
    # S(2) = 4/5; S(3) = 4/5 · 3/4 (the censored account at 3 is still at risk then); S(5) = 0.6 · 1/2.
    survival = [p.survival for p in cohort.curve]
    assert survival == pytest.approx([1.0, 1.0, 0.8, 0.6, 0.6, 0.3, 0.3, 0.3, 0.3])
    assert cohort.median_months == 5.0
    assert (cohort.accounts, cohort.churned) == (5, 3)
    assert all(p.lower <= p.survival <= p.upper for p in cohort.curve)
    assert cohort.curve[2].lower < 0.8 < cohort.curve[2].upper
    assert cohort.survival_at == {12: None, 24: None, 36: None}


def test_lifetimes_run_from_first_start_to_the_last_contract_end_or_are_censored(four_accounts):
    lives = analysis.lifetimes(analysis.contract_frame(), D(2025, 4, 1))
    by_id = {row["account_id"]: row for row in lives.iter_rows(named=True)}
    a, b = by_id[four_accounts["A"].pk], by_id[four_accounts["B"].pk]
    assert a["churned"] is True and a["cohort"] == "2024"
    assert a["months"] == pytest.approx(397 / analysis.DAYS_PER_MONTH)  # 2024-01-01 → 2025-02-01
    assert b["churned"] is False
    assert b["months"] == pytest.approx(304 / analysis.DAYS_PER_MONTH)  # 2024-06-01 → 2025-04-01, censored
    quarters = analysis.lifetimes(analysis.contract_frame(), D(2025, 4, 1), "quarter")
    assert set(quarters["cohort"]) == {"2024Q1", "2024Q2", "2025Q1"}
