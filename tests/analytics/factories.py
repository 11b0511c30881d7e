"""Small analytics data for page, API and command tests: accounts, events, custom metrics and segments."""

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import factory
import polars as pl
from django.db import transaction

from banso.accounts.models import Account, EndUser
from banso.activity.store import append_events
from banso.analytics.models import MetricDefinition, Segment

TOKYO = ZoneInfo("Asia/Tokyo")
_ids = itertools.count(1)


class MetricDefinitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MetricDefinition

    key = factory.Sequence(lambda n: f"custom_{n}")
    label = factory.Sequence(lambda n: f"独自指標{n}")
    spec = factory.LazyFunction(lambda: {"aggregate": "count", "kinds": ["report_export"], "window": {"days": 7}})


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"セグメント{n}")
    subject_type = "account"
    rules = factory.LazyFunction(
        lambda: {"match": "all", "rules": [{"type": "metric", "metric": "logins_30d", "op": "gte", "value": 2}]}
    )


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    """An instant on a Japanese calendar day."""
    return dt.datetime.combine(day, dt.time(hour), TOKYO)


def add_events(*events: tuple[Account | None, str, dt.datetime], end_user: EndUser | None = None) -> int:
    """Store events (account, kind, when) through the event store, as imports do."""
    frame = pl.DataFrame(
        {
            "source": ["test"] * len(events),
            "external_id": [f"ev-{next(_ids)}" for _ in events],
            "account_id": [a.pk if a else None for a, _k, _t in events],
            "end_user_id": [end_user.pk if end_user else None for _ in events],
            "kind": [kind for _a, kind, _t in events],
            "occurred_at": [when.astimezone(dt.UTC) for _a, _k, when in events],
            "value": [None] * len(events),
            "properties": ["{}"] * len(events),
        },
        schema_overrides={"account_id": pl.Int64, "end_user_id": pl.Int64, "value": pl.String},
    )
    with transaction.atomic():
        return append_events(frame)


def logins(account: Account, today: dt.date, days_ago: list[int]) -> int:
    return add_events(*((account, "login", at(today - dt.timedelta(days=d))) for d in days_ago))
