"""Churn-risk pages: the model page (quality, calibration, importance, versions, runs), the high-risk account
list, run progress, and the Account 360 card. Every page reads and writes through `risk`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.accounts.models import Account
from banso.core import charts
from banso.core.models import User
from banso.core.permissions import Capability, has_capability, requires
from banso.core.views import progress_fragment

from . import risk
from .drivers import driver_texts, feature_label
from .models import RiskModel, RiskPrediction, RiskRun, RiskRunKind

PER_PAGE = 50
RUNS_SHOWN = 10
MODELS_SHOWN = 12
SORTS = {
    "risk": ("-probability", "account__name_kana"),
    "-risk": ("probability", "account__name_kana"),
    "name": ("account__name_kana", "account_id"),
    "-name": ("-account__name_kana", "-account_id"),
    "mrr": ("-account__mrr", "-probability"),
    "-mrr": ("account__mrr", "-probability"),
    "renewal": (F("account__next_renewal_date").asc(nulls_last=True), "-probability"),
}


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def model_context(model: RiskModel) -> dict[str, Any]:
    """What the model page shows of one version: quality figures, the calibration chart, importance."""
    m = model.metrics
    bins = m.get("calibration", [])
    calibration = charts.line_chart(
        [f"{b['predicted'] * 100:.1f}%" for b in bins],
        [
            charts.series(_("Observed churn rate (%)"), [round(b["observed"] * 100, 2) for b in bins], 0),
            charts.series(
                _("Predicted probability (%)"), [round(b["predicted"] * 100, 2) for b in bins], 1, borderDash=[4, 4]
            ),
        ],
        y_title=_("Churn within the horizon (%)"),
    )
    importance = sorted(model.importance.items(), key=lambda p: -p[1])
    importance_chart = charts.bar_chart(
        [feature_label(f) for f, _v in importance],
        [charts.series(_("Share of gain (%)"), [round(v * 100, 2) for _f, v in importance], 0)],
        y_title=_("Share of gain (%)"),
    )
    importance_chart["options"]["indexAxis"] = "y"
    return {
        "model": model,
        "auc": "—" if m.get("roc_auc") is None else f"{m['roc_auc']:.3f}",
        "precision_top": _percent(m.get("precision_top_decile")),
        "base_rate": _percent(m.get("base_rate")),
        "brier": "—" if m.get("brier") is None else f"{m['brier']:.4f}",
        "lift": (
            f"{m['precision_top_decile'] / m['base_rate']:.1f}"
            if m.get("base_rate") and m.get("precision_top_decile") is not None
            else "—"
        ),
        "windows": [
            (label, m.get("windows", {}).get(key))
            for key, label in (
                ("train", _("Training")),
                ("calibration", _("Calibration")),
                ("evaluation", _("Evaluation")),
            )
        ],
        "bins": [
            {**b, "predicted_pct": _percent(b["predicted"]), "observed_pct": _percent(b["observed"])} for b in bins
        ],
        "importance": [(feature_label(f), f"{v * 100:.1f}%") for f, v in importance],
        "calibration_chart": calibration,
        "importance_chart": importance_chart,
    }


def _runs_context() -> dict[str, Any]:
    runs = list(RiskRun.objects.select_related("triggered_by", "model")[:RUNS_SHOWN])
    return {"runs": runs, "polling": any(r.running for r in runs)}


def _model_page(request: HttpRequest, model: RiskModel | None) -> HttpResponse:
    context: dict[str, Any] = {
        "models": list(RiskModel.objects.defer("booster")[:MODELS_SHOWN]),
        "can_manage": has_capability(request.user, Capability.MANAGE_HEALTH),
        "latest_day": risk.latest_day(),
        "current": risk.current_model(),
        **_runs_context(),
    }
    if model is not None:
        context.update(model_context(model))
    return render(request, "churn/risk/model.html", context)


@requires(Capability.VIEW_ACCOUNTS)
def risk_home(request: HttpRequest) -> HttpResponse:
    return _model_page(request, risk.current_model())


@requires(Capability.VIEW_ACCOUNTS)
def model_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _model_page(request, get_object_or_404(RiskModel, pk=pk))


@requires(Capability.MANAGE_HEALTH)
@require_POST
def run_start(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in RiskRunKind.values:
        raise Http404
    running = risk.active_run(kind)
    if running is not None:
        messages.info(request, _("This work is already waiting or running; it is shown below."))
        return redirect("churn:risk_run", pk=running.pk)
    if kind == RiskRunKind.PREDICT and risk.current_model() is None:
        messages.error(request, _("No churn-risk model has been trained yet."))
        return redirect("churn:risk")
    run = risk.start_run(kind, timezone.localdate(), _actor(request))
    messages.success(request, _("Queued; the worker carries it out in the background."))
    return redirect("churn:risk_run", pk=run.pk)


@requires(Capability.VIEW_ACCOUNTS)
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(RiskRun.objects.select_related("triggered_by", "model"), pk=pk)
    return render(request, "churn/risk/run.html", {"run": run, "running": run.running})


@requires(Capability.VIEW_ACCOUNTS)
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress panel alone, polled by htmx while the run goes; when it ends, the whole page reloads."""
    return progress_fragment(request, "churn/risk/_run_progress.html", get_object_or_404(RiskRun, pk=pk))


def _parse_day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


@requires(Capability.VIEW_ACCOUNTS)
def accounts(request: HttpRequest) -> HttpResponse:
    """Accounts by churn risk on the latest prediction day (or `?day=`), sortable, with drivers."""
    asked = _parse_day(request.GET.get("day"))
    day = risk.latest_day(asked)
    sort = request.GET.get("sort", "risk")
    if sort not in SORTS:
        sort = "risk"
    band_filter = request.GET.get("band", "")
    rows: list[dict[str, Any]] = []
    page = None
    if day is not None:
        qs = risk.predictions_on(day).select_related("account", "account__owner")
        if band_filter == "high":
            qs = qs.filter(probability__gte=0.5)
        elif band_filter == "medium":
            qs = qs.filter(probability__gte=0.2, probability__lt=0.5)
        elif band_filter == "low":
            qs = qs.filter(probability__lt=0.2)
        page = Paginator(qs.order_by(*SORTS[sort]), PER_PAGE).get_page(request.GET.get("page"))
        rows = [
            {
                "prediction": p,
                "percent": f"{p.probability * 100:.1f}%",
                "band": risk.band(p.probability),
                "drivers": driver_texts(p.drivers),
            }
            for p in page.object_list
        ]
    return render(
        request,
        "churn/risk/accounts.html",
        {"day": day, "rows": rows, "page": page, "sort": sort, "band": band_filter},
    )


def account_card(account: Account) -> dict[str, Any]:
    """The Account 360 card: the latest probability, its band, the drivers in words, the model's date."""
    prediction: RiskPrediction | None = risk.account_risk(account.pk)
    if prediction is None:
        return {"predicted": False}
    return {
        "predicted": True,
        "percent": f"{prediction.probability * 100:.1f}%",
        "band": risk.band(prediction.probability),
        "day": prediction.day,
        "drivers": driver_texts(prediction.drivers),
        "model": prediction.model,
        "horizon": prediction.model.horizon_days,
    }
