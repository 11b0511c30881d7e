"""The offers part of the campaigns API (mounted under /api/campaigns/offers): offers (list, create, detail,
PATCH, status, checklist ticks), special rates (list by offer or month, create, edit, cancel), the calendar of a
Tokyo month, and applying due switches. Rates are percentages as strings ("5.00"), amounts whole yen, times ISO
8601 (given without an offset: Tokyo; special-rate times answered in Tokyo, +09:00).
Refusals answer 422 naming the field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from banso.accounts.services import parse_month
from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused
from banso.core.business_hours import TOKYO
from banso.core.models import User
from banso.core.permissions import Capability

from . import offers, rates
from .models import Offer, RateSwitch, SpecialRate

router = Router(tags=["campaigns"])
VIEW = role(Capability.VIEW_ACCOUNTS)
WORK = role(Capability.WORK_CAMPAIGNS)
SEND = role(Capability.SEND_CAMPAIGNS)
MAX_LIMIT = 500

Number = str | int | float | None


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _dec(value: Any) -> str | None:
    return None if value is None else str(value)


class OfferOut(Schema):
    id: int
    name: str
    advertiser_id: int
    advertiser: str
    asp: str
    asp_offer_id: str
    category: str
    landing_url: str
    conditions: str
    status: str
    base_reward_type: str
    base_rate: str | None
    base_amount: int | None
    reward_type: str
    reward_rate: str | None
    reward_amount: int | None
    reward_text: str
    cashback_share: str
    checklist: dict[str, str]
    open_items: list[str]
    owner_id: int | None
    published_at: dt.datetime | None
    ended_at: dt.datetime | None


def _offer(o: Offer) -> dict[str, Any]:
    return {
        "id": o.pk,
        "name": o.name,
        "advertiser_id": o.advertiser_id,
        "advertiser": o.advertiser.name,
        "asp": o.asp.code,
        "asp_offer_id": o.asp_offer_id,
        "category": o.category,
        "landing_url": o.landing_url,
        "conditions": o.conditions,
        "status": o.status,
        "base_reward_type": o.base_reward_type,
        "base_rate": _dec(o.base_rate),
        "base_amount": o.base_amount,
        "reward_type": o.reward_type,
        "reward_rate": _dec(o.reward_rate),
        "reward_amount": o.reward_amount,
        "reward_text": offers.current_reward_text(o),
        "cashback_share": str(o.cashback_share),
        "checklist": dict(o.checklist or {}),
        "open_items": offers.open_items(o),
        "owner_id": o.owner_id,
        "published_at": o.published_at,
        "ended_at": o.ended_at,
    }


class OfferIn(Schema):
    advertiser: int
    asp: str  # the ASP's code (a8, valuecommerce …) or id
    asp_offer_id: str
    name: str
    category: str = "ec"
    landing_url: str = ""
    conditions: str = ""
    base_reward_type: str
    base_rate: Number = None
    base_amount: Number = None
    cashback_share: Number = 50
    owner: int | None = None


class OfferPatch(Schema):
    """Keys left out keep their value."""

    advertiser: int | None = None
    asp: str | None = None
    asp_offer_id: str | None = None
    name: str | None = None
    category: str | None = None
    landing_url: str | None = None
    conditions: str | None = None
    base_reward_type: str | None = None
    base_rate: Number = None
    base_amount: Number = None
    cashback_share: Number = None
    owner: int | None = None


class StatusIn(Schema):
    status: str


class TickIn(Schema):
    item: str
    done: bool = True


def _get_offer(offer_id: int) -> Offer:
    return get_object_or_404(Offer.objects.select_related("advertiser", "asp"), pk=offer_id)


@router.get("", response=list[OfferOut], auth=VIEW)
def list_offers(
    request: HttpRequest,
    status: str = "",
    category: str = "",
    asp: str = "",
    advertiser: str = "",
    q: str = "",
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    qs = offers.search(status=status, category=category, asp=asp, advertiser=advertiser, q=q)
    limit = max(1, min(limit, MAX_LIMIT))
    return [_offer(o) for o in qs[max(offset, 0) : max(offset, 0) + limit]]


@router.post("", response={201: OfferOut, 422: ErrorOut}, auth=WORK)
def create_offer(request: HttpRequest, payload: OfferIn) -> Any:
    try:
        offer = offers.save_offer(None, payload.dict(), actor=_actor(request), via="api")
    except offers.OfferError as error:
        return refused([(error.field, error.message)])
    return Status(201, _offer(offer))


@router.get("/{int:offer_id}", response=OfferOut, auth=VIEW)
def offer_detail(request: HttpRequest, offer_id: int) -> dict[str, Any]:
    return _offer(_get_offer(offer_id))


@router.patch("/{int:offer_id}", response={200: OfferOut, 422: ErrorOut}, auth=WORK)
def update_offer(request: HttpRequest, offer_id: int, payload: OfferPatch) -> Any:
    offer = _get_offer(offer_id)
    try:
        offer = offers.save_offer(offer, payload.dict(exclude_unset=True), actor=_actor(request), via="api")
    except offers.OfferError as error:
        return refused([(error.field, error.message)])
    return Status(200, _offer(_get_offer(offer.pk)))


@router.post("/{int:offer_id}/status", response={200: OfferOut, 422: ErrorOut}, auth=WORK)
def change_status(request: HttpRequest, offer_id: int, payload: StatusIn) -> Any:
    offer = _get_offer(offer_id)
    try:
        offers.set_status(offer, payload.status, actor=_actor(request), via="api")
    except offers.OfferError as error:
        return refused([(error.field, error.message)])
    return Status(200, _offer(_get_offer(offer_id)))


@router.post("/{int:offer_id}/checklist", response={200: OfferOut, 422: ErrorOut}, auth=WORK)
def tick_item(request: HttpRequest, offer_id: int, payload: TickIn) -> Any:
    offer = _get_offer(offer_id)
    try:
        offers.tick(offer, payload.item, payload.done, actor=_actor(request), via="api")
    except offers.OfferError as error:
        return refused([(error.field, error.message)])
    return Status(200, _offer(_get_offer(offer_id)))


# Special rates -----------------------------------------------------------------------------------------------


class RateOut(Schema):
    id: int
    offer: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    reward_type: str
    rate: str | None
    amount: int | None
    reward_text: str
    status: str
    note: str


def _rate(r: SpecialRate) -> dict[str, Any]:
    return {
        "id": r.pk,
        "offer": r.offer_id,
        "starts_at": r.starts_at.astimezone(TOKYO),
        "ends_at": r.ends_at.astimezone(TOKYO),
        "reward_type": r.reward_type,
        "rate": _dec(r.rate),
        "amount": r.amount,
        "reward_text": rates.rate_reward_text(r),
        "status": r.status,
        "note": r.note,
    }


class RateIn(Schema):
    offer: int
    starts_at: str
    ends_at: str
    reward_type: str
    rate: Number = None
    amount: Number = None
    note: str = ""


class RatePatch(Schema):
    starts_at: str | None = None
    ends_at: str | None = None
    reward_type: str | None = None
    rate: Number = None
    amount: Number = None
    note: str | None = None


@router.get("/rates", response={200: list[RateOut], 422: ErrorOut}, auth=VIEW)
def list_rates(request: HttpRequest, offer: int | None = None, month: str = "") -> Any:
    """Special rates of an offer and/or those running at some time in a Tokyo month (YYYY-MM)."""
    qs = SpecialRate.objects.order_by("starts_at", "id")
    if offer is not None:
        qs = qs.filter(offer_id=offer)
    if month:
        try:
            first = parse_month(month)[0]
        except ValueError:
            return refused([("month", "a month as YYYY-MM")])
        start, end = rates.month_bounds(first.year, first.month)
        qs = qs.filter(starts_at__lt=end, ends_at__gt=start)
    if offer is None and not month:
        return refused([("offer", "give an offer or a month")])
    return Status(200, [_rate(r) for r in qs[:MAX_LIMIT]])


@router.post("/rates", response={201: RateOut, 422: ErrorOut}, auth=WORK)
def create_rate(request: HttpRequest, payload: RateIn) -> Any:
    offer = Offer.objects.filter(pk=payload.offer).first()
    if offer is None:
        return refused([("offer", "no such offer")])
    data = payload.dict()
    data.pop("offer")
    try:
        rate = rates.save_rate(None, data, offer=offer, actor=_actor(request), via="api")
    except offers.OfferError as error:
        return refused([(error.field, error.message)])
    return Status(201, _rate(rate))


@router.patch("/rates/{int:rate_id}", response={200: RateOut, 422: ErrorOut}, auth=WORK)
def update_rate(request: HttpRequest, rate_id: int, payload: RatePatch) -> Any:
    rate = get_object_or_404(SpecialRate, pk=rate_id)
    try:
        rate = rates.save_rate(rate, payload.dict(exclude_unset=True), actor=_actor(request), via="api")
    except offers.OfferError as error:
        return refused([(error.field, error.message)])
    return Status(200, _rate(rate))


@router.post("/rates/{int:rate_id}/cancel", response={200: RateOut, 422: ErrorOut}, auth=WORK)
def cancel_rate(request: HttpRequest, rate_id: int) -> Any:
    rate = get_object_or_404(SpecialRate, pk=rate_id)
    try:
        rate = rates.cancel_rate(rate, actor=_actor(request), via="api")
    except offers.OfferError as error:
        return refused([(error.field, error.message)])
    return Status(200, _rate(rate))


# Calendar and switches ---------------------------------------------------------------------------------------


class SwitchOut(Schema):
    at: dt.datetime
    kind: str
    offer: int
    offer_name: str
    special_rate: int
    reward_text: str
    applied_at: dt.datetime | None


class CalendarOut(Schema):
    month: str
    switches: list[SwitchOut]
    conflicts: list[list[int]]
    gaps: list[list[int]]


def _switch(s: rates.Switch) -> dict[str, Any]:
    return {
        "at": s.at.astimezone(TOKYO),
        "kind": s.kind,
        "offer": s.rate.offer_id,
        "offer_name": s.rate.offer.name,
        "special_rate": s.rate.pk,
        "reward_text": s.reward,
        "applied_at": s.applied.applied_at if s.applied else None,
    }


@router.get("/calendar", response={200: CalendarOut, 422: ErrorOut}, auth=VIEW)
def calendar(request: HttpRequest, month: str) -> Any:
    """Every switch of a Tokyo month (YYYY-MM), with the overlapping and gapped period pairs (by id) around it."""
    try:
        first = parse_month(month)[0]
    except ValueError:
        return refused([("month", "a month as YYYY-MM")])
    start, end = rates.month_bounds(first.year, first.month)
    return Status(
        200,
        {
            "month": f"{first:%Y-%m}",
            "switches": [_switch(s) for s in rates.calendar(first.year, first.month)],
            "conflicts": [[a.pk, b.pk] for a, b in rates.conflicts(since=start) if a.starts_at < end],
            "gaps": [[a.pk, b.pk] for a, b, _gap in rates.gaps(since=start) if a.ends_at < end],
        },
    )


class AppliedOut(Schema):
    offer: int
    special_rate: int
    kind: str
    due_at: dt.datetime
    applied_at: dt.datetime
    before: str
    after: str


def _applied(s: RateSwitch) -> dict[str, Any]:
    return {
        "offer": s.offer_id,
        "special_rate": s.special_rate_id,
        "kind": s.kind,
        "due_at": s.due_at.astimezone(TOKYO),
        "applied_at": s.applied_at,
        "before": s.before.get("text", ""),
        "after": s.after.get("text", ""),
    }


@router.post("/switches/apply", response=list[AppliedOut], auth=SEND)
def apply_switches(request: HttpRequest) -> list[dict[str, Any]]:
    """Apply every due switch now (what the scheduler does every minute)."""
    return [_applied(s) for s in rates.apply_due(actor=_actor(request), via="api")]
