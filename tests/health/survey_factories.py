"""Survey test data: surveys, answers as events; the SMTP server fixture is tests/mail.py's `smtp`."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import factory
import polars as pl
from django.db import transaction

from banso.accounts.models import Account
from banso.activity.store import append_events
from banso.health.models import Survey, SurveyKind

from ..mail import smtp  # noqa: F401 (the survey tests import the fixture from here)

TOKYO = ZoneInfo("Asia/Tokyo")
_ids = itertools.count(1)


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey

    name = factory.Sequence(lambda n: f"顧客満足度調査{n}")
    kind = SurveyKind.NPS
    question = "{会社名}を同僚や知人に薦める可能性はどのくらいありますか？"
    comment_question = "理由をお聞かせください。"


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), TOKYO)


def add_scores(*answers: tuple[Account, str, dt.datetime, int]) -> int:
    """Survey answers as events (account, kind, when, score), as the demo or an import would store them."""
    frame = pl.DataFrame(
        {
            "source": ["test"] * len(answers),
            "external_id": [f"sv-{next(_ids)}" for _ in answers],
            "account_id": [a.pk for a, _k, _t, _s in answers],
            "end_user_id": [None] * len(answers),
            "kind": [k for _a, k, _t, _s in answers],
            "occurred_at": [t.astimezone(dt.UTC) for _a, _k, t, _s in answers],
            "value": [str(s) for _a, _k, _t, s in answers],
            "properties": ['{"survey": "nps"}'] * len(answers),
        },
        schema_overrides={"end_user_id": pl.Int64, "value": pl.String},
    )
    with transaction.atomic():
        return append_events(frame)
