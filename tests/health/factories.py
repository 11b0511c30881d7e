"""Scorecard test data: cards with a first version, and login/inquiry events stored through the event store."""

import datetime as dt
import itertools
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from django.db import transaction

from banso.activity.store import append_events
from banso.health import services
from banso.health.models import Scorecard

JST = ZoneInfo("Asia/Tokyo")
_ids = itertools.count(1)

LOGINS = {"key": "metric:logins_30d", "weight": 60, "mapping": {"type": "range", "bad": 0, "good": 20}}
OPEN_INQUIRIES = {
    "key": "inquiries:open",
    "weight": 40,
    "mapping": {"type": "thresholds", "steps": [{"min": 3, "points": 0}, {"min": 1, "points": 50}], "otherwise": 100},
}


def definition(*measures: dict[str, Any], red_below: float = 40, green_from: float = 70) -> dict[str, Any]:
    return {
        "measures": list(measures or (LOGINS, OPEN_INQUIRIES)),
        "bands": {"red_below": red_below, "green_from": green_from},
    }


def make_card(name: str = "標準カード", definition_data: dict[str, Any] | None = None, **kwargs: Any) -> Scorecard:
    return services.save_scorecard(None, name=name, definition=definition_data or definition(), **kwargs)


def add_events(account_id: int, kind: str, day: dt.date, n: int = 1) -> None:
    frame = pl.DataFrame(
        {
            "source": ["test"] * n,
            "external_id": [f"h-{next(_ids)}" for _ in range(n)],
            "account_id": [account_id] * n,
            "end_user_id": [None] * n,
            "kind": [kind] * n,
            "occurred_at": [dt.datetime.combine(day, dt.time(10, i % 60), JST).astimezone(dt.UTC) for i in range(n)],
            "value": [None] * n,
            "properties": ["{}"] * n,
        },
        schema_overrides={"account_id": pl.Int64, "end_user_id": pl.Int64, "value": pl.String},
    )
    with transaction.atomic():
        append_events(frame)
