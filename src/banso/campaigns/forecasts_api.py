"""The forecasts part of the campaigns API (mounted under /api/campaigns/forecasts): compute and save a
forecast, list and read them, download the proposal (PDF/XLSX), queue a backtest. Bad input answers 422
naming the field; missing history answers 422 with the field "" and what is missing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused
from banso.core import xlsx
from banso.core.models import User
from banso.core.permissions import Capability

from . import forecasts, proposals
from .models import Forecast, Offer

router = Router(tags=["campaigns"])
VIEW = role(Capability.VIEW_ACCOUNTS)
WORK = role(Capability.WORK_CAMPAIGNS)


class ForecastIn(Schema):
    offer: int
    period_start: dt.date
    period_end: dt.date
    reward_type: str
    rate: Decimal | None = None
    amount: int | None = None
    promotions: list[str] = []


class ForecastOut(Schema):
    id: int
    offer: int
    period_start: dt.date
    period_end: dt.date
    reward_type: str
    rate: Decimal | None
    amount: int | None
    inputs: dict[str, Any]
    result: dict[str, Any]
    promotions: list[str]
    created_at: dt.datetime


class BacktestOut(Schema):
    id: int
    status: str


def _out(forecast: Forecast) -> dict[str, Any]:
    return {
        "id": forecast.pk,
        "offer": forecast.offer_id,
        "period_start": forecast.period_start,
        "period_end": forecast.period_end,
        "reward_type": forecast.reward_type,
        "rate": forecast.rate,
        "amount": forecast.amount,
        "inputs": forecast.inputs,
        "result": forecast.result,
        "promotions": list(forecast.promotions),
        "created_at": forecast.created_at,
    }


def _actor(request: HttpRequest) -> User | None:
    user = getattr(request, "auth", None) or request.user
    return user if isinstance(user, User) else None


@router.post("", response={201: ForecastOut, 422: ErrorOut}, auth=WORK)
def create(request: HttpRequest, payload: ForecastIn) -> Status[Any]:
    offer = Offer.objects.select_related("advertiser").filter(pk=payload.offer).first()
    if offer is None:
        return refused([("offer", f"no offer {payload.offer}")])
    proposal = forecasts.Proposal(
        offer=offer,
        start=payload.period_start,
        end=payload.period_end,
        reward_type=payload.reward_type,
        rate=payload.rate,
        amount=payload.amount,
        promotions=tuple(payload.promotions),
    )
    try:
        forecast = forecasts.create(proposal, _actor(request), via="api")
    except forecasts.ForecastError as error:
        return refused([(error.field, error.message)])
    return Status(201, _out(forecast))


@router.get("", response=list[ForecastOut], auth=VIEW)
def list_forecasts(request: HttpRequest, offer: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
    rows = Forecast.objects.all()
    if offer is not None:
        rows = rows.filter(offer_id=offer)
    return [_out(f) for f in rows[: max(1, min(limit, 500))]]


@router.post("/backtest", response={202: BacktestOut}, auth=WORK)
def backtest(request: HttpRequest) -> Status[Any]:
    run = forecasts.active_backtest() or forecasts.start_backtest(_actor(request))
    return Status(202, {"id": run.pk, "status": run.status})


@router.get("/{int:forecast_id}", response=ForecastOut, auth=VIEW)
def detail(request: HttpRequest, forecast_id: int) -> dict[str, Any]:
    return _out(get_object_or_404(Forecast, pk=forecast_id))


@router.get("/{int:forecast_id}/proposal.pdf", auth=VIEW)
def proposal_pdf(request: HttpRequest, forecast_id: int) -> HttpResponse:
    forecast = get_object_or_404(Forecast.objects.select_related("offer", "offer__advertiser"), pk=forecast_id)
    response = HttpResponse(proposals.render_pdf(forecast), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{proposals.file_stem(forecast)}.pdf"'
    return response


@router.get("/{int:forecast_id}/proposal.xlsx", auth=VIEW)
def proposal_xlsx(request: HttpRequest, forecast_id: int) -> HttpResponse:
    forecast = get_object_or_404(Forecast.objects.select_related("offer", "offer__advertiser"), pk=forecast_id)
    response = HttpResponse(proposals.render_xlsx(forecast), content_type=xlsx.XLSX)
    response["Content-Disposition"] = f'attachment; filename="{proposals.file_stem(forecast)}.xlsx"'
    return response
