"""Push-campaign test data: end-user segments, campaigns, browser subscriptions (with real P-256 keys, so a
loopback push service can decrypt what is sent), visits to an advertiser's site through the event store."""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import os

import factory
import polars as pl
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import transaction

from banso.activity.store import append_events
from banso.analytics.models import Segment
from banso.campaigns.models import Channel, PushCampaign, PushSubscription
from banso.campaigns.push import visited_segment_rules
from banso.playbooks.models import MessageKind, MessageStatus, OutboxMessage

from .factories import UserFactory

_ids = itertools.count(1)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class BrowserKeys:
    """The browser side of a subscription: its ECDH key pair and auth secret."""

    def __init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.p256dh = b64url(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )


class EndUserSegmentFactory(factory.django.DjangoModelFactory):
    """A segment of end users: by default "any visit in the last 30 days" (a catalogue-free inline metric)."""

    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"訪問者{n}")
    subject_type = "end_user"
    is_active = False
    rules = factory.LazyFunction(
        lambda: {
            "match": "all",
            "rules": [
                {
                    "type": "metric",
                    "metric": {"subject": "end_user", "aggregate": "count", "kinds": ["visit"], "window": {"days": 30}},
                    "op": "gte",
                    "value": 1,
                }
            ],
        }
    )


def visited_segment(advertiser, from_days: int = 3, to_days: int = 7) -> Segment:
    return EndUserSegmentFactory(rules=visited_segment_rules(advertiser.pk, from_days, to_days))


class PushCampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PushCampaign

    name = factory.Sequence(lambda n: f"キャンペーン{n}")
    segment = factory.SubFactory(EndUserSegmentFactory)
    channel = Channel.WEB_PUSH
    title = "ポイント2倍"
    body = "今だけ還元率アップ"
    url = "https://shop.example.jp/lp"


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PushSubscription

    end_user = factory.SubFactory(UserFactory)
    endpoint = factory.Sequence(lambda n: f"https://push.example.net/send/{n}")
    p256dh = factory.LazyFunction(lambda: BrowserKeys().p256dh)
    auth = factory.LazyFunction(lambda: b64url(os.urandom(16)))


def add_visits(advertiser, *visits: tuple[object, dt.datetime], kind: str = "visit") -> int:
    """Store visit events (end user, when) at the advertiser through the event store."""
    frame = pl.DataFrame(
        {
            "source": ["test"] * len(visits),
            "external_id": [f"pv-{next(_ids)}" for _ in visits],
            "account_id": [advertiser.pk] * len(visits),
            "end_user_id": [user.pk for user, _t in visits],  # type: ignore[attr-defined]
            "kind": [kind] * len(visits),
            "occurred_at": [when.astimezone(dt.UTC) for _u, when in visits],
            "value": [None] * len(visits),
            "properties": ["{}"] * len(visits),
        },
        schema_overrides={"account_id": pl.Int64, "end_user_id": pl.Int64, "value": pl.String},
    )
    with transaction.atomic():
        return append_events(frame)


def push_outcomes(at: dt.datetime, failed: tuple[int, ...] = (), status: str = MessageStatus.SENT) -> None:
    """What the outbox's courier leaves on the campaigns' web-push batches once the push services answered
    (`outbox.web_push_results`): an outcome per recipient, sent except the deliveries in `failed`."""
    for message in OutboxMessage.objects.filter(source="campaigns", kind=MessageKind.WEB_PUSH):
        message.payload["results"] = {
            r["ref"]: {"status": "failed" if int(r["ref"]) in failed else "sent", "at": at.isoformat(), "error": ""}
            for r in message.payload["recipients"]
        }
        message.status, message.sent_at = status, at
        message.save()
