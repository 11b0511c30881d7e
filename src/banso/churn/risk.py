"""The churn-risk model: features as of a day, training on the workspace's own history, calibration, prediction.

Rows are (account, prediction date): month starts over the last three years. The label is whether the
account churns (a contract with status churned and its `churned_on`) within the horizon after the date.
Features are computed as of each date only: event metrics through the analytics engine (one compute for
all accounts per date, never per account), contract and contact facts as they stood on that day.
The split is by time: the model learns on the earlier dates, is calibrated on the later ones and judged
on the latest, with a gap of one horizon between the parts so no label window reaches into the next part.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.accounts.choices import ContactRole, ContractStatus
from banso.accounts.models import Account, Contact, Contract
from banso.analytics.backends import Backend, get_backend
from banso.analytics.catalogue import USAGE_KINDS
from banso.analytics.services import compute_metrics
from banso.analytics.specs import MetricSpec, Window

from .models import RISK_BANDS, RiskModel, RiskPrediction, RiskRun, RiskRunKind, RiskRunStatus

DEFAULT_HORIZON_DAYS = 90
HISTORY_MONTHS = 36
CHAMPION_WINDOW_DAYS = 270
TOP_DRIVERS = 3
DRIVER_ROWS_MIN = 1000
Echo = Callable[[str], None]


def _spec(aggregate: str, kinds: Sequence[str], days: int | None = None) -> MetricSpec:
    window = {"days": days} if days else None
    return MetricSpec.model_validate({"aggregate": aggregate, "kinds": list(kinds), "window": window})


# Event metrics the model reads, computed by the engine for all accounts at once per date.
METRIC_SPECS: dict[str, MetricSpec] = {
    "usage_30d": _spec("count", USAGE_KINDS, 30),
    "usage_trend_30d": _spec("trend", USAGE_KINDS, 30),
    "usage_trend_60d": _spec("trend", USAGE_KINDS, 60),
    "logins_30d": _spec("count", ["login"], 30),
    "days_since_login": MetricSpec(aggregate="days_since", kinds=("login",), window=Window(days=180)),
    "active_users_30d": _spec("distinct_end_users", USAGE_KINDS, 30),
    "inquiries_30d": _spec("count", ["inquiry_opened"], 30),
    "inquiries_90d": _spec("count", ["inquiry_opened"], 90),
    "resolved_90d": _spec("count", ["inquiry_resolved"], 90),
    "nps_sum_91d": _spec("sum", ["survey_nps"], 91),
    "nps_n_91d": _spec("count", ["survey_nps"], 91),
    "nps_sum_180d": _spec("sum", ["survey_nps"], 180),
    "nps_n_180d": _spec("count", ["survey_nps"], 180),
}
# What the model sees (order matters: it is stored with each version).
FEATURES: tuple[str, ...] = (
    "usage_30d",
    "usage_trend_30d",
    "usage_trend_60d",
    "logins_30d",
    "days_since_login",
    "active_users_30d",
    "inquiries_30d",
    "inquiries_90d",
    "open_inquiries_90d",
    "nps_latest",
    "nps_average",
    "mrr",
    "tenure_days",
    "days_to_renewal",
    "auto_renew",
    "tier",
    "champion_left",
    "champion_left_no_successor",
    "days_since_champion_left",
)
TIER_CODES = {"tech": 0, "low": 1, "high": 2}


class RiskError(ValueError):
    """Training or prediction cannot go ahead (too little history, no model); the message says why."""


# Features ------------------------------------------------------------------------------------------


class History:
    """Contracts and contacts loaded once; `frame(day)` gives every account active on that day with its
    contract and contact facts as they stood then, and the churn label for a horizon."""

    def __init__(self) -> None:
        contracts = list(
            Contract.objects.values_list(
                "account_id", "start_date", "end_date", "renewal_date", "churned_on", "status", "mrr", "auto_renew"
            )
        )
        schema = {
            "account_id": pl.Int64,
            "start": pl.Date,
            "end": pl.Date,
            "renewal": pl.Date,
            "churned_on": pl.Date,
            "status": pl.String,
            "mrr": pl.Int64,
            "auto_renew": pl.Boolean,
        }
        self.contracts = pl.DataFrame(contracts, schema=schema, orient="row")
        self.first_start = self.contracts.group_by("account_id").agg(pl.col("start").min().alias("first_start"))
        self.churns = self.contracts.filter(
            (pl.col("status") == ContractStatus.CHURNED) & pl.col("churned_on").is_not_null()
        ).select("account_id", "churned_on")
        tiers = list(Account.objects.values_list("id", "tier"))
        self.tiers = pl.DataFrame(
            {"account_id": [t[0] for t in tiers], "tier": [TIER_CODES.get(t[1], 1) for t in tiers]},
            schema={"account_id": pl.Int64, "tier": pl.Int64},
        )
        key_people = Q(is_primary=True) | Q(role__in=[ContactRole.CHAMPION, ContactRole.DECISION_MAKER])
        left = list(
            Contact.objects.filter(key_people, left_on__isnull=False).values_list(
                "account_id", "left_on", "successor_id", "successor__left_on"
            )
        )
        self.departures = pl.DataFrame(
            left,
            schema={"account_id": pl.Int64, "left_on": pl.Date, "successor_id": pl.Int64, "successor_left": pl.Date},
            orient="row",
        )

    def frame(self, day: dt.date, horizon_days: int | None = None) -> pl.DataFrame:
        d = pl.lit(day, dtype=pl.Date)
        active = (
            self.contracts.filter(
                (pl.col("start") <= d)
                & (pl.col("end").is_null() | (pl.col("end") > d))
                & (pl.col("churned_on").is_null() | (pl.col("churned_on") > d))
                & (pl.col("status") != ContractStatus.PENDING)
            )
            .sort(["account_id", "start"], descending=[False, True])
            .unique("account_id", keep="first", maintain_order=True)
            .join(self.first_start, on="account_id")
            .join(self.tiers, on="account_id", how="left")
            .select(
                "account_id",
                pl.col("mrr").cast(pl.Float64),
                (d - pl.col("first_start")).dt.total_days().cast(pl.Float64).alias("tenure_days"),
                (pl.coalesce("renewal", "end") - d).dt.total_days().cast(pl.Float64).alias("days_to_renewal"),
                pl.col("auto_renew").cast(pl.Float64),
                pl.col("tier").fill_null(1).cast(pl.Float64),
            )
        )
        gone = self.departures.filter(
            (pl.col("left_on") <= d) & (pl.col("left_on") > d - pl.duration(days=CHAMPION_WINDOW_DAYS))
        ).select(
            "account_id",
            (pl.col("successor_id").is_null() | (pl.col("successor_left") <= d)).alias("no_successor"),
            (d - pl.col("left_on")).dt.total_days().alias("days"),
        )
        departures = gone.group_by("account_id").agg(
            pl.lit(1.0).alias("champion_left"),
            pl.col("no_successor").any().cast(pl.Float64).alias("champion_left_no_successor"),
            pl.col("days").min().cast(pl.Float64).alias("days_since_champion_left"),
        )
        out = active.join(departures, on="account_id", how="left").with_columns(
            pl.col("champion_left").fill_null(0.0), pl.col("champion_left_no_successor").fill_null(0.0)
        )
        if horizon_days is not None:
            end = pl.lit(day + dt.timedelta(days=horizon_days), dtype=pl.Date)
            churned = (
                self.churns.filter((pl.col("churned_on") > d) & (pl.col("churned_on") <= end))
                .select("account_id")
                .unique()
                .with_columns(pl.lit(1).alias("label"))
            )
            out = out.join(churned, on="account_id", how="left").with_columns(pl.col("label").fill_null(0))
        return out


def event_features(day: dt.date, backend: Backend) -> pl.DataFrame:
    """The event metrics for every account with events in scope, as of `day` (one engine query)."""
    table = compute_metrics("account", day, METRIC_SPECS, backend)
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.rename({"subject_id": "account_id"}).with_columns(
        pl.col("account_id").cast(pl.Int64), *(pl.col(k).cast(pl.Float64) for k in METRIC_SPECS)
    )


def features_on(day: dt.date, history: History, backend: Backend, horizon_days: int | None = None) -> pl.DataFrame:
    """One row per account active on `day`: `account_id`, every feature, and `label` when a horizon is given."""
    facts = history.frame(day, horizon_days)
    events = event_features(day, backend)
    counts = [k for k, spec in METRIC_SPECS.items() if spec.empty_value == 0]
    joined = facts.join(events, on="account_id", how="left").with_columns(pl.col(c).fill_null(0.0) for c in counts)
    return joined.with_columns(
        (pl.col("inquiries_90d") - pl.col("resolved_90d")).clip(lower_bound=0).alias("open_inquiries_90d"),
        pl.when(pl.col("nps_n_91d") > 0).then(pl.col("nps_sum_91d") / pl.col("nps_n_91d")).alias("nps_latest"),
        pl.when(pl.col("nps_n_180d") > 0).then(pl.col("nps_sum_180d") / pl.col("nps_n_180d")).alias("nps_average"),
    ).select("account_id", *FEATURES, *(["label"] if horizon_days is not None else []))


def month_starts(as_of: dt.date, horizon_days: int, months: int = HISTORY_MONTHS) -> list[dt.date]:
    """Prediction dates: month starts over the last `months` months whose label window has ended by `as_of`."""
    out = []
    first = as_of.replace(day=1)
    for back in range(months, -1, -1):
        index = first.year * 12 + first.month - 1 - back
        day = dt.date(index // 12, index % 12 + 1, 1)
        if day + dt.timedelta(days=horizon_days) <= as_of:
            out.append(day)
    return out


# Training ------------------------------------------------------------------------------------------


def _split(dates: list[dt.date], horizon_days: int) -> tuple[list[dt.date], list[dt.date], list[dt.date]]:
    """Earlier dates to learn from, later ones to calibrate on, the latest to judge by, each part's label
    windows ending before the next part begins."""
    n = len(dates)
    test_from = dates[n - max(2, n // 5)]
    calib_from = dates[max(1, n - max(2, n // 5) - max(3, n // 5))]
    gap = dt.timedelta(days=horizon_days)
    train = [d for d in dates if d + gap <= calib_from]
    calib = [d for d in dates if calib_from <= d and d + gap <= test_from]
    test = [d for d in dates if d >= test_from]
    return train, calib, test


def _params(rows: int) -> dict[str, Any]:
    return {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": 31,
        "max_depth": 6,  # shallow trees keep SHAP values (cost ~ depth squared per leaf) cheap to explain
        "min_data_in_leaf": int(min(200, max(10, rows // 500))),
        "feature_fraction": 0.5,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "num_threads": _threads(),
        "seed": 7,
        "deterministic": True,
        "verbose": -1,
    }


def fit_calibrator(raw: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Isotonic regression when the calibration period has enough churns, Platt scaling otherwise."""
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    if int(labels.sum()) >= 30:
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, labels)
        return {"kind": "isotonic", "x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}
    logit = np.log(np.clip(raw, 1e-6, 1 - 1e-6) / (1 - np.clip(raw, 1e-6, 1 - 1e-6))).reshape(-1, 1)
    lr = LogisticRegression(C=1e6).fit(logit, labels)
    return {"kind": "platt", "a": float(lr.coef_[0][0]), "b": float(lr.intercept_[0])}


def calibrate(calibrator: dict[str, Any], raw: np.ndarray) -> np.ndarray:
    if calibrator.get("kind") == "isotonic":
        return np.asarray(np.interp(raw, np.asarray(calibrator["x"]), np.asarray(calibrator["y"])))
    if calibrator.get("kind") == "platt":
        clipped = np.clip(raw, 1e-6, 1 - 1e-6)
        z = calibrator["a"] * np.log(clipped / (1 - clipped)) + calibrator["b"]
        return np.asarray(1.0 / (1.0 + np.exp(-z)))
    return raw


def quality(probability: np.ndarray, labels: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """ROC AUC, precision in the top decile, base rate, Brier score and a calibration table."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    n = len(labels)
    base = float(labels.mean()) if n else 0.0
    top = max(1, n // 10)
    order = np.argsort(-probability, kind="stable")
    table = []
    if n:
        edges = np.unique(np.quantile(probability, np.linspace(0, 1, bins + 1)))
        which = np.clip(np.searchsorted(edges, probability, side="right") - 1, 0, max(0, len(edges) - 2))
        for b in range(max(1, len(edges) - 1)):
            mask = which == b
            if mask.any():
                table.append(
                    {
                        "predicted": float(probability[mask].mean()),
                        "observed": float(labels[mask].mean()),
                        "rows": int(mask.sum()),
                    }
                )
    both = 0 < labels.sum() < n
    return {
        "roc_auc": float(roc_auc_score(labels, probability)) if both else None,
        "precision_top_decile": float(labels[order[:top]].mean()) if n else None,
        "base_rate": base,
        "brier": float(brier_score_loss(labels, probability)) if n else None,
        "rows": n,
        "positives": int(labels.sum()),
        "calibration": table,
    }


def fit(
    train: pl.DataFrame, calib: pl.DataFrame, test: pl.DataFrame, features: Sequence[str]
) -> tuple[lgb.Booster, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The part after the features, shared with the real-dataset check: LightGBM on `train` (early stopping
    on `calib`), a calibrator fitted on `calib`, quality judged on `test`. Returns booster, calibrator,
    metrics and params."""
    for name, part in (("training", train), ("calibration", calib), ("evaluation", test)):
        positives = int(part["label"].sum()) if part.height else 0
        if positives == 0 or positives == part.height:
            raise RiskError(
                _("Not enough history: the %(part)s period has %(n)s churned and %(m)s retained rows.")
                % {"part": name, "n": positives, "m": part.height - positives}
            )
    params = _params(train.height)
    cols = list(features)
    x_train = train.select(cols).to_numpy().astype(np.float32)
    x_calib = calib.select(cols).to_numpy().astype(np.float32)
    x_test = test.select(cols).to_numpy().astype(np.float32)
    y_train, y_calib, y_test = (p["label"].to_numpy().astype(np.float64) for p in (train, calib, test))
    dtrain = lgb.Dataset(x_train, y_train, feature_name=cols, free_raw_data=True)
    dvalid = lgb.Dataset(x_calib, y_calib, reference=dtrain)
    booster = lgb.train(
        params,
        dtrain,
        num_boost_round=400,
        valid_sets=[dvalid],
        callbacks=[lgb.early_stopping(40, verbose=False)],
    )
    raw_calib = np.asarray(booster.predict(x_calib, num_iteration=booster.best_iteration))
    calibrator = fit_calibrator(raw_calib, y_calib)
    raw_test = np.asarray(booster.predict(x_test, num_iteration=booster.best_iteration))
    metrics = quality(calibrate(calibrator, raw_test), y_test)
    metrics["uncalibrated_brier"] = quality(raw_test, y_test, bins=1)["brier"]
    metrics["iterations"] = int(booster.best_iteration or booster.current_iteration())
    params["num_boost_round"] = metrics["iterations"]
    return booster, calibrator, metrics, params


def refit(
    learn: pl.DataFrame, calib: pl.DataFrame, features: Sequence[str], params: dict[str, Any]
) -> tuple[lgb.Booster, dict[str, Any]]:
    """LightGBM with `params` (its rounds included) on `learn`, calibrated on the later `calib`."""
    cols = list(features)
    rounds = int(params.get("num_boost_round", 100))
    train_params = {k: v for k, v in params.items() if k not in ("num_boost_round", "horizon_days")}
    x_learn = learn.select(cols).to_numpy().astype(np.float32)
    dtrain = lgb.Dataset(x_learn, learn["label"].to_numpy().astype(np.float64), feature_name=cols)
    booster = lgb.train(train_params, dtrain, num_boost_round=rounds)
    raw = np.asarray(booster.predict(calib.select(cols).to_numpy().astype(np.float32)))
    return booster, fit_calibrator(raw, calib["label"].to_numpy().astype(np.float64))


def _importance(booster: lgb.Booster) -> dict[str, float]:
    gains = booster.feature_importance(importance_type="gain")
    total = float(gains.sum()) or 1.0
    pairs = sorted(zip(booster.feature_name(), gains, strict=True), key=lambda p: -p[1])
    return {name: round(float(g) / total, 4) for name, g in pairs}


def train(
    as_of: dt.date,
    backend: Backend | None = None,
    echo: Echo | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    progress: Callable[[int, str], None] | None = None,
) -> RiskModel:
    """Train, calibrate and judge a new model version on the history up to `as_of`; store and return it."""

    def step(percent: int, text: str) -> None:
        if progress:
            progress(percent, text)
        if echo:
            echo(f"{percent:3d}% {text}")

    backend = _ready(backend)
    dates = month_starts(as_of, horizon_days)
    if len(dates) < 6:
        raise RiskError(_("Not enough history: at least six months with an ended label window are needed."))
    step(5, _("Loading contracts and contacts"))
    history = History()
    parts: list[pl.DataFrame] = []
    for index, day in enumerate(dates):
        parts.append(features_on(day, history, backend, horizon_days).with_columns(pl.lit(day).alias("date")))
        step(5 + 70 * (index + 1) // len(dates), _("Features as of %(day)s") % {"day": day.isoformat()})
    rows = pl.concat(parts, how="vertical")
    train_dates, calib_dates, test_dates = _split(dates, horizon_days)
    if not train_dates or not calib_dates:
        raise RiskError(_("Not enough history: at least six months with an ended label window are needed."))

    def part(days: list[dt.date]) -> pl.DataFrame:
        return rows.filter(pl.col("date").is_in(days))

    step(80, _("Training on %(n)s rows") % {"n": f"{rows.height:,}"})
    booster, calibrator, metrics, params = fit(part(train_dates), part(calib_dates), part(test_dates), FEATURES)
    # The judged model learned from the oldest dates only. The stored one learns the same way (same
    # parameters and rounds) from the training and calibration dates, and is calibrated on the latest
    # dates, which it has not seen: recent history (more accounts, more departures) shapes it too.
    step(90, _("Refitting on the recent history"))
    learn_dates = [d for d in dates if d + dt.timedelta(days=horizon_days) <= test_dates[0]]
    booster, calibrator = refit(part(learn_dates), part(test_dates), FEATURES, params)
    metrics["refit"] = {
        "from": learn_dates[0].isoformat(),
        "to": learn_dates[-1].isoformat(),
        "rows": part(learn_dates).height,
        "calibrated_on": test_dates[0].isoformat(),
    }
    metrics["windows"] = {
        name: {"from": days[0].isoformat(), "to": days[-1].isoformat(), "dates": len(days), "rows": part(days).height}
        for name, days in (("train", train_dates), ("calibration", calib_dates), ("evaluation", test_dates))
    }
    metrics["calibrator"] = calibrator["kind"]
    params["horizon_days"] = horizon_days
    model = RiskModel.objects.create(
        as_of=as_of,
        horizon_days=horizon_days,
        params=params,
        metrics=metrics,
        features=list(FEATURES),
        importance=_importance(booster),
        booster=booster.model_to_string(),
        calibrator=calibrator,
    )
    step(100, _("Trained: ROC AUC %(auc)s") % {"auc": f"{metrics['roc_auc']:.3f}"})
    return model


def _ready(backend: Backend | None) -> Backend:
    """The engine, with the Parquet copy brought up to date first when it reads one."""
    backend = backend or get_backend()
    if backend.uses_lake:
        from banso.activity import lake

        lake.sync()
    return backend


# Prediction ----------------------------------------------------------------------------------------


def current_model(day: dt.date | None = None) -> RiskModel | None:
    """The newest model trained on or before `day` (any day: the newest); the oldest if all are later."""
    models = RiskModel.objects.order_by("-as_of", "-created_at", "-id")
    if day is None:
        return models.first()
    return models.filter(as_of__lte=day).first() or RiskModel.objects.order_by("as_of", "created_at").first()


def load_booster(model: RiskModel) -> lgb.Booster:
    return lgb.Booster(model_str=model.booster)


def _threads() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def score(model: RiskModel, frame: pl.DataFrame) -> np.ndarray:
    """Calibrated probabilities for `frame`'s rows."""
    x = frame.select(model.features).to_numpy().astype(np.float32)
    raw = np.asarray(load_booster(model).predict(x, num_threads=_threads()))
    return calibrate(model.calibrator, raw)


def explained_rows(model: RiskModel, probability: np.ndarray) -> np.ndarray:
    """Which rows get drivers: the accounts at or above the model's base rate, riskiest first, at most
    a tenth of them (and at least 1,000). SHAP values cost about a millisecond per row and tree depth; what
    raises the risk of an account below the base rate is not worth the wait."""
    base = float(model.metrics.get("base_rate") or 0.0)
    order = np.argsort(-probability, kind="stable")
    cap = max(DRIVER_ROWS_MIN, len(probability) // 10)
    chosen = order[:cap]
    return np.sort(chosen[probability[chosen] >= base])


def contributions(model: RiskModel, frame: pl.DataFrame) -> np.ndarray:
    """Per-feature contributions (SHAP values, log-odds) for `frame`'s rows (LightGBM's own TreeSHAP)."""
    if frame.height == 0:  # no account at or above the base rate: LightGBM cannot explain zero rows
        return np.zeros((0, len(model.features)), dtype=np.float64)
    x = frame.select(model.features).to_numpy().astype(np.float32)
    contrib = np.asarray(load_booster(model).predict(x, pred_contrib=True, num_threads=_threads()))
    return contrib[:, : len(model.features)]


def top_drivers(
    features: Sequence[str], values: np.ndarray, contrib: np.ndarray, k: int = TOP_DRIVERS
) -> list[list[list[Any]]]:
    """Per row, the `k` features that raise the risk most: [feature, value, contribution], largest first."""
    order = np.argsort(-contrib, axis=1)[:, :k]
    out = []
    for row in range(contrib.shape[0]):
        drivers = []
        for col in order[row]:
            c = float(contrib[row, col])
            if c <= 0:
                break
            v = float(values[row, col])
            drivers.append([features[col], None if math.isnan(v) else round(v, 2), round(c, 4)])
        out.append(drivers)
    return out


def predict(
    as_of: dt.date,
    model: RiskModel | None = None,
    backend: Backend | None = None,
    progress: Callable[[int, str], None] | None = None,
) -> int:
    """Score every account active on `as_of` with `model` (default: the current one); replaces that day's
    predictions by the model and returns how many rows were written."""
    model = model or current_model(as_of)
    if model is None:
        raise RiskError(_("No churn-risk model has been trained yet."))
    backend = _ready(backend)
    if progress:
        progress(10, _("Computing features"))
    frame = features_on(as_of, History(), backend)
    if frame.height == 0:
        return 0
    if progress:
        progress(50, _("Scoring %(n)s accounts") % {"n": f"{frame.height:,}"})
    probability = score(model, frame)
    explained = explained_rows(model, probability)
    if progress:
        progress(55, _("Explaining %(n)s riskiest accounts") % {"n": f"{len(explained):,}"})
    subset = frame.with_row_index("_row").filter(pl.col("_row").is_in(explained.tolist())).drop("_row")
    values = subset.select(model.features).to_numpy().astype(np.float64)
    drivers: list[list[list[Any]]] = [[] for _row in range(frame.height)]
    for row, found in zip(explained, top_drivers(model.features, values, contributions(model, subset)), strict=True):
        drivers[int(row)] = found
    ids = frame["account_id"].to_list()
    rows = [
        RiskPrediction(account_id=a, model=model, day=as_of, probability=round(float(p), 5), drivers=d)
        for a, p, d in zip(ids, probability, drivers, strict=True)
    ]
    if progress:
        progress(70, _("Writing %(n)s predictions") % {"n": f"{len(rows):,}"})
    try:
        with transaction.atomic():
            RiskPrediction.objects.filter(model=model, day=as_of).delete()
            RiskPrediction.objects.bulk_create(rows, batch_size=5000)
    except IntegrityError:
        # Another process wrote the same day's predictions by the same model at the same moment.
        return RiskPrediction.objects.filter(model=model, day=as_of).count()
    return len(rows)


def ensure_predictions(day: dt.date, backend: Backend | None = None) -> dt.date | None:
    """The day whose predictions stand for `day`: `day` itself, predicted now if a model exists and none
    are stored for it yet; otherwise the latest earlier day with predictions (None: nothing at all)."""
    if not RiskPrediction.objects.filter(day=day).exists() and current_model(day) is not None:
        predict(day, backend=backend)
    latest = RiskPrediction.objects.filter(day__lte=day).order_by("-day").values_list("day", flat=True).first()
    return latest


def measure_values(keys: Sequence[str], day: dt.date, account_ids: Sequence[int] | None) -> pl.DataFrame:
    """The `churn:risk` scorecard measure: calibrated probability x 100 as of `day`, for all accounts at once."""
    schema: dict[str, Any] = {"account_id": pl.Int64, **dict.fromkeys(keys, pl.Float64)}
    if "risk" not in keys:
        return pl.DataFrame(schema=schema)
    stood = ensure_predictions(day)
    if stood is None:
        return pl.DataFrame(schema=schema)
    rows = latest_predictions(stood, account_ids)
    frame = pl.DataFrame(
        {"account_id": [r[0] for r in rows], "risk": [r[1] * 100.0 for r in rows]},
        schema={"account_id": pl.Int64, "risk": pl.Float64},
    )
    return frame.with_columns(pl.lit(None, dtype=pl.Float64).alias(k) for k in keys if k != "risk").select(
        "account_id", *keys
    )


def latest_predictions(day: dt.date, account_ids: Sequence[int] | None = None) -> list[tuple[int, float]]:
    """(account, probability) on `day`, by the newest model that predicted that day."""
    qs = predictions_on(day)
    if account_ids is not None:
        qs = qs.filter(account_id__in=list(account_ids))
    return list(qs.values_list("account_id", "probability"))


# Runs (background work with progress) ----------------------------------------------------------------


def start_run(kind: str, as_of: dt.date | None = None, actor: Any = None, scheduled: bool = False) -> RiskRun:
    """Queue a training or prediction for the worker; the model page shows its progress."""
    from .tasks import run_risk

    run = RiskRun.objects.create(
        kind=kind, as_of=as_of or timezone.localdate(), triggered_by=actor, scheduled=scheduled
    )
    transaction.on_commit(lambda: run_risk.enqueue(run.pk))
    return run


def execute(
    run: RiskRun, backend: Backend | None = None, echo: Echo | None = None, horizon_days: int = DEFAULT_HORIZON_DAYS
) -> RiskRun:
    """Carry out a run here, recording progress and outcome on it; re-raises unexpected errors."""
    run.status, run.started_at = RiskRunStatus.RUNNING, timezone.now()
    run.save(update_fields=["status", "started_at"])

    def progress(percent: int, text: str) -> None:
        run.progress(percent, text)
        if echo and run.kind == RiskRunKind.PREDICT:
            echo(f"{percent:3d}% {text}")

    try:
        if run.kind == RiskRunKind.TRAIN:
            run.model = train(run.as_of, backend, echo=echo, horizon_days=horizon_days, progress=progress)
            run.rows = int(run.model.metrics.get("windows", {}).get("train", {}).get("rows", 0))
        else:
            run.model = current_model(run.as_of)
            run.rows = predict(run.as_of, run.model, backend, progress=progress)
        run.status = RiskRunStatus.SUCCEEDED
        progress(100, _("Done"))
    except RiskError as error:
        run.status, run.error = RiskRunStatus.FAILED, str(error)
    except Exception as error:
        run.status, run.error = RiskRunStatus.FAILED, f"{type(error).__name__}: {error}"
        raise
    finally:
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at", "model", "rows"])
    return run


def run_now(
    kind: str,
    as_of: dt.date,
    backend: Backend | None = None,
    echo: Echo | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> RiskRun:
    """A run carried out here and now (the command line), recorded like a queued one."""
    run = RiskRun.objects.create(kind=kind, as_of=as_of)
    return execute(run, backend, echo, horizon_days)


def active_run(kind: str | None = None) -> RiskRun | None:
    qs = RiskRun.objects.filter(status__in=[RiskRunStatus.QUEUED, RiskRunStatus.RUNNING])
    if kind:
        qs = qs.filter(kind=kind)
    return qs.first()


def due(now: dt.datetime) -> str | None:
    """The scheduler's question. Predictions daily (after the 03:00 analytics recompute, from 04:00 Japan
    time); a retraining on the first day of each month before that day's predictions. One of each per day
    however many schedulers ask: a unique constraint lets only one create it."""
    local = timezone.localtime(now)
    if local.time() < dt.time(4, 0):
        return None
    day = local.date()
    kinds = [RiskRunKind.PREDICT]
    if day.day == 1 or not RiskModel.objects.exists():
        kinds.insert(0, RiskRunKind.TRAIN)
    queued = []
    for kind in kinds:
        if RiskRun.objects.filter(kind=kind, as_of=day, scheduled=True).exists():
            continue
        if kind == RiskRunKind.PREDICT and (
            active_run(RiskRunKind.TRAIN) is not None or not RiskModel.objects.exists()
        ):
            continue  # wait for the training, or for a first model
        try:
            with transaction.atomic():
                start_run(kind, day, scheduled=True)
        except IntegrityError:
            continue
        queued.append(str(RiskRunKind(kind).label))
    if not queued:
        return None
    return _("Churn risk: queued %(what)s for %(day)s") % {"what": ", ".join(queued), "day": day.isoformat()}


# Reading: pages, API, the Account 360 ----------------------------------------------------------------


def band(probability: float) -> str:
    """high (50 % and over), medium (20 % and over), low."""
    return next(name for floor, name in RISK_BANDS if probability >= floor)


def latest_day(on_or_before: dt.date | None = None) -> dt.date | None:
    qs = RiskPrediction.objects.all()
    if on_or_before is not None:
        qs = qs.filter(day__lte=on_or_before)
    return qs.order_by("-day").values_list("day", flat=True).first()


def predictions_on(day: dt.date) -> Any:
    """The day's predictions by the newest model that predicted that day (a queryset)."""
    model_id = (
        RiskPrediction.objects.filter(day=day).order_by("-model__as_of", "-model_id").values_list("model_id", flat=True)
    ).first()
    return RiskPrediction.objects.filter(day=day, model_id=model_id)


def account_risk(account_id: int) -> RiskPrediction | None:
    """The account's latest prediction, with its model (one query)."""
    return (
        RiskPrediction.objects.filter(account_id=account_id)
        .select_related("model")
        .defer("model__booster", "model__metrics", "model__importance", "model__calibrator")
        .order_by("-day", "-model__as_of", "-model_id")
        .first()
    )
