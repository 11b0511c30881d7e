"""The churn-risk model in the JSON API (mounted at /api/churn/risk): model versions with their quality,
training and prediction runs, predictions for a day or for one account, drivers in words.

Refused input answers 422 with `detail`: a list of {field, message}."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from banso.api.auth import role
from banso.api.schemas import ErrorOut
from banso.core.models import User
from banso.core.permissions import Capability

from . import risk
from .drivers import driver_texts
from .models import RiskModel, RiskPrediction, RiskRun, RiskRunKind

risk_router = Router(tags=["churn risk"])
VIEW = role(Capability.VIEW_ACCOUNTS)
MANAGE = role(Capability.MANAGE_HEALTH)
MAX_LIMIT = 1000


class ModelOut(Schema):
    id: int
    as_of: dt.date
    created_at: dt.datetime
    horizon_days: int
    roc_auc: float | None
    precision_top_decile: float | None
    base_rate: float | None
    brier: float | None


class ModelDetailOut(ModelOut):
    metrics: dict[str, Any] = Field(description="quality on the evaluation period, calibration bins, windows, rows")
    features: list[str]
    importance: dict[str, float] = Field(description="share of the total gain per feature")
    params: dict[str, Any]
    calibrator: dict[str, Any]


class RunIn(Schema):
    as_of: dt.date | None = Field(None, description="default: today (Japan)")


class RunOut(Schema):
    id: int
    kind: str
    as_of: dt.date
    status: str
    percent: int
    step: str
    rows: int
    model_id: int | None
    error: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


class DriverOut(Schema):
    feature: str
    value: float | None
    contribution: float = Field(description="SHAP value, log-odds")
    text: str


class PredictionOut(Schema):
    account_id: int
    account_name: str
    day: dt.date
    model_id: int
    probability: float
    band: str = Field(description="high (>= 0.5), medium (>= 0.2), low")
    drivers: list[DriverOut]


class PredictionPage(Schema):
    day: dt.date | None
    count: int
    results: list[PredictionOut]


def _model_out(model: RiskModel) -> dict[str, Any]:
    m = model.metrics
    return {
        "id": model.pk,
        "as_of": model.as_of,
        "created_at": model.created_at,
        "horizon_days": model.horizon_days,
        "roc_auc": m.get("roc_auc"),
        "precision_top_decile": m.get("precision_top_decile"),
        "base_rate": m.get("base_rate"),
        "brier": m.get("brier"),
    }


def _run_out(run: RiskRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "kind": run.kind,
        "as_of": run.as_of,
        "status": run.status,
        "percent": run.percent,
        "step": run.step,
        "rows": run.rows,
        "model_id": run.model_id,
        "error": run.error,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
    }


def _prediction_out(p: RiskPrediction) -> dict[str, Any]:
    texts = driver_texts(p.drivers)
    return {
        "account_id": p.account_id,
        "account_name": p.account.name,
        "day": p.day,
        "model_id": p.model_id,
        "probability": p.probability,
        "band": risk.band(p.probability),
        "drivers": [
            {"feature": d[0], "value": d[1], "contribution": d[2], "text": t}
            for d, t in zip(p.drivers, texts, strict=True)
        ],
    }


@risk_router.get("/models", response=list[ModelOut], auth=VIEW)
def list_models(request: HttpRequest) -> list[dict[str, Any]]:
    """Trained versions, newest first."""
    return [_model_out(m) for m in RiskModel.objects.defer("booster")[:100]]


@risk_router.get("/models/{int:model_id}", response=ModelDetailOut, auth=VIEW)
def get_model(request: HttpRequest, model_id: int) -> dict[str, Any]:
    model = get_object_or_404(RiskModel.objects.defer("booster"), pk=model_id)
    return {
        **_model_out(model),
        "metrics": model.metrics,
        "features": model.features,
        "importance": model.importance,
        "params": model.params,
        "calibrator": model.calibrator,
    }


def _start(request: HttpRequest, kind: str, payload: RunIn) -> Status[dict[str, Any]]:
    running = risk.active_run(kind)
    if running is not None:
        return Status(202, _run_out(running))
    if kind == RiskRunKind.PREDICT and risk.current_model() is None:
        return Status(422, {"detail": [{"field": "", "message": _("No churn-risk model has been trained yet.")}]})
    actor = request.user if isinstance(request.user, User) else None
    run = risk.start_run(kind, payload.as_of or timezone.localdate(), actor)
    return Status(202, _run_out(run))


@risk_router.post("/train", response={202: RunOut, 422: ErrorOut}, auth=MANAGE)
def train(request: HttpRequest, payload: RunIn) -> Status[dict[str, Any]]:
    """Queue a training on the history up to `as_of`; poll the run for its progress."""
    return _start(request, RiskRunKind.TRAIN, payload)


@risk_router.post("/predict", response={202: RunOut, 422: ErrorOut}, auth=MANAGE)
def predict(request: HttpRequest, payload: RunIn) -> Status[dict[str, Any]]:
    """Queue predictions for every active account as of `as_of` with the current model."""
    return _start(request, RiskRunKind.PREDICT, payload)


@risk_router.get("/runs/{int:run_id}", response=RunOut, auth=VIEW)
def get_run(request: HttpRequest, run_id: int) -> dict[str, Any]:
    return _run_out(get_object_or_404(RiskRun, pk=run_id))


class PredictionQuery(Schema):
    day: dt.date | None = Field(None, description="default: the latest day with predictions")
    min_probability: float = Field(0.0, ge=0.0, le=1.0)
    limit: int = Field(100, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0)


@risk_router.get("/predictions", response=PredictionPage, auth=VIEW)
def list_predictions(request: HttpRequest, query: Query[PredictionQuery]) -> dict[str, Any]:
    """A day's predictions, highest probability first."""
    day = risk.latest_day(query.day)
    if day is None:
        return {"day": None, "count": 0, "results": []}
    qs = risk.predictions_on(day).filter(probability__gte=query.min_probability).select_related("account")
    rows = qs.order_by("-probability", "account_id")[query.offset : query.offset + query.limit]
    return {"day": day, "count": qs.count(), "results": [_prediction_out(p) for p in rows]}


@risk_router.get("/predictions/accounts/{int:account_id}", response=list[PredictionOut], auth=VIEW)
def account_predictions(request: HttpRequest, account_id: int, limit: int = 30) -> list[dict[str, Any]]:
    """One account's predictions, latest day first."""
    qs = (
        RiskPrediction.objects.filter(account_id=account_id)
        .select_related("account")
        .order_by("-day", "-model__as_of", "-model_id")
    )
    return [_prediction_out(p) for p in qs[: max(1, min(limit, MAX_LIMIT))]]
