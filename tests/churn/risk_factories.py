"""Data for the churn-risk tests: a demo history with the generator's planted churn drivers, a small
trained model on synthetic rows, and stored predictions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from banso.accounts import demo as accounts_demo
from banso.activity import demo as activity_demo
from banso.churn import risk
from banso.churn.models import RiskModel, RiskPrediction
from banso.core import demo as core_demo
from banso.core.demo import DemoContext, Progress

TODAY = dt.date(2026, 11, 20)


def demo_history(accounts: int, events_per_account_day: float = 1.0, today: dt.date = TODAY) -> DemoContext:
    """Users, accounts with three years of contracts and contacts, and their events, as `banso demo` builds
    them (usage fades before a churn, inquiries pile up, NPS drops, champions leave)."""
    ctx = DemoContext(
        accounts=accounts, today=today, events_per_account_day=events_per_account_day, progress=Progress(quiet=True)
    )
    core_demo.build(ctx)
    accounts_demo.build(ctx)
    activity_demo.build(ctx)
    return ctx


def synthetic_rows(n: int, seed: int = 3) -> pl.DataFrame:
    """Rows with every model feature, where few uses and many open inquiries make churn likelier."""
    rng = np.random.default_rng(seed)
    data = {name: rng.normal(0, 1, n) for name in risk.FEATURES}
    data["usage_30d"] = rng.poisson(20, n).astype(float)
    data["open_inquiries_90d"] = rng.poisson(1, n).astype(float)
    logit = -2.5 - 0.15 * (data["usage_30d"] - 20) + 0.8 * data["open_inquiries_90d"]
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pl.DataFrame(data).with_columns(pl.Series("label", label))


def trained_model(as_of: dt.date = TODAY) -> RiskModel:
    """A small real model (LightGBM + calibrator) stored like a trained version."""
    rows = synthetic_rows(3000)
    booster, calibrator, metrics, params = risk.fit(rows[:1800], rows[1800:2400], rows[2400:], risk.FEATURES)
    metrics["windows"] = {"train": {"from": "2024-01-01", "to": "2025-06-01", "dates": 18, "rows": 1800}}
    return RiskModel.objects.create(
        as_of=as_of,
        horizon_days=90,
        params=params,
        metrics=metrics,
        features=list(risk.FEATURES),
        importance=risk._importance(booster),
        booster=booster.model_to_string(),
        calibrator=calibrator,
    )


def prediction(account, model: RiskModel, probability: float, drivers=None, day: dt.date = TODAY) -> RiskPrediction:
    return RiskPrediction.objects.create(
        account=account,
        model=model,
        day=day,
        probability=probability,
        drivers=drivers if drivers is not None else [["usage_trend_30d", -40.0, 0.8], ["open_inquiries_90d", 5.0, 0.5]],
    )
