"""`banso campaigns` actions of the forecasts area.

banso campaigns forecast --offer ID --from YYYY-MM-DD --to YYYY-MM-DD (--rate 8.5 | --amount 3000) [--save]
banso campaigns backtest
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import CommandError

from . import forecasts
from .models import BacktestRun, Offer, RewardType


def add_actions(actions: Any) -> None:
    """Register this area's subparsers; each sets `run=<callable(command, **options)>` as its default."""
    parser = actions.add_parser("forecast", help="Forecast acquisitions of an offer at a proposed special rate.")
    parser.add_argument("--offer", type=int, required=True)
    parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD (Tokyo)")
    parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD (Tokyo)")
    reward = parser.add_mutually_exclusive_group(required=True)
    reward.add_argument("--rate", help="proposed rate in percent")
    reward.add_argument("--amount", type=int, help="proposed reward in yen")
    parser.add_argument("--save", action="store_true", help="save the forecast (default: print only)")
    parser.set_defaults(run=run_forecast)

    backtest = actions.add_parser("backtest", help="Replay the forecast over every past special-rate period.")
    backtest.set_defaults(run=run_backtest)


def _date(text: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise CommandError(f"{name}: not a date (YYYY-MM-DD): {text!r}") from error


def run_forecast(
    command: Any, offer: int, start: str, end: str, rate: str | None, amount: int | None, save: bool, **_: Any
) -> None:
    found = Offer.objects.select_related("advertiser").filter(pk=offer).first()
    if found is None:
        raise CommandError(f"--offer: no offer {offer}")
    try:
        rate_value = Decimal(rate) if rate is not None else None
    except InvalidOperation as error:
        raise CommandError(f"--rate: not a number: {rate!r}") from error
    proposal = forecasts.Proposal(
        offer=found,
        start=_date(start, "--from"),
        end=_date(end, "--to"),
        reward_type=RewardType.RATE if rate_value is not None else RewardType.FIXED,
        rate=rate_value,
        amount=amount,
    )
    try:
        if save:
            forecast = forecasts.create(proposal, None, via="cli")
            data: dict[str, Any] = {"id": forecast.pk, "inputs": forecast.inputs, "result": forecast.result}
        else:
            data = forecasts.compute(proposal)
    except forecasts.ForecastError as error:
        names = {"period_end": "--to", "rate": "--rate", "amount": "--amount"}
        raise CommandError(f"{names.get(error.field, error.field) or 'history'}: {error.message}") from error
    acquisitions = data["result"]["acquisitions"]
    command.stdout.write(
        f"{found.name} {proposal.start}–{proposal.end}: acquisitions {acquisitions['low']}–{acquisitions['high']} "
        f"(mid {acquisitions['mid']}), reward cost ¥{data['result']['reward_cost']['mid']:,} (mid)"
    )
    command.stdout.write(json.dumps(data, ensure_ascii=False, default=str))


def run_backtest(command: Any, **_: Any) -> None:
    from django.utils import timezone

    run = BacktestRun.objects.create(as_of=timezone.localdate())
    forecasts.run_backtest(run, echo=command.stderr.write)
    s = run.summary
    command.stdout.write(
        f"{s['periods']} periods of {s['offers']} offers: MAPE {s['mape']}, median APE {s['median_ape']}, "
        f"bias {s['bias']}, coverage {s['coverage']}"
    )
