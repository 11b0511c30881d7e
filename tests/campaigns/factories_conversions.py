"""Helpers of the conversions tests: the media's own offer_click and visit events (stored through the event
store, as imports do), and result report files in the standard columns or an ASP's layout."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
from collections.abc import Sequence
from typing import Any

import polars as pl
from django.db import transaction

from banso.accounts.models import EndUser
from banso.activity.store import append_events
from banso.campaigns.models import Offer

_ids = itertools.count(1)


def click(offer: Offer, user: EndUser | None, at: dt.datetime, click_id: str) -> dict[str, Any]:
    """An offer_click event as the extension records it: the advertiser, the user, the offer and click ids."""
    return {
        "account_id": offer.advertiser_id,
        "end_user_id": user.pk if user else None,
        "kind": "offer_click",
        "occurred_at": at,
        "properties": json.dumps({"offer": offer.pk, "click_id": click_id}),
    }


def visit(offer: Offer, user: EndUser, at: dt.datetime) -> dict[str, Any]:
    return {
        "account_id": offer.advertiser_id,
        "end_user_id": user.pk,
        "kind": "visit",
        "occurred_at": at,
        "properties": "{}",
    }


def store_events(events: Sequence[dict[str, Any]]) -> int:
    frame = pl.DataFrame(
        {
            "source": ["test-plug"] * len(events),
            "external_id": [f"cv-ev-{next(_ids)}" for _ in events],
            "account_id": [e["account_id"] for e in events],
            "end_user_id": [e["end_user_id"] for e in events],
            "kind": [e["kind"] for e in events],
            "occurred_at": [e["occurred_at"] for e in events],
            "value": [None] * len(events),
            "properties": [e["properties"] for e in events],
        },
        schema_overrides={"end_user_id": pl.Int64, "value": pl.String, "occurred_at": pl.Datetime("us", "UTC")},
    )
    with transaction.atomic():
        return append_events(frame)


STANDARD_HEADER = (
    "asp",
    "asp_conversion_id",
    "asp_offer_id",
    "click_id",
    "user",
    "occurred_at",
    "decided_at",
    "status",
    "order_amount",
    "reward",
)


def report(rows: Sequence[dict[str, Any]], header: Sequence[str] = STANDARD_HEADER, encoding: str = "utf-8") -> bytes:
    """A CSV report: `rows` give the values by header name (missing ones are empty)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    return out.getvalue().encode(encoding)
