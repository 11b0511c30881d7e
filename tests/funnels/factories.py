"""Funnel test data: the recruiting funnel (応募 → 面接実施 → 内定) and its events.

`add_funnel_events(...)` stores events through `activity.store.append_events` (as imports do) and copies
them to the analytics Parquet copy (`lake.sync()`), which the funnel computation reads.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from zoneinfo import ZoneInfo

import factory
import polars as pl
from django.db import transaction

from banso.accounts.models import Account, EndUser
from banso.activity import lake
from banso.activity.store import append_events
from banso.funnels.models import Funnel, FunnelStage

TOKYO = ZoneInfo("Asia/Tokyo")
_ids = itertools.count(1)

# (label, rate label, event kind): the demo's recruiting funnel
DEFAULT_STAGES = [
    ("応募", "", "application"),
    ("面接実施", "面接実施率", "interview_held"),
    ("内定", "内定率", "offer_made"),
]
APPLICATION, INTERVIEW, OFFER = (kind for _l, _r, kind in DEFAULT_STAGES)
CONTACTED = "applicant_contacted"


class FunnelFactory(factory.django.DjangoModelFactory):
    """A funnel with the three default stages (pass `stages=[(label, rate_label, kind), ...]` for others)."""

    class Meta:
        model = Funnel
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"採用ファネル{n}")
    is_default = True
    peer_attribute = "industry"
    project_property = "project"
    period_days = 30
    history_periods = 6
    response_event_kind = CONTACTED
    response_target_minutes = 15
    business_hours = factory.LazyFunction(lambda: [["09:00", "12:00"], ["13:00", "18:00"]])

    @factory.post_generation
    def stages(obj: Funnel, create: bool, extracted: list[tuple[str, str, str]] | None, **kwargs: object) -> None:
        if not create:
            return
        FunnelStage.objects.bulk_create(
            FunnelStage(funnel=obj, position=i, label=label, rate_label=rate_label, event_kind=kind)
            for i, (label, rate_label, kind) in enumerate(extracted or DEFAULT_STAGES, start=1)
        )


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    """`day` at `hour`:`minute` in Japan."""
    return dt.datetime.combine(day, dt.time(hour, minute), TOKYO)


def applicant(account: Account | None = None, name: str = "") -> EndUser:
    n = next(_ids)
    return EndUser.objects.create(
        source="test", external_id=f"ap-{n}", name=name or f"応募者{n}", kind="applicant", account=account
    )


def funnel_event(
    account: Account, kind: str, when: dt.datetime, end_user: EndUser | int | None = None, project: str = ""
) -> dict[str, object]:
    """One event row for `add_funnel_events` (end_user None: an event without an applicant)."""
    user_id = end_user.pk if isinstance(end_user, EndUser) else end_user
    return {
        "account_id": account.pk,
        "end_user_id": user_id,
        "kind": kind,
        "occurred_at": when.astimezone(dt.UTC),
        "properties": json.dumps({"project": project} if project else {}, ensure_ascii=False),
    }


def add_funnel_events(*events: dict[str, object], sync: bool = True) -> int:
    """Store `funnel_event(...)` rows as the demo or an import would, then copy them to the Parquet lake."""
    if not events:
        return 0
    frame = pl.DataFrame(
        {
            "source": ["test"] * len(events),
            "external_id": [f"fn-{next(_ids)}" for _ in events],
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
        stored = append_events(frame)
    if sync:
        lake.sync()
    return stored


def add_funnel(
    account: Account,
    day: dt.date,
    applied: int,
    interviewed: int = 0,
    offered: int = 0,
    project: str = "",
) -> list[EndUser]:
    """`applied` applicants on `day`, the first `interviewed` of them interviewed, the first `offered` offered."""
    users = [applicant(account) for _ in range(applied)]
    rows = [funnel_event(account, APPLICATION, at(day), u, project) for u in users]
    rows += [funnel_event(account, INTERVIEW, at(day, 14), u, project) for u in users[:interviewed]]
    rows += [funnel_event(account, OFFER, at(day, 16), u, project) for u in users[:offered]]
    add_funnel_events(*rows)
    return users
