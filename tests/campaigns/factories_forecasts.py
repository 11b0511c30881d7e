"""History for forecast tests: visits of users to an advertiser's site (events through the event store, as
imports write them) and conversions of an offer, day by day in Tokyo; and synthetic `History` arrays with a
known uplift for the method's own tests."""

import datetime as dt
import itertools

import numpy as np
import polars as pl
from django.db import transaction

from banso.accounts.models import Account
from banso.activity.store import append_events
from banso.campaigns.forecasting import History
from banso.campaigns.models import ConversionStatus, Offer

from .factories import ConversionFactory, UserFactory, tokyo

_ids = itertools.count(1)


def add_visits(advertiser: Account, first: dt.date, days: int, users: int) -> None:
    """`users` distinct users visit the advertiser's site once on each of `days` days from `first`."""
    people = UserFactory.create_batch(users)
    rows = [
        (person.pk, tokyo(d.year, d.month, d.day, 12).astimezone(dt.UTC))
        for d in (first + dt.timedelta(days=i) for i in range(days))
        for person in people
    ]
    frame = pl.DataFrame(
        {
            "source": ["test-plug"] * len(rows),
            "external_id": [f"visit-{next(_ids)}" for _ in rows],
            "account_id": [advertiser.pk] * len(rows),
            "end_user_id": [pk for pk, _t in rows],
            "kind": ["visit"] * len(rows),
            "occurred_at": [when for _pk, when in rows],
            "value": [None] * len(rows),
            "properties": ["{}"] * len(rows),
        },
        schema_overrides={"account_id": pl.Int64, "end_user_id": pl.Int64, "value": pl.String},
    )
    with transaction.atomic():
        append_events(frame)


def add_conversions(offer: Offer, first: dt.date, days: int, per_day: int, order_amount: int = 10_000) -> None:
    for i in range(days):
        d = first + dt.timedelta(days=i)
        for _n in range(per_day):
            ConversionFactory(
                offer=offer,
                end_user=None,
                occurred_at=tokyo(d.year, d.month, d.day, 20),
                status=ConversionStatus.APPROVED,
                order_amount=order_amount,
                reward=order_amount // 20,
            )


def synthetic(
    offers: int = 40, days: int = 400, beta: float = 0.7, cvr: float = 0.01, uu: float = 2000.0, seed: int = 7
) -> History:
    """Offers of one category with steady visitors (weekly pattern), a conversion rate and special rates at
    2× every ~90 days whose true uplift is 2**beta."""
    rng = np.random.default_rng(seed)
    weekday = np.arange(days) % 7
    uu_mean = uu * np.where(weekday >= 5, 1.3, 1.0)
    visitors = rng.poisson(np.broadcast_to(uu_mean, (offers, days))).astype(np.int64)
    multiplier = np.ones((offers, days))
    p_offer, p_start, p_end = [], [], []
    for o in range(offers):
        start = 70 + o % 20
        while start + 14 <= days - 30:
            multiplier[o, start : start + 14] = 2.0**beta
            p_offer.append(o)
            p_start.append(start)
            p_end.append(start + 14)
            start += 90
    conversions = rng.poisson(visitors * cvr * multiplier).astype(np.int64)
    return History(
        first_day=dt.date(2025, 1, 6),
        offer_ids=np.arange(1, offers + 1, dtype=np.int64),
        categories=np.array(["ec"] * offers),
        uu=visitors,
        conversions=conversions,
        order_amount=conversions * 8_000,
        period_offer=np.array(p_offer, np.int64),
        period_start=np.array(p_start, np.int64),
        period_end=np.array(p_end, np.int64),
        period_ratio=np.full(len(p_offer), 2.0),
    )
