"""Forecasts and backtests as services: gather an offer's (and its category's) daily history from the app
database (conversions, special rates) and the analytics lake (unique visitors to the advertisers' sites),
run the method of `forecasting.py`, save `Forecast` rows with their inputs and result, replay history in a
`BacktestRun`. Views, API, CLI and tasks call these."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import numpy as np
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.activity import lake
from banso.analytics.backends import Backend, get_backend
from banso.analytics.engine import day_start
from banso.core.choices import AuditAction
from banso.core.models import RunStatus, User
from banso.core.services import record_change

from . import forecasting
from .models import (
    BacktestRun,
    Conversion,
    ConversionStatus,
    Forecast,
    Offer,
    RewardType,
    SpecialRate,
    SpecialRateStatus,
)

TOKYO = ZoneInfo("Asia/Tokyo")
HISTORY_DAYS = 730
MAX_PERIOD_DAYS = 92
JST_OFFSET_SECONDS = 9 * 3600


class ForecastError(ValueError):
    """Bad input or missing history: `field` names what is wrong ("" when it is the data)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class Proposal:
    """What to forecast: an offer, its period (Tokyo dates, inclusive) and the proposed reward."""

    offer: Offer
    start: dt.date
    end: dt.date
    reward_type: str
    rate: Decimal | None = None
    amount: int | None = None
    promotions: tuple[str, ...] = ()


def validate(proposal: Proposal) -> None:
    if proposal.end < proposal.start:
        raise ForecastError("period_end", _("The period must end on or after its first day."))
    if (proposal.end - proposal.start).days + 1 > MAX_PERIOD_DAYS:
        raise ForecastError("period_end", _("A period is at most %(n)s days.") % {"n": MAX_PERIOD_DAYS})
    if proposal.reward_type == RewardType.RATE:
        if proposal.rate is None or proposal.rate <= 0 or proposal.rate >= 100:
            raise ForecastError("rate", _("Give the proposed rate in percent (above 0, below 100)."))
    elif proposal.reward_type == RewardType.FIXED:
        if proposal.amount is None or proposal.amount <= 0:
            raise ForecastError("amount", _("Give the proposed reward in yen (above 0)."))
    else:
        raise ForecastError("reward_type", _("The reward type is rate or fixed."))
    from .proposals import PROMOTION_MENU

    unknown = [key for key in proposal.promotions if key not in PROMOTION_MENU]
    if unknown:
        raise ForecastError("promotions", _("Unknown promotion items: %(keys)s") % {"keys": ", ".join(unknown)})


def yen_per_acquisition(reward_type: str, rate: Decimal | None, amount: int | None, avg_order: float) -> float:
    """A reward in yen per acquisition: a fixed amount, or the rate × the average order amount."""
    if reward_type == RewardType.FIXED:
        return float(amount or 0)
    return float(rate or 0) / 100.0 * avg_order


def _local_day(value: dt.datetime) -> dt.date:
    return value.astimezone(TOKYO).date()


def _end_day(value: dt.datetime) -> dt.date:
    """First Tokyo day not in a half-open period ending at `value`."""
    return (value - dt.timedelta(microseconds=1)).astimezone(TOKYO).date() + dt.timedelta(days=1)


# History ---------------------------------------------------------------------------------------------------


def unique_visitors(
    advertiser_ids: Iterable[int], first: dt.date, last: dt.date, backend: Backend | None = None
) -> dict[tuple[int, dt.date], int]:
    """Distinct end users with a "visit" event at each advertiser on each Tokyo day in [first, last]."""
    ids = sorted(set(advertiser_ids))
    if not ids:
        return {}
    backend = backend or get_backend()
    if backend.uses_lake:
        lake.sync()
    events = backend.events(since=first)
    lo = ibis.literal(day_start(first), type="timestamp('UTC')")
    hi = ibis.literal(day_start(last + dt.timedelta(days=1)), type="timestamp('UTC')")
    visits = events.filter(
        events.kind == "visit",
        events.account_id.isin(ids),
        events.end_user_id.notnull(),
        events.occurred_at >= lo,
        events.occurred_at < hi,
    )
    day = ((visits.occurred_at.epoch_seconds() + JST_OFFSET_SECONDS) // 86_400).cast("int64")
    table = (
        visits.mutate(day=day).group_by(["account_id", "day"]).aggregate(uu=visits.end_user_id.nunique()).to_pyarrow()
    )
    epoch = dt.date(1970, 1, 1)
    return {
        (int(a), epoch + dt.timedelta(days=int(d))): int(n)
        for a, d, n in zip(
            table["account_id"].to_pylist(), table["day"].to_pylist(), table["uu"].to_pylist(), strict=True
        )
    }


def _base_yen(offer: Offer, avg_order: float) -> float:
    return yen_per_acquisition(offer.base_reward_type, offer.base_rate, offer.base_amount, avg_order)


def gather_history(
    offers: list[Offer], first: dt.date, last: dt.date, backend: Backend | None = None
) -> forecasting.History:
    """Daily visitors, conversions (not rejected) and order amounts of `offers` for [first, last], and their
    special-rate periods (not cancelled) with reward ratios against the base reward."""
    days = (last - first).days + 1
    index = {offer.pk: row for row, offer in enumerate(offers)}
    uu = np.zeros((len(offers), days), np.int64)
    conversions = np.zeros_like(uu)
    order_amount = np.zeros_like(uu)
    visitors = unique_visitors({o.advertiser_id for o in offers}, first, last, backend)
    by_advertiser: dict[int, list[int]] = {}
    for offer in offers:
        by_advertiser.setdefault(offer.advertiser_id, []).append(index[offer.pk])
    for (advertiser, day), count in visitors.items():
        t = (day - first).days
        if 0 <= t < days:
            for row in by_advertiser.get(advertiser, []):
                uu[row, t] = count
    daily = (
        Conversion.objects.filter(
            offer_id__in=list(index),
            occurred_at__gte=day_start(first),
            occurred_at__lt=day_start(last + dt.timedelta(days=1)),
        )
        .exclude(status=ConversionStatus.REJECTED)
        .annotate(day=TruncDate("occurred_at", tzinfo=TOKYO))
        .values("offer_id", "day")
        .annotate(n=Count("id"), amount=Sum("order_amount"))
    )
    for item in daily:
        t = (item["day"] - first).days
        if 0 <= t < days:
            conversions[index[item["offer_id"]], t] = item["n"]
            order_amount[index[item["offer_id"]], t] = item["amount"] or 0
    # Average order per offer over the whole history (to compare rate and fixed rewards in yen).
    orders = conversions.sum(axis=1)
    avg = np.where(orders > 0, order_amount.sum(axis=1) / np.maximum(orders, 1), 0.0)
    p_offer, p_start, p_end, p_ratio = [], [], [], []
    for rate in SpecialRate.objects.filter(offer_id__in=list(index)).exclude(status=SpecialRateStatus.CANCELLED):
        row = index[rate.offer_id]
        offer = offers[row]
        base = _base_yen(offer, float(avg[row]))
        special = yen_per_acquisition(rate.reward_type, rate.rate, rate.amount, float(avg[row]))
        if base <= 0 or special <= 0:
            continue
        p_offer.append(row)
        p_start.append((_local_day(rate.starts_at) - first).days)
        p_end.append((_end_day(rate.ends_at) - first).days)
        p_ratio.append(special / base)
    return forecasting.History(
        first_day=first,
        offer_ids=np.array([o.pk for o in offers], np.int64),
        categories=np.array([o.category for o in offers]),
        uu=uu,
        conversions=conversions,
        order_amount=order_amount,
        period_offer=np.array(p_offer, np.int64),
        period_start=np.array(p_start, np.int64),
        period_end=np.array(p_end, np.int64),
        period_ratio=np.array(p_ratio, np.float64),
    )


# Forecast --------------------------------------------------------------------------------------------------


def compute(proposal: Proposal, as_of: dt.date | None = None, backend: Backend | None = None) -> dict[str, Any]:
    """The forecast of `proposal` made on `as_of` (today, Tokyo): {"inputs": …, "result": …}. Raises
    ForecastError naming the field, or naming the missing history."""
    validate(proposal)
    as_of = as_of or timezone.localdate()
    offer = proposal.offer
    first = as_of - dt.timedelta(days=HISTORY_DAYS)
    last = as_of - dt.timedelta(days=1)
    peers = list(Offer.objects.filter(category=offer.category).exclude(pk=offer.pk).select_related("advertiser"))
    offers = [offer, *peers]
    history = gather_history(offers, first, last, backend)
    recent = history.uu[0, -forecasting.BASELINE_WEEKS * 7 :]
    if recent.sum() == 0:
        raise ForecastError(
            "",
            _(
                "No visits to %(advertiser)s's site in the 8 weeks before %(day)s: the forecast needs the "
                "advertiser's unique visitors (visit events at that advertiser in the analytics data)."
            )
            % {"advertiser": offer.advertiser.name, "day": as_of.isoformat()},
        )
    start_index = history.index(proposal.start)
    days = (proposal.end - proposal.start).days + 1
    # The average order over the last 90 days (the category's when the offer has none) prices rate rewards.
    probe = forecasting.forecast(
        history,
        forecasting.Cases(
            offer=np.array([0]),
            as_of=np.array([history.days]),
            start=np.array([start_index]),
            days=np.array([days]),
            ratio=np.array([1.0]),
        ),
        draws=10,
    )
    avg_order = float(probe.avg_order[0])
    base_yen = _base_yen(offer, avg_order)
    current_yen = yen_per_acquisition(offer.reward_type, offer.reward_rate, offer.reward_amount, avg_order)
    proposed_yen = yen_per_acquisition(proposal.reward_type, proposal.rate, proposal.amount, avg_order)
    if base_yen <= 0 or proposed_yen <= 0:
        raise ForecastError(
            "rate" if proposal.reward_type == RewardType.RATE else "",
            _(
                "A rate reward needs an average order amount: %(offer)s and its category have no conversions "
                "with an order amount in the last 90 days."
            )
            % {"offer": offer.name},
        )
    ratios = np.array([proposed_yen / base_yen, current_yen / base_yen if current_yen > 0 else 1.0])
    both = forecasting.forecast(
        history,
        forecasting.Cases(
            offer=np.array([0, 0]),
            as_of=np.array([history.days, history.days]),
            start=np.array([start_index, start_index]),
            days=np.array([days, days]),
            ratio=ratios,
        ),
    )
    share = float(offer.cashback_share) / 100.0
    draws = both.draws[0]

    def money(draws: np.ndarray[Any, Any]) -> dict[str, Any]:
        reward = forecasting.money_interval(draws, proposed_yen)
        return {
            "acquisitions": forecasting.count_interval(np.quantile(draws, forecasting.QUANTILES)),
            "reward_cost": reward,
            "sales": forecasting.money_interval(draws, avg_order),
            "cashback": forecasting.money_interval(draws, proposed_yen * share),
            "revenue": forecasting.money_interval(draws, proposed_yen * (1 - share)),
        }

    result: dict[str, Any] = money(draws)
    current_draws = both.draws[1]
    result["current"] = {
        "acquisitions": forecasting.count_interval(np.quantile(current_draws, forecasting.QUANTILES)),
        "reward_cost": forecasting.money_interval(current_draws, current_yen),
    }
    result["interval"] = forecasting.INTERVAL
    result["yen_per_acquisition"] = round(proposed_yen)
    result["current_yen_per_acquisition"] = round(current_yen)
    effects = forecasting.period_effects(history)
    own = effects.offer == 0
    result["past_periods"] = [
        {
            "start": (history.first_day + dt.timedelta(days=int(s))).isoformat(),
            "end": (history.first_day + dt.timedelta(days=int(e) - 1)).isoformat(),
            "ratio": round(float(np.exp(x)), 3),
            "before_rate": float(b),
            "during_rate": float(d),
            "uplift": round(float(d / b), 3) if b > 0 else None,
        }
        for s, e, x, b, d in zip(
            effects.start[own],
            effects.end[own],
            effects.x[own],
            effects.before[own],
            effects.during[own],
            strict=True,
        )
    ]
    inputs = both.row(0) | {
        "as_of": as_of.isoformat(),
        "period_days": days,
        "base_yen_per_acquisition": round(base_yen),
        "reward_ratio": round(float(ratios[0]), 4),
        "draws": forecasting.DRAWS,
        "seed": forecasting.SEED,
        "method": "same-weekday UU × Beta-shrunk CVR × reward-ratio^β uplift; 80% simulated interval",
    }
    return {"inputs": inputs, "result": result}


def monthly_results(offer: Offer, as_of: dt.date, months: int = 12) -> list[dict[str, Any]]:
    """Conversions (all, approved, rejected), approval rate and reward (not rejected) per Tokyo month."""
    first = as_of.replace(day=1)
    for _i in range(months - 1):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    rows = (
        Conversion.objects.filter(offer=offer, occurred_at__gte=day_start(first), occurred_at__lt=day_start(as_of))
        .annotate(month=TruncMonth("occurred_at", tzinfo=TOKYO))
        .values("month")
        .annotate(
            conversions=Count("id"),
            approved=Count("id", filter=Q(status=ConversionStatus.APPROVED)),
            rejected=Count("id", filter=Q(status=ConversionStatus.REJECTED)),
            reward=Sum("reward", filter=~Q(status=ConversionStatus.REJECTED)),
        )
        .order_by("month")
    )
    out = []
    for row in rows:
        month = row["month"]
        month = month.date() if isinstance(month, dt.datetime) else month
        decided = row["approved"] + row["rejected"]
        out.append(
            {
                "month": month.strftime("%Y-%m"),
                "conversions": row["conversions"],
                "approved": row["approved"],
                "rejected": row["rejected"],
                "approval_rate": row["approved"] / decided if decided else None,
                "reward": int(row["reward"] or 0),
            }
        )
    return out


def create(
    proposal: Proposal,
    actor: User | None,
    as_of: dt.date | None = None,
    via: str = "ui",
    backend: Backend | None = None,
) -> Forecast:
    """Compute and save a forecast (audited)."""
    as_of = as_of or timezone.localdate()
    computed = compute(proposal, as_of, backend)
    computed["result"]["monthly"] = monthly_results(proposal.offer, as_of)
    with transaction.atomic():
        forecast = Forecast.objects.create(
            offer=proposal.offer,
            period_start=proposal.start,
            period_end=proposal.end,
            reward_type=proposal.reward_type,
            rate=proposal.rate if proposal.reward_type == RewardType.RATE else None,
            amount=proposal.amount if proposal.reward_type == RewardType.FIXED else None,
            inputs=computed["inputs"],
            result=computed["result"],
            promotions=list(proposal.promotions),
            created_by=actor if actor and actor.is_authenticated else None,
        )
        record_change(
            actor=actor,
            obj=forecast,
            action=AuditAction.CREATE,
            before=None,
            after={
                "offer": proposal.offer.pk,
                "period": f"{proposal.start}–{proposal.end}",
                "reward": str(forecast.rate) if forecast.rate is not None else forecast.amount,
            },
            account_id=proposal.offer.advertiser_id,
            via=via,
        )
    return forecast


# Backtest --------------------------------------------------------------------------------------------------


def backtest_history(as_of: dt.date, backend: Backend | None = None) -> forecasting.History:
    offers = list(Offer.objects.order_by("id"))
    return gather_history(offers, as_of - dt.timedelta(days=HISTORY_DAYS), as_of - dt.timedelta(days=1), backend)


def latest_backtest() -> BacktestRun | None:
    return BacktestRun.objects.filter(status=RunStatus.SUCCEEDED).order_by("-finished_at", "-id").first()


def active_backtest() -> BacktestRun | None:
    return BacktestRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).first()


def start_backtest(actor: User | None) -> BacktestRun:
    """Queue a backtest for the worker; its page shows the progress."""
    from .forecasts_tasks import backtest_task

    run = BacktestRun.objects.create(
        as_of=timezone.localdate(), triggered_by=actor if actor and actor.is_authenticated else None
    )
    transaction.on_commit(lambda: backtest_task.enqueue(run.pk))
    return run


def run_backtest(
    run: BacktestRun, backend: Backend | None = None, echo: Callable[[str], None] | None = None
) -> BacktestRun:
    """Gather every offer's history up to the run's day, replay every past special-rate period, store the
    error figures (overall, by category) and the per-period rows for the chart."""
    run.status, run.started_at = RunStatus.RUNNING, timezone.now()
    run.save(update_fields=["status", "started_at"])

    def step(percent: int, text: str, **counts: int) -> None:
        run.progress(percent, text, **counts)
        if echo:
            echo(f"{percent:3d}% {text}")

    try:
        step(5, _("Reading visits and conversions"))
        history = backtest_history(run.as_of, backend)
        step(50, _("Forecasting past special-rate periods"), offers=int(history.offer_ids.size))
        result = forecasting.backtest(history)
        summary = forecasting.summarise(result)
        order = np.argsort(result.start, kind="stable")
        summary["rows"] = [
            {
                "offer": int(result.offer_id[i]),
                "category": str(result.category[i]),
                "start": (history.first_day + dt.timedelta(days=int(result.start[i]))).isoformat(),
                "days": int(result.end[i] - result.start[i]),
                "ratio": round(float(result.ratio[i]), 3),
                "low": float(result.low[i]),
                "mid": float(result.mid[i]),
                "high": float(result.high[i]),
                "actual": float(result.actual[i]),
            }
            for i in order[-500:]
        ]
        run.summary = summary
        run.periods = int(summary["periods"])
        run.status, run.finished_at, run.percent = RunStatus.SUCCEEDED, timezone.now(), 100
        run.step = _("Done")
        run.save(update_fields=["summary", "periods", "status", "finished_at", "percent", "step"])
    except Exception as error:
        run.status, run.finished_at, run.error = RunStatus.FAILED, timezone.now(), str(error)[:2000]
        run.save(update_fields=["status", "finished_at", "error"])
        raise
    return run
