"""Push/CRM campaigns to end-user segments: segments, sending with frequency caps, results.

Sending (`send`). The segment's members are materialised by the analytics engine (`SegmentQuery`, never
stored as memberships), then, set-based: members already holding a Delivery of the campaign are skipped (a
re-run never sends twice: Delivery is unique per campaign and user); for a campaign about an offer, users with
a conversion of that offer since the segment's look-back horizon are dropped ("no conversion since"); users
the channel cannot reach (web push: no live subscription; email: no address) are counted on the campaign
(`unreachable`) without a Delivery — a later send may reach them once they subscribe, and at PLUG's scale
(two thirds of a million-member segment without a subscription) writing them cost more than the whole rest
of the send; the rest get a Delivery `queued`, then the frequency cap, then the outbox messages; all in one
transaction, so a failed send leaves nothing half-written. Rows go in with COPY on PostgreSQL
(`core.arrowdb.insert_frame`) and executemany on SQLite.

Frequency caps (`CAMPAIGNS_DAILY_CAP`, default 1, and `CAMPAIGNS_WEEKLY_CAP`, default 3, per user; settings
or environment). A delivery takes a CapSlot of the user's Tokyo day: slot 0 for everyone in one
INSERT … SELECT … ON CONFLICT DO NOTHING, then slot 1 for those who lost, and so on up to the daily cap;
those left without a slot, or already holding `weekly cap` slots over the last 7 Tokyo days, become
`capped`. The guarantee: no user ever receives more than the daily cap on a Tokyo day nor more than the weekly
cap over 7 Tokyo days, however many campaigns send at once. The daily cap is the unique constraint's (two
senders can't take the same slot); the weekly count is read, so on PostgreSQL the cap phase of a send holds a
transaction-level advisory lock (senders take their slots one after another; SQLite has one writer anyway),
which makes the read exact. Capped users are recorded as such and show in the results.

Channels. Web push: ONE outbox web-push batch per up to 1,000 users (`outbox.web_push_batch_payload`): the
shared JSON {title, body, icon} and each recipient (ref = the delivery id) with its user, whose live
subscriptions the outbox asks `webpush.live_subscriptions` for at send time (a subscription revoked meanwhile
is not tried; and a send writes no copy of them), and the tracked click link as its "url"; the outbox writes
each recipient's outcome into the batch. Email: one
unsubscribable email per user with the tracked link. Webhook (other push providers): ONE outbox webhook per
batch of up to 1,000 users, POSTed to the campaign's webhook URL as
    {"campaign": {"id", "name"}, "batch": n, "message": {"title", "body", "url", "icon"},
     "recipients": [{"end_user_id", "external_id", "click_url"}, …]}
every delivery of the batch pointing at that message.

Results (`sync_results`, a periodic job): a web-push Delivery becomes `delivered` or `failed` by its
recipient's outcome in the batch (and `failed` when the batch failed without one); an email or webhook Delivery
becomes `delivered` when its outbox message is sent (`delivered_at` = sent_at), `failed` when the message failed
or was suppressed; `converted_at` is the first
non-rejected conversion of the campaign's offer by the user within `attribution_days` after queueing. Clicks
come through the public tracked link (`track_click`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, Max, Min, OuterRef, Subquery, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.accounts.models import Account, EndUser
from banso.analytics.models import Segment
from banso.core.arrowdb import insert_frame
from banso.core.models import RunStatus, User
from banso.playbooks.models import MessageKind, MessageStatus, OutboxMessage
from banso.playbooks.outbox import WEB_PUSH_TTL, message_id_domain, web_push_batch_payload

from .models import (
    CLICK_DIGEST,
    CampaignStatus,
    CapSlot,
    Channel,
    Conversion,
    ConversionStatus,
    Delivery,
    DeliveryStatus,
    Offer,
    PushCampaign,
    PushSubscription,
    SendRun,
    click_secret,
    click_token,
)

TOKYO = ZoneInfo("Asia/Tokyo")
SOURCE = "campaigns"
WEBHOOK_BATCH = 1000
WEB_PUSH_BATCH = 1000
ICON = "/static/campaigns/icon.png"
CAP_LOCK = 0x0C4D9A11  # pg_advisory_xact_lock key of the cap phase


class PushError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def daily_cap() -> int:
    return int(getattr(settings, "CAMPAIGNS_DAILY_CAP", None) or os.environ.get("CAMPAIGNS_DAILY_CAP") or 1)


def weekly_cap() -> int:
    return int(getattr(settings, "CAMPAIGNS_WEEKLY_CAP", None) or os.environ.get("CAMPAIGNS_WEEKLY_CAP") or 3)


def tokyo_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(TOKYO).date()


# Segments ----------------------------------------------------------------------------------------------------


def visited_segment_rules(advertiser_id: int, from_days: int, to_days: int) -> dict[str, Any]:
    """ "Visited the advertiser's site between `from_days` and `to_days` days ago (Tokyo days) and has not
    bought there (purchase or conversion events at the advertiser) since", as analytics rules."""
    return {
        "match": "all",
        "rules": [
            {
                "type": "metric",
                "metric": {
                    "subject": "end_user",
                    "aggregate": "count",
                    "kinds": ["visit"],
                    "at_accounts": [advertiser_id],
                    "window": {"days": to_days - from_days + 1, "offset": from_days},
                },
                "op": "gte",
                "value": 1,
            },
            {
                "type": "metric",
                "metric": {
                    "subject": "end_user",
                    "aggregate": "count",
                    "kinds": ["purchase", "conversion"],
                    "at_accounts": [advertiser_id],
                    "window": {"days": to_days + 1, "offset": 0},
                },
                "op": "eq",
                "value": 0,
            },
        ],
    }


def build_visited_segment(
    actor: User | None, advertiser: Account, from_days: int, to_days: int, name: str = ""
) -> Segment:
    from banso.analytics.services import save_segment

    if from_days < 0 or to_days < from_days or to_days > 365:
        raise PushError("to_days", _("Give a range of days ago: from ≤ to, at most 365."))
    name = name or _("Visited %(site)s %(a)s–%(b)s days ago, no purchase") % {
        "site": advertiser.name,
        "a": from_days,
        "b": to_days,
    }
    return save_segment(
        actor,
        name=name[:200],
        rules=visited_segment_rules(advertiser.pk, from_days, to_days),
        subject_type="end_user",
        is_active=False,
        via="campaigns",
    )


def segment_members(segment: Segment, as_of: dt.date, backend: Any = None) -> np.ndarray:
    """End-user ids of the segment's members as of the Tokyo day (int64, unique)."""
    from banso.analytics.backends import get_backend
    from banso.analytics.services import SegmentQuery, segment_spec

    table = SegmentQuery(segment_spec(segment), backend or get_backend(), as_of).members().to_pyarrow()
    ids = table["subject_id"].to_numpy(zero_copy_only=False).astype(np.int64)
    return np.unique(ids)


def segment_horizon(segment: Segment, as_of: dt.date) -> dt.date:
    """The first day the segment's rules look at (the "since" of "no conversion since")."""
    from banso.analytics.services import _metric_rules, segment_spec

    days = []
    for rule in _metric_rules(segment_spec(segment).rules):
        window = None if isinstance(rule.metric, str) else rule.metric.window
        if window is not None:
            days.append(window.days + window.offset)
    return as_of - dt.timedelta(days=max(days, default=1) - 1)


def preview(campaign_or_segment: PushCampaign | Segment, as_of: dt.date | None = None) -> int:
    segment = campaign_or_segment.segment if isinstance(campaign_or_segment, PushCampaign) else campaign_or_segment
    return int(segment_members(segment, as_of or timezone.localdate()).size)


# Campaigns ---------------------------------------------------------------------------------------------------


EDITABLE = ("name", "segment", "offer", "channel", "title", "body", "url", "webhook_url", "attribution_days")


def save_campaign(actor: User | None, data: dict[str, Any], instance: PushCampaign | None = None) -> PushCampaign:
    """Create or edit a draft/scheduled campaign; PushError names the field."""
    from banso.core.choices import AuditAction
    from banso.core.services import record_change, snapshot

    if instance is not None and instance.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
        raise PushError("status", _("A campaign that was sent cannot be changed."))
    campaign = instance or PushCampaign(created_by=actor)
    before = snapshot(campaign, list(EDITABLE)) if instance else None
    for name in EDITABLE:
        if name in data:
            setattr(campaign, name, data[name])
    if not str(campaign.name).strip():
        raise PushError("name", _("Give the campaign a name."))
    if not campaign.segment_id:
        raise PushError("segment", _("Choose a segment of users."))
    if campaign.segment.subject_type != "end_user":
        raise PushError("segment", _("The segment must be of end users."))
    if campaign.channel not in Channel.values:
        raise PushError("channel", _("Unknown channel."))
    if not str(campaign.title).strip():
        raise PushError("title", _("Give the notification a title."))
    if campaign.channel == Channel.WEBHOOK and not campaign.webhook_url:
        raise PushError("webhook_url", _("The webhook channel needs the provider's URL."))
    if not campaign.url and campaign.offer_id:
        campaign.url = campaign.offer.landing_url if campaign.offer else ""
    if "scheduled_at" in data:
        schedule(campaign, data["scheduled_at"], save=False)
    with transaction.atomic():
        campaign.save()
        record_change(
            actor=actor,
            obj=campaign,
            action=AuditAction.UPDATE if instance else AuditAction.CREATE,
            before=before,
            after=snapshot(campaign, list(EDITABLE)),
            account_id=campaign.offer.advertiser_id if campaign.offer else None,
            via="campaigns",
        )
    return campaign


def schedule(campaign: PushCampaign, when: dt.datetime | None, *, save: bool = True) -> PushCampaign:
    if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
        raise PushError("scheduled_at", _("Only a draft can be scheduled."))
    campaign.scheduled_at = when
    campaign.status = CampaignStatus.SCHEDULED if when else CampaignStatus.DRAFT
    if save:
        campaign.save(update_fields=["scheduled_at", "status"])
    return campaign


def cancel(campaign: PushCampaign) -> PushCampaign:
    if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
        raise PushError("status", _("Only a draft or a scheduled campaign can be cancelled."))
    campaign.status = CampaignStatus.CANCELLED
    campaign.save(update_fields=["status"])
    return campaign


def start_send(campaign: PushCampaign, actor: User | None, now: dt.datetime | None = None) -> SendRun:
    """Queue the send as background work (the SendRun's page shows its progress)."""
    from .push_tasks import send_campaign

    now = now or timezone.now()
    if campaign.status in (CampaignStatus.CANCELLED,):
        raise PushError("status", _("This campaign was cancelled."))
    if campaign.runs.filter(status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).exists():
        raise PushError("status", _("This campaign is being sent already."))
    run = SendRun.objects.create(campaign=campaign, as_of=tokyo_day(now), triggered_by=actor)
    transaction.on_commit(lambda: send_campaign.enqueue(run.pk))
    return run


def run_send(run_id: int) -> None:
    """The background task's body."""
    run, claimed = SendRun.claim(run_id)
    if not claimed:
        return
    try:
        send(run.campaign, timezone.now(), run=run)
    except Exception as exc:
        SendRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        PushCampaign.objects.filter(pk=run.campaign_id, status=CampaignStatus.SENDING).update(
            status=CampaignStatus.DRAFT
        )
        raise
    SendRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED, percent=100, finished_at=timezone.now())


# Sending -----------------------------------------------------------------------------------------------------


@dataclass
class SendResult:
    targeted: int = 0
    skipped: int = 0  # already had a delivery of this campaign (re-run)
    converted_before: int = 0
    unreachable: int = 0
    capped: int = 0
    queued: int = 0
    messages: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def _table(model: Any) -> str:
    return str(model._meta.db_table)


def _ids_frame(ids: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame({"end_user_id": ids.astype(np.int64)})


def _fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _execute(sql: str, params: list[Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount or 0)


def _existing_recipients(campaign: PushCampaign) -> np.ndarray:
    rows = _fetch(f"SELECT end_user_id FROM {_table(Delivery)} WHERE campaign_id = %s", [campaign.pk])  # noqa: S608
    return np.array([r[0] for r in rows], np.int64)


def _with_ids(ids: np.ndarray) -> str:
    """Upload `ids` into a temporary table (COPY on PostgreSQL) and return its name, for set-based joins."""
    name = "campaigns_push_ids"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(f"CREATE TEMPORARY TABLE {name} (id bigint PRIMARY KEY)")
    insert_frame(name, pl.DataFrame({"id": ids.astype(np.int64)}), ["id"])
    return name


def _reachable(campaign: PushCampaign, ids: np.ndarray) -> np.ndarray:
    """Who the channel can reach: web push, a live subscription; email, an address; webhook, everyone."""
    if ids.size == 0 or campaign.channel == Channel.WEBHOOK:
        return ids
    temp = _with_ids(ids)
    if campaign.channel == Channel.WEB_PUSH:
        sql = (
            f"SELECT t.id FROM {temp} t WHERE EXISTS (SELECT 1 FROM {_table(PushSubscription)} s "  # noqa: S608
            f"WHERE s.end_user_id = t.id AND s.revoked_at IS NULL)"
        )
    else:
        sql = f"SELECT t.id FROM {temp} t JOIN {_table(EndUser)} u ON u.id = t.id WHERE u.email <> ''"  # noqa: S608
    rows = _fetch(sql, [])
    return np.sort(np.fromiter((r[0] for r in rows), np.int64, len(rows)))


def _converted_since(campaign: PushCampaign, ids: np.ndarray, since: dt.datetime) -> np.ndarray:
    if campaign.offer_id is None or ids.size == 0:
        return np.array([], np.int64)
    converted = (
        Conversion.objects.filter(offer_id=campaign.offer_id, occurred_at__gte=since, end_user_id__isnull=False)
        .exclude(status=ConversionStatus.REJECTED)
        .values_list("end_user_id", flat=True)
    )
    return np.intersect1d(ids, np.array(list(converted), np.int64))


def _db_time(moment: dt.datetime) -> str:
    """A datetime as the database stores it (SQLite: naive UTC text), for rows written with insert_frame."""
    return str(connection.ops.adapt_datetimefield_value(moment))


def _insert_deliveries(
    campaign: PushCampaign, ids: np.ndarray, status: str, now: dt.datetime, outbox_ids: np.ndarray | None = None
) -> None:
    if ids.size == 0:
        return
    columns = {
        "campaign_id": np.full(ids.size, campaign.pk, np.int64),
        "end_user_id": ids,
        "status": [status] * ids.size,
        "queued_at": [_db_time(now)] * ids.size,
    }
    if outbox_ids is not None:
        columns["outbox_message_id"] = outbox_ids
    frame = pl.DataFrame(columns)
    insert_frame(_table(Delivery), frame, list(columns))


def _allocate_outbox_ids(campaign: PushCampaign, n: int) -> np.ndarray | None:
    """On PostgreSQL, the ids of the outbox messages this send will write, taken from the table's sequence:
    for web push one per batch of `WEB_PUSH_BATCH` deliveries (in delivery order), for email one per delivery.
    Each delivery is written pointing at its message, so no UPDATE of hundreds of thousands of deliveries
    follows; capped deliveries drop theirs (a batch left empty is not written: a gap in the sequence, nothing
    else). None elsewhere, and for the webhook channel: the deliveries are pointed after."""
    if n == 0 or connection.vendor != "postgresql" or campaign.channel == Channel.WEBHOOK:
        return None
    batch = WEB_PUSH_BATCH if campaign.channel == Channel.WEB_PUSH else 1
    count = -(-n // batch)
    table = _table(OutboxMessage)
    rows = _fetch("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
    ids = np.fromiter((r[0] for r in rows), np.int64, count)
    return np.repeat(ids, batch)[:n]


def _take_slots(campaign: PushCampaign, now: dt.datetime, marker: int) -> None:
    """Cap phase for the deliveries (ids above `marker`) of this send (see the module docstring)."""
    delivery, slot = _table(Delivery), _table(CapSlot)
    day = tokyo_day(now)
    week_start = day - dt.timedelta(days=6)
    if connection.vendor == "postgresql":
        _execute("SELECT pg_advisory_xact_lock(%s)", [CAP_LOCK])
    # Weekly: users already holding the weekly cap over the last 7 Tokyo days are capped first.
    _execute(
        f"UPDATE {delivery} SET status = %s, outbox_message_id = NULL "  # noqa: S608
        f"WHERE campaign_id = %s AND status = %s AND id > %s "
        f"AND end_user_id IN (SELECT s.end_user_id FROM {slot} s WHERE s.day >= %s AND s.day <= %s "
        f"GROUP BY s.end_user_id HAVING COUNT(*) >= %s)",
        [DeliveryStatus.CAPPED, campaign.pk, DeliveryStatus.QUEUED, marker, str(week_start), str(day), weekly_cap()],
    )
    # Daily: slot 0 for all in one statement, then the next slot for the losers, up to the cap.
    for number in range(daily_cap()):
        # Slot 0 is the first try of every delivery of this send; later slots only for those without one yet.
        without_slot = f"AND NOT EXISTS (SELECT 1 FROM {slot} s WHERE s.delivery_id = d.id) " if number else ""  # noqa: S608
        _execute(
            f"INSERT INTO {slot} (end_user_id, day, slot, delivery_id) "  # noqa: S608
            f"SELECT d.end_user_id, %s, %s, d.id FROM {delivery} d WHERE d.campaign_id = %s AND d.status = %s "
            f"AND d.id > %s {without_slot}ON CONFLICT DO NOTHING",
            [str(day), number, campaign.pk, DeliveryStatus.QUEUED, marker],
        )
    _execute(
        f"UPDATE {delivery} SET status = %s, outbox_message_id = NULL "  # noqa: S608
        f"WHERE campaign_id = %s AND status = %s AND id > %s "
        f"AND NOT EXISTS (SELECT 1 FROM {slot} s WHERE s.delivery_id = {delivery}.id)",
        [DeliveryStatus.CAPPED, campaign.pk, DeliveryStatus.QUEUED, marker],
    )


def click_url(token: str) -> str:
    base = str(getattr(settings, "BANSO_PUBLIC_URL", "") or "").rstrip("/")
    return f"{base}{reverse('campaigns:push_click', args=[token])}"


def _notification(campaign: PushCampaign) -> dict[str, Any]:
    """A web-push batch's shared data; each recipient's adds the tracked link ("url")."""
    return {"title": campaign.title, "body": campaign.body, "icon": ICON}


OUTBOX_COLUMNS = [
    "kind",
    "status",
    "source",
    "dedupe_key",
    "to_email",
    "from_email",
    "subject",
    "body_text",
    "body_html",
    "message_id",
    "unsubscribable",
    "headers",
    "url",
    "payload",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
]


def _outbox_frame(rows: dict[str, Any], n: int, now: dt.datetime) -> pl.DataFrame:
    import json

    iso = _db_time(now)
    base: dict[str, list[Any]] = {
        "kind": [],
        "status": [MessageStatus.QUEUED.value] * n,
        "source": [SOURCE] * n,
        "dedupe_key": [],
        "to_email": [""] * n,
        "from_email": [""] * n,
        "subject": [""] * n,
        "body_text": [""] * n,
        "body_html": [""] * n,
        "message_id": [""] * n,
        "unsubscribable": [False] * n,
        "headers": ["{}"] * n,
        "url": [""] * n,
        "payload": ["null"] * n,
        "attempts": [0] * n,
        "next_attempt_at": [iso] * n,
        "last_error": [""] * n,
        "created_at": [iso] * n,
    }
    base.update(rows)
    if not isinstance(base["payload"], pl.Series):
        base["payload"] = [p if isinstance(p, str) else json.dumps(p, ensure_ascii=False) for p in base["payload"]]
    return pl.DataFrame(
        base,
        schema={
            c: (pl.Boolean if c == "unsubscribable" else pl.Int64 if c == "attempts" else pl.Utf8)
            for c in OUTBOX_COLUMNS
        },
    )


def _queue_web_push_in_database(campaign: PushCampaign, now: dt.datetime, marker: int) -> int:
    """PostgreSQL: the web-push batches of this send's queued deliveries (grouped by the message id each
    delivery was written with) in one INSERT … SELECT, their payloads (`outbox.web_push_batch_payload`'s shape,
    each recipient's tracked link computed as `models.click_token` does) built by the database: nothing
    travels to Python and back."""
    delivery, outbox = _table(Delivery), _table(OutboxMessage)
    link = click_url("0")[:-1]  # the tracked link without its token
    at = _db_time(now)
    return _execute(
        f"INSERT INTO {outbox} (id, kind, status, source, dedupe_key, to_email, from_email, subject, "  # noqa: S608
        f"body_text, body_html, message_id, unsubscribable, headers, url, payload, attempts, next_attempt_at, "
        f"last_error, created_at) "
        f"SELECT d.outbox_message_id, %s, %s, %s, %s || MIN(d.id), '', '', '', '', '', '', false, '{{}}'::jsonb, "
        f"'', jsonb_build_object('recipients', jsonb_agg(jsonb_build_object('ref', d.id::text, 'user', "
        f"d.end_user_id, 'data', jsonb_build_object('url', %s || d.id || '-' || "
        f"substr(encode(sha256(convert_to(%s || ':' || d.id, 'UTF8')), 'hex'), 1, %s))) ORDER BY d.id), "
        f"'data', %s::jsonb, 'ttl', %s::int), 0, %s, '', %s FROM {delivery} d "
        f"WHERE d.campaign_id = %s AND d.status = %s AND d.id > %s GROUP BY d.outbox_message_id",
        [
            MessageKind.WEB_PUSH.value,
            MessageStatus.QUEUED.value,
            SOURCE,
            f"push:{campaign.pk}:",
            link,
            click_secret(),
            CLICK_DIGEST,
            json.dumps(_notification(campaign), ensure_ascii=False),
            WEB_PUSH_TTL,
            at,
            at,
            campaign.pk,
            DeliveryStatus.QUEUED,
            marker,
        ],
    )


def _queue_messages(campaign: PushCampaign, now: dt.datetime, marker: int) -> int:
    """Outbox rows for this send's queued deliveries, then each delivery pointed at its message."""

    if campaign.channel == Channel.WEB_PUSH and connection.vendor == "postgresql":
        missing = _fetch(
            f"SELECT 1 FROM {_table(Delivery)} WHERE campaign_id = %s AND status = %s AND id > %s "  # noqa: S608
            f"AND outbox_message_id IS NULL LIMIT 1",
            [campaign.pk, DeliveryStatus.QUEUED, marker],
        )
        if not missing:
            return _queue_web_push_in_database(campaign, now, marker)
    rows = _fetch(
        f"SELECT id, end_user_id, outbox_message_id FROM {_table(Delivery)} "  # noqa: S608
        f"WHERE campaign_id = %s AND status = %s AND id > %s ORDER BY id",
        [campaign.pk, DeliveryStatus.QUEUED, marker],
    )
    pending: list[tuple[int, int, str]] = [(int(d), int(u), click_token(int(d))) for d, u, _o in rows]
    if not pending:
        return 0
    # Email on PostgreSQL: ids allocated with the deliveries (one message per delivery), in delivery order.
    preassigned = (
        [o for _d, _u, o in rows] if campaign.channel == Channel.EMAIL and all(r[2] is not None for r in rows) else None
    )
    n = len(pending)
    batches: list[list[tuple[int, int, str]]] = []
    if campaign.channel == Channel.WEB_PUSH:
        batches = [pending[i : i + WEB_PUSH_BATCH] for i in range(0, n, WEB_PUSH_BATCH)]
        frame = _outbox_frame(
            {
                "kind": [MessageKind.WEB_PUSH.value] * len(batches),
                "dedupe_key": [f"push:{campaign.pk}:{batch[0][0]}" for batch in batches],
                "payload": [
                    web_push_batch_payload(
                        [{"ref": str(d), "user": u, "data": {"url": click_url(t)}} for d, u, t in batch],
                        _notification(campaign),
                    )
                    for batch in batches
                ],
            },
            len(batches),
            now,
        )
    elif campaign.channel == Channel.EMAIL:
        from email.utils import make_msgid

        emails = (
            dict(EndUser.objects.filter(id__in=[p[1] for p in pending]).values_list("id", "email"))
            if n <= 50_000
            else dict(EndUser.objects.exclude(email="").values_list("id", "email"))
        )
        domain = message_id_domain()
        frame = _outbox_frame(
            {
                "kind": [MessageKind.EMAIL.value] * n,
                "dedupe_key": [f"push:{d}" for d, _u, _t in pending],
                "to_email": [emails[u] for _d, u, _t in pending],
                "from_email": [settings.DEFAULT_FROM_EMAIL] * n,
                "subject": [campaign.title] * n,
                "body_text": [f"{campaign.body}\n\n{click_url(t)}\n" for _d, _u, t in pending],
                "message_id": [make_msgid(domain=domain) for _ in range(n)],
                "unsubscribable": [True] * n,
            },
            n,
            now,
        )
    else:
        external = (
            dict(EndUser.objects.filter(id__in=[p[1] for p in pending]).values_list("id", "external_id"))
            if n <= 50_000
            else {}
        )
        batches = [pending[i : i + WEBHOOK_BATCH] for i in range(0, n, WEBHOOK_BATCH)]
        message = {"title": campaign.title, "body": campaign.body, "url": campaign.url, "icon": ICON}
        payloads = [
            {
                "campaign": {"id": campaign.pk, "name": campaign.name},
                "batch": number,
                "message": message,
                "recipients": [
                    {"end_user_id": u, "external_id": external.get(u, ""), "click_url": click_url(t)}
                    for _d, u, t in batch
                ],
            }
            for number, batch in enumerate(batches, start=1)
        ]
        m = len(batches)
        frame = _outbox_frame(
            {
                "kind": [MessageKind.WEBHOOK.value] * m,
                "dedupe_key": [f"push:{campaign.pk}:{batch[0][0]}" for batch in batches],
                "url": [campaign.webhook_url] * m,
                "payload": payloads,
            },
            m,
            now,
        )
    if preassigned is not None:
        frame = frame.with_columns(pl.Series("id", preassigned, dtype=pl.Int64))
        return insert_frame(_table(OutboxMessage), frame, ["id", *OUTBOX_COLUMNS])
    written = insert_frame(_table(OutboxMessage), frame, OUTBOX_COLUMNS)
    if batches:
        ids = dict(
            OutboxMessage.objects.filter(source=SOURCE, dedupe_key__startswith=f"push:{campaign.pk}:").values_list(
                "dedupe_key", "id"
            )
        )
        for batch in batches:
            message_id = ids[f"push:{campaign.pk}:{batch[0][0]}"]
            Delivery.objects.filter(id__in=[d for d, _u, _t in batch]).update(outbox_message_id=message_id)
    elif campaign.channel == Channel.EMAIL:
        delivery, outbox = _table(Delivery), _table(OutboxMessage)
        _execute(
            f"UPDATE {delivery} SET outbox_message_id = o.id FROM {outbox} o "  # noqa: S608
            f"WHERE o.source = %s AND o.dedupe_key = 'push:' || CAST({delivery}.id AS TEXT) "
            f"AND {delivery}.campaign_id = %s AND {delivery}.status = %s AND {delivery}.id > %s",
            [SOURCE, campaign.pk, DeliveryStatus.QUEUED, marker],
        )
    return written


def send(
    campaign: PushCampaign,
    now: dt.datetime | None = None,
    run: SendRun | None = None,
    members: np.ndarray | None = None,
) -> SendResult:
    """Materialise → skip already sent → drop converters → reachability → cap → queue (module docstring).
    `members` (bench, tests) replaces the segment query."""
    now = now or timezone.now()
    result = SendResult()

    def step(percent: int, text: str) -> None:
        if run is not None:
            run.progress(percent, text)

    if campaign.status == CampaignStatus.CANCELLED:
        raise PushError("status", _("This campaign was cancelled."))
    PushCampaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING, started_at=now)
    step(5, _("Finding the segment's members"))
    as_of = tokyo_day(now)
    ids = segment_members(campaign.segment, as_of) if members is None else np.unique(members.astype(np.int64))
    result.targeted = int(ids.size)
    step(40, _("Applying frequency caps"))
    already = _existing_recipients(campaign)
    fresh = np.setdiff1d(ids, already, assume_unique=True)
    result.skipped = int(ids.size - fresh.size)
    since = dt.datetime.combine(segment_horizon(campaign.segment, as_of), dt.time(), TOKYO)
    converted = _converted_since(campaign, fresh, since)
    fresh = np.setdiff1d(fresh, converted, assume_unique=True)
    result.converted_before = int(converted.size)
    reachable = _reachable(campaign, fresh)
    unreachable = np.setdiff1d(fresh, reachable, assume_unique=True)
    with transaction.atomic():
        # This send's deliveries are those above `marker` (one send of a campaign at a time: SendRun).
        marker = Delivery.objects.filter(campaign=campaign).aggregate(m=Max("id"))["m"] or 0
        outbox_ids = _allocate_outbox_ids(campaign, int(reachable.size))
        _insert_deliveries(campaign, reachable, DeliveryStatus.QUEUED, now, outbox_ids)
        _take_slots(campaign, now, marker)
        step(70, _("Queueing the messages"))
        result.messages = _queue_messages(campaign, now, marker)
        counts = dict(
            Delivery.objects.filter(campaign=campaign, id__gt=marker)
            .values_list("status")
            .annotate(n=Count("id"))
            .order_by()
        )
        result.unreachable = int(unreachable.size)
        result.capped = int(counts.get(DeliveryStatus.CAPPED, 0))
        result.queued = int(counts.get(DeliveryStatus.QUEUED, 0))
        _refresh_counts(campaign, targeted=result.targeted, unreachable=result.unreachable)
        PushCampaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENT, finished_at=timezone.now())
    campaign.refresh_from_db()
    step(100, _("Sent"))
    return result


def _refresh_counts(campaign: PushCampaign, targeted: int | None = None, unreachable: int | None = None) -> None:
    counts = dict(Delivery.objects.filter(campaign=campaign).values_list("status").annotate(n=Count("id")).order_by())
    update: dict[str, int] = {
        "queued": sum(
            counts.get(s, 0) for s in (DeliveryStatus.QUEUED, DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)
        ),
        "capped": counts.get(DeliveryStatus.CAPPED, 0),
    }
    if unreachable is not None:
        update["unreachable"] = unreachable
    if targeted is not None:
        update["targeted"] = targeted
    PushCampaign.objects.filter(pk=campaign.pk).update(**update)


def due_campaigns(now: dt.datetime) -> list[PushCampaign]:
    return list(PushCampaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_at__lte=now))


def due_job(now: dt.datetime) -> str | None:
    """Every minute: start the scheduled campaigns whose time has come (each once: the status moves on)."""
    started = []
    for campaign in due_campaigns(now):
        with transaction.atomic():
            if PushCampaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SCHEDULED).update(
                status=CampaignStatus.SENDING
            ):
                start_send(campaign, None, now)
                started.append(campaign.pk)
    return f"campaigns: {len(started)} scheduled send(s) started" if started else None


def results_job(now: dt.datetime) -> str | None:
    """Every minute: delivered/failed from the outbox and attributed conversions (set-based)."""
    changed = sync_results(now)
    return f"campaigns: {changed} delivery result(s) updated" if changed else None


# Results -----------------------------------------------------------------------------------------------------


def sync_results(now: dt.datetime | None = None, campaigns: list[PushCampaign] | None = None) -> int:
    now = now or timezone.now()
    sent = OutboxMessage.objects.filter(pk=OuterRef("outbox_message_id"))
    whole = OutboxMessage.objects.filter(source=SOURCE).exclude(kind=MessageKind.WEB_PUSH)
    changed = Delivery.objects.filter(
        status=DeliveryStatus.QUEUED,
        outbox_message_id__in=whole.filter(status=MessageStatus.SENT).values("id"),
    ).update(status=DeliveryStatus.DELIVERED, delivered_at=Subquery(sent.values("sent_at")[:1]))
    changed += Delivery.objects.filter(
        status=DeliveryStatus.QUEUED,
        outbox_message_id__in=whole.filter(status__in=(MessageStatus.FAILED, MessageStatus.SUPPRESSED)).values("id"),
    ).update(status=DeliveryStatus.FAILED)
    changed += _sync_web_push_outcomes()
    targets = campaigns or list(
        PushCampaign.objects.filter(
            offer__isnull=False, status=CampaignStatus.SENT, finished_at__gte=now - dt.timedelta(days=60)
        )
    )
    for campaign in targets:
        if campaign.offer_id is None:
            continue
        window = dt.timedelta(days=campaign.attribution_days)
        first = (
            Conversion.objects.filter(
                offer_id=campaign.offer_id,
                end_user_id=OuterRef("end_user_id"),
                occurred_at__gte=OuterRef("queued_at"),
                occurred_at__lt=OuterRef("queued_at") + window,
            )
            .exclude(status=ConversionStatus.REJECTED)
            .order_by()
            .values("end_user_id")
            .annotate(first=Min("occurred_at"))
            .values("first")
        )
        changed += (
            Delivery.objects.filter(
                campaign=campaign,
                converted_at__isnull=True,
                status__in=(DeliveryStatus.QUEUED, DeliveryStatus.DELIVERED),
            )
            .filter(_conversion_exists(campaign, window))
            .update(converted_at=Subquery(first[:1]))
        )
    return changed


def _sync_web_push_outcomes() -> int:
    """Web-push deliveries by their recipient's outcome in the batch (`outbox.web_push_results`); a batch that
    failed fails its deliveries still without one. Only batches with queued deliveries are read, and only
    their `results` key (not the recipients)."""
    waiting = Delivery.objects.filter(status=DeliveryStatus.QUEUED, outbox_message_id__isnull=False)
    batches = (
        OutboxMessage.objects.filter(source=SOURCE, kind=MessageKind.WEB_PUSH)
        .exclude(status=MessageStatus.QUEUED)
        .filter(id__in=waiting.values("outbox_message_id"))
        .values_list("id", "status", "payload__results")
    )
    changed = 0
    for message_id, status, results in batches:
        delivered: dict[str, list[int]] = {}
        failed: list[int] = []
        for ref, outcome in (results or {}).items():
            if outcome.get("status") == "sent":
                delivered.setdefault(outcome.get("at") or "", []).append(int(ref))
            else:
                failed.append(int(ref))
        queued = Delivery.objects.filter(outbox_message_id=message_id, status=DeliveryStatus.QUEUED)
        for at, ids in delivered.items():
            moment = dt.datetime.fromisoformat(at) if at else timezone.now()
            changed += queued.filter(id__in=ids).update(status=DeliveryStatus.DELIVERED, delivered_at=moment)
        if failed:
            changed += queued.filter(id__in=failed).update(status=DeliveryStatus.FAILED)
        if status in (MessageStatus.FAILED, MessageStatus.SUPPRESSED):
            changed += queued.update(status=DeliveryStatus.FAILED)
    return changed


def _conversion_exists(campaign: PushCampaign, window: dt.timedelta) -> Any:
    return Exists(
        Conversion.objects.filter(
            offer_id=campaign.offer_id or 0,
            end_user_id=OuterRef("end_user_id"),
            occurred_at__gte=OuterRef("queued_at"),
            occurred_at__lt=OuterRef("queued_at") + window,
        ).exclude(status=ConversionStatus.REJECTED)
    )


def track_click(token: str, now: dt.datetime | None = None) -> str | None:
    """Stamp the first click of a tracked link; the URL to redirect to, or None for an unknown token."""
    key, _sep, _digest = token.partition("-")
    if not key.isdigit() or not secrets.compare_digest(click_token(int(key)), token):
        return None
    row = Delivery.objects.filter(pk=int(key)).select_related("campaign", "campaign__offer").first()
    if row is None:
        return None
    Delivery.objects.filter(pk=row.pk, clicked_at__isnull=True).update(clicked_at=now or timezone.now())
    campaign = row.campaign
    return campaign.url or (campaign.offer.landing_url if campaign.offer else "") or "/"


def results(campaign: PushCampaign) -> dict[str, Any]:
    """The campaign's figures: counts, CTR and CVR (of delivered), reward and cashback of attributed conversions."""
    rows = Delivery.objects.filter(campaign=campaign)
    counts = dict(rows.values_list("status").annotate(n=Count("id")).order_by())
    delivered = int(counts.get(DeliveryStatus.DELIVERED, 0))
    clicked = rows.filter(clicked_at__isnull=False).count()
    converted = rows.filter(converted_at__isnull=False).count()
    money = {"reward": 0, "cashback": 0}
    if campaign.offer_id is not None and converted:
        window = dt.timedelta(days=campaign.attribution_days)
        attributed = Conversion.objects.filter(
            offer_id=campaign.offer_id,
            end_user_id__in=rows.filter(converted_at__isnull=False).values("end_user_id"),
        ).exclude(status=ConversionStatus.REJECTED)
        # Only conversions inside each recipient's attribution window count.
        within = attributed.filter(
            _within_window(campaign, window),
        ).aggregate(reward=Sum("reward"), cashback=Sum("cashback"))
        money = {k: int(v or 0) for k, v in within.items()}
    sent_base = delivered or 0
    return {
        "targeted": campaign.targeted,
        "capped": int(counts.get(DeliveryStatus.CAPPED, 0)),
        "unreachable": campaign.unreachable,
        "queued": int(counts.get(DeliveryStatus.QUEUED, 0)),
        "delivered": delivered,
        "failed": int(counts.get(DeliveryStatus.FAILED, 0)),
        "clicked": clicked,
        "ctr": round(clicked / sent_base, 4) if sent_base else None,
        "converted": converted,
        "cvr": round(converted / sent_base, 4) if sent_base else None,
        "reward": money["reward"],
        "cashback": money["cashback"],
    }


def _within_window(campaign: PushCampaign, window: dt.timedelta) -> Any:
    return Exists(
        Delivery.objects.filter(
            campaign=campaign,
            end_user_id=OuterRef("end_user_id"),
            converted_at__isnull=False,
            queued_at__lte=OuterRef("occurred_at"),
            queued_at__gt=OuterRef("occurred_at") - window,
        )
    )


def offers_for_form() -> Any:
    return Offer.objects.order_by("name")


def register() -> None:
    """From campaigns.registry: the minute jobs (scheduled sends, results sync) and the Web Push channel."""
    from banso.core.schedule import ScheduledJob, register_job

    from . import webpush

    register_job(ScheduledJob("campaigns.push_due", due_job))
    register_job(ScheduledJob("campaigns.push_results", results_job))
    webpush.register()
