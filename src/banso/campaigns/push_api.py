"""The push part of the campaigns API (mounted under /api/campaigns/push): campaigns (CRUD, preview count,
send, results), the extension's Web Push subscriptions and the VAPID public key. Bad input answers 422 naming
the field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from banso.analytics.models import Segment
from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused
from banso.core.models import User
from banso.core.permissions import Capability

from . import push, webpush
from .models import Offer, PushCampaign

router = Router(tags=["campaigns"])
VIEW = role(Capability.VIEW_ACCOUNTS)
WORK = role(Capability.WORK_CAMPAIGNS)
SEND = role(Capability.SEND_CAMPAIGNS)


def _actor(request: HttpRequest) -> User | None:
    user = getattr(request, "auth", None) or request.user
    return user if isinstance(user, User) else None


class CampaignIn(Schema):
    name: str
    segment_id: int | None = None
    # Or the common segment built inline: visited the advertiser's site between from_days and to_days ago.
    advertiser_id: int | None = None
    from_days: int = 3
    to_days: int = 7
    offer_id: int | None = None
    channel: str = "web_push"
    title: str
    body: str = ""
    url: str = ""
    webhook_url: str = ""
    attribution_days: int = 7
    scheduled_at: dt.datetime | None = None


class CampaignOut(Schema):
    id: int
    name: str
    segment_id: int
    offer_id: int | None
    channel: str
    title: str
    body: str
    url: str
    webhook_url: str
    attribution_days: int
    scheduled_at: dt.datetime | None
    status: str
    targeted: int
    queued: int
    capped: int
    unreachable: int


class ResultsOut(Schema):
    targeted: int
    capped: int
    unreachable: int
    queued: int
    delivered: int
    failed: int
    clicked: int
    ctr: float | None
    converted: int
    cvr: float | None
    reward: int
    cashback: int


class SendOut(Schema):
    run_id: int
    status: str


class PreviewOut(Schema):
    members: int


def _out(c: PushCampaign) -> dict[str, Any]:
    return {name: getattr(c, name) for name in CampaignOut.model_fields}


def _fields(payload: CampaignIn, request: HttpRequest) -> dict[str, Any] | list[tuple[str, str]]:
    data: dict[str, Any] = {
        k: getattr(payload, k) for k in ("name", "channel", "title", "body", "url", "webhook_url", "attribution_days")
    }
    if payload.attribution_days < 1 or payload.attribution_days > 90:
        return [("attribution_days", "between 1 and 90 days")]
    if payload.scheduled_at is not None:
        if payload.scheduled_at.tzinfo is None:
            return [("scheduled_at", "a time with its offset, e.g. 2026-12-01T09:00:00+09:00")]
        data["scheduled_at"] = payload.scheduled_at
    if payload.offer_id is not None:
        offer = Offer.objects.filter(pk=payload.offer_id).first()
        if offer is None:
            return [("offer_id", "no such offer")]
        data["offer"] = offer
    if payload.segment_id is not None:
        segment = Segment.objects.filter(pk=payload.segment_id).first()
        if segment is None:
            return [("segment_id", "no such segment")]
        data["segment"] = segment
    elif payload.advertiser_id is not None:
        from banso.accounts.models import Account

        advertiser = Account.objects.filter(pk=payload.advertiser_id, kind="advertiser").first()
        if advertiser is None:
            return [("advertiser_id", "no such advertiser")]
        try:
            data["segment"] = push.build_visited_segment(
                _actor(request), advertiser, payload.from_days, payload.to_days
            )
        except push.PushError as exc:
            return [(exc.field, exc.message)]
    return data


@router.get("/campaigns", response=list[CampaignOut], auth=VIEW)
def list_campaigns(request: HttpRequest) -> list[dict[str, Any]]:
    return [_out(c) for c in PushCampaign.objects.order_by("-created_at", "-id")[:500]]


@router.post("/campaigns", response={201: CampaignOut, 422: ErrorOut}, auth=WORK)
def create_campaign(request: HttpRequest, payload: CampaignIn) -> Any:
    if payload.segment_id is None and payload.advertiser_id is None:
        return refused([("segment_id", "a segment id, or advertiser_id with from_days/to_days")])
    data = _fields(payload, request)
    if isinstance(data, list):
        return refused(data)
    try:
        campaign = push.save_campaign(_actor(request), data)
    except push.PushError as exc:
        return refused([(exc.field, exc.message)])
    return Status(201, _out(campaign))


@router.get("/campaigns/{int:campaign_id}", response=CampaignOut, auth=VIEW)
def get_campaign(request: HttpRequest, campaign_id: int) -> dict[str, Any]:
    return _out(get_object_or_404(PushCampaign, pk=campaign_id))


@router.put("/campaigns/{int:campaign_id}", response={200: CampaignOut, 422: ErrorOut}, auth=WORK)
def update_campaign(request: HttpRequest, campaign_id: int, payload: CampaignIn) -> Any:
    campaign = get_object_or_404(PushCampaign, pk=campaign_id)
    data = _fields(payload, request)
    if isinstance(data, list):
        return refused(data)
    try:
        campaign = push.save_campaign(_actor(request), data, instance=campaign)
    except push.PushError as exc:
        return refused([(exc.field, exc.message)])
    return Status(200, _out(campaign))


@router.delete("/campaigns/{int:campaign_id}", response={204: None, 422: ErrorOut}, auth=WORK)
def cancel_campaign(request: HttpRequest, campaign_id: int) -> Any:
    """Cancels a draft or scheduled campaign (kept for the record)."""
    try:
        push.cancel(get_object_or_404(PushCampaign, pk=campaign_id))
    except push.PushError as exc:
        return refused([(exc.field, exc.message)])
    return Status(204, None)


@router.get("/campaigns/{int:campaign_id}/preview", response=PreviewOut, auth=VIEW)
def preview_campaign(request: HttpRequest, campaign_id: int) -> dict[str, int]:
    return {"members": push.preview(get_object_or_404(PushCampaign, pk=campaign_id))}


@router.post("/campaigns/{int:campaign_id}/send", response={202: SendOut, 422: ErrorOut}, auth=SEND)
def send_campaign(request: HttpRequest, campaign_id: int) -> Any:
    try:
        run = push.start_send(get_object_or_404(PushCampaign, pk=campaign_id), _actor(request))
    except push.PushError as exc:
        return refused([(exc.field, exc.message)])
    return Status(202, {"run_id": run.pk, "status": run.status})


@router.get("/campaigns/{int:campaign_id}/results", response=ResultsOut, auth=VIEW)
def campaign_results(request: HttpRequest, campaign_id: int) -> dict[str, Any]:
    return push.results(get_object_or_404(PushCampaign, pk=campaign_id))


class SubscriptionIn(Schema):
    end_user: str  # the user's external id
    subscription: dict[str, Any]  # PushSubscription.toJSON(): {"endpoint", "keys": {"p256dh", "auth"}}
    user_agent: str = ""


class SubscriptionOut(Schema):
    id: int
    end_user_id: int
    endpoint: str


class EndpointIn(Schema):
    endpoint: str


class VapidOut(Schema):
    public_key: str


@router.post("/subscriptions", response={201: SubscriptionOut, 422: ErrorOut}, auth=WORK)
def add_subscription(request: HttpRequest, payload: SubscriptionIn) -> Any:
    """Called by the extension's backend when the service worker subscribes (see static/campaigns/sw.js)."""
    try:
        sub = webpush.register_subscription(payload.end_user, payload.subscription, payload.user_agent)
    except webpush.SubscriptionError as exc:
        return refused([(exc.field, exc.message)])
    return Status(201, {"id": sub.pk, "end_user_id": sub.end_user_id, "endpoint": sub.endpoint})


@router.delete("/subscriptions", response={204: None, 422: ErrorOut}, auth=WORK)
def remove_subscription(request: HttpRequest, payload: EndpointIn) -> Any:
    if not webpush.unregister_subscription(payload.endpoint):
        return refused([("endpoint", "no live subscription with this endpoint")])
    return Status(204, None)


@router.get("/vapid-public-key", response=VapidOut, auth=VIEW)
def vapid_public_key(request: HttpRequest) -> dict[str, str]:
    return {"public_key": webpush.vapid_public_key()}
