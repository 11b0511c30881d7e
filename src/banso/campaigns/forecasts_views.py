"""Forecast and proposal pages: the list, a new forecast for an offer (inputs and interval shown before
saving), a forecast with its chart and proposal downloads, and the backtest with its progress."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.core import charts, xlsx
from banso.core.models import User
from banso.core.permissions import Capability, has_capability, requires
from banso.core.views import progress_fragment

from . import forecasts, proposals
from .forecasts_forms import ForecastForm
from .models import BacktestRun, Forecast, Offer, OfferCategory

PER_PAGE = 50


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _can_work(request: HttpRequest) -> bool:
    return has_capability(request.user, Capability.WORK_CAMPAIGNS)


@requires(Capability.VIEW_ACCOUNTS)
def forecast_list(request: HttpRequest) -> HttpResponse:
    rows = Forecast.objects.select_related("offer", "offer__advertiser", "created_by")
    offer_id = request.GET.get("offer", "")
    if offer_id.isdigit():
        rows = rows.filter(offer_id=int(offer_id))
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "offers": Offer.objects.order_by("name").only("id", "name")[:500],
        "can_work": _can_work(request),
        "latest": forecasts.latest_backtest(),
    }
    return render(request, "campaigns/forecasts.html", context)


def _proposal(offer: Offer, data: dict[str, Any]) -> forecasts.Proposal:
    return forecasts.Proposal(
        offer=offer,
        start=data["period_start"],
        end=data["period_end"],
        reward_type=data["reward_type"],
        rate=data.get("rate"),
        amount=data.get("amount"),
        promotions=tuple(data.get("promotions") or ()),
    )


@requires(Capability.WORK_CAMPAIGNS)
def forecast_new(request: HttpRequest) -> HttpResponse:
    raw = request.POST.get("offer") or request.GET.get("offer", "")
    if not raw.isdigit():
        messages.info(request, _("Choose an offer to forecast."))
        return redirect("campaigns:forecasts")
    offer = get_object_or_404(Offer.objects.select_related("advertiser"), pk=int(raw))
    preview: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        form = ForecastForm(request.POST)
        if form.is_valid():
            proposal = _proposal(offer, form.cleaned_data)
            try:
                if request.POST.get("save"):
                    forecast = forecasts.create(proposal, _actor(request))
                    messages.success(request, _("The forecast was saved."))
                    return redirect("campaigns:forecast", pk=forecast.pk)
                preview = forecasts.compute(proposal)
            except forecasts.ForecastError as error:
                form.add_error(error.field or None, error.message)
                status = 422
        else:
            status = 422
    else:
        form = ForecastForm(
            initial={
                "reward_type": offer.base_reward_type,
                "rate": offer.base_rate,
                "amount": offer.base_amount,
            }
        )
    context = {"offer": offer, "form": form, "preview": preview}
    response = render(request, "campaigns/forecast_new.html", context)
    response.status_code = status
    return response


def _chart(forecast: Forecast) -> dict[str, Any]:
    result = forecast.result
    proposed = result.get("acquisitions") or {}
    current = (result.get("current") or {}).get("acquisitions") or {}
    labels = [_("Low (p10)"), _("Mid (p50)"), _("High (p90)")]
    return charts.bar_chart(
        labels,
        [
            charts.series(_("Current reward"), [current.get(k) for k in ("low", "mid", "high")], 0),
            charts.series(_("Proposed reward"), [proposed.get(k) for k in ("low", "mid", "high")], 1),
        ],
        y_title=_("Acquisitions"),
    )


@requires(Capability.VIEW_ACCOUNTS)
def forecast_detail(request: HttpRequest, pk: int) -> HttpResponse:
    forecast = get_object_or_404(Forecast.objects.select_related("offer", "offer__advertiser", "created_by"), pk=pk)
    context = {
        "forecast": forecast,
        "rows": proposals.forecast_rows(forecast),
        "chart": _chart(forecast),
        "promotions": [
            (key, name, text, key in forecast.promotions) for key, (name, text) in proposals.PROMOTION_MENU.items()
        ],
        "reward": proposals.reward_text(forecast.reward_type, forecast.rate, forecast.amount),
        "current_reward": proposals.current_reward_text(forecast),
    }
    return render(request, "campaigns/forecast.html", context)


@requires(Capability.VIEW_ACCOUNTS)
def proposal_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    forecast = get_object_or_404(Forecast.objects.select_related("offer", "offer__advertiser"), pk=pk)
    response = HttpResponse(proposals.render_pdf(forecast), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{proposals.file_stem(forecast)}.pdf"'
    return response


@requires(Capability.VIEW_ACCOUNTS)
def proposal_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    forecast = get_object_or_404(Forecast.objects.select_related("offer", "offer__advertiser"), pk=pk)
    response = HttpResponse(proposals.render_xlsx(forecast), content_type=xlsx.XLSX)
    response["Content-Disposition"] = f'attachment; filename="{proposals.file_stem(forecast)}.xlsx"'
    return response


# Backtest --------------------------------------------------------------------------------------------------


def _backtest_chart(run: BacktestRun) -> dict[str, Any] | None:
    rows = (run.summary or {}).get("rows") or []
    if not rows:
        return None
    rows = rows[-120:]
    labels = [f"{r['start']} #{r['offer']}" for r in rows]
    return charts.line_chart(
        labels,
        [
            charts.series(_("Actual"), [r["actual"] for r in rows], 7, showLine=False),
            charts.series(_("Forecast (mid)"), [r["mid"] for r in rows], 0, showLine=False),
            charts.series(_("Low (p10)"), [r["low"] for r in rows], 5, showLine=False, pointStyle="line"),
            charts.series(_("High (p90)"), [r["high"] for r in rows], 5, showLine=False, pointStyle="line"),
        ],
        y_title=_("Acquisitions"),
    )


@requires(Capability.VIEW_ACCOUNTS)
def backtest(request: HttpRequest) -> HttpResponse:
    latest = forecasts.latest_backtest()
    summary = latest.summary if latest else {}
    context = {
        "latest": latest,
        "summary": summary,
        "categories": [
            (_category_label(name), figures) for name, figures in sorted((summary.get("by_category") or {}).items())
        ],
        "chart": _backtest_chart(latest) if latest else None,
        "active": forecasts.active_backtest(),
        "runs": BacktestRun.objects.select_related("triggered_by")[:10],
        "can_work": _can_work(request),
    }
    return render(request, "campaigns/backtest.html", context)


@requires(Capability.WORK_CAMPAIGNS)
@require_POST
def backtest_start(request: HttpRequest) -> HttpResponse:
    running = forecasts.active_backtest()
    if running is not None:
        messages.info(request, _("A backtest is already waiting or running; it is shown below."))
        return redirect("campaigns:backtest_run", pk=running.pk)
    run = forecasts.start_backtest(_actor(request))
    messages.success(request, _("The backtest was queued; the worker runs it in the background."))
    return redirect("campaigns:backtest_run", pk=run.pk)


@requires(Capability.VIEW_ACCOUNTS)
def backtest_run(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(BacktestRun.objects.select_related("triggered_by"), pk=pk)
    return render(request, "campaigns/backtest_run.html", {"run": run, "running": run.running})


@requires(Capability.VIEW_ACCOUNTS)
def backtest_progress(request: HttpRequest, pk: int) -> HttpResponse:
    run = BacktestRun.objects.filter(pk=pk).first()
    if run is None:
        raise Http404
    return progress_fragment(request, "campaigns/_backtest_progress.html", run)


def _category_label(key: str) -> str:
    """The offer category's label for a key stored in a backtest summary (the key itself if unknown)."""
    return str(OfferCategory(key).label) if key in OfferCategory.values else key
