"""The concierge part of the marketplace API (mounted under /api/marketplace/concierge): provider search for a
request, and the handover (a reply on an inquiry with the provider's booking link). Bad input answers 422
naming the field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused
from banso.core.models import User
from banso.core.permissions import Capability

from . import concierge

router = Router(tags=["marketplace"])
WORK = role(Capability.WORK_MARKETPLACE)


class CandidateOut(Schema):
    provider_id: int
    name: str
    rating: str
    review_count: int
    free_slots: int
    incident_points: int
    score: float
    booking_url: str


class HandoverIn(Schema):
    inquiry: int
    provider: int
    category: str = ""
    date: dt.date | None = None


class HandoverOut(Schema):
    inquiry: int
    inquiry_url: str
    provider: int
    booking_url: str
    message: str


@router.get("/search", response={200: list[CandidateOut], 422: ErrorOut}, auth=WORK)
def search(
    request: HttpRequest, category: str = "", area: str = "", date: str = "", guests: int = 1, limit: int = 10
) -> Any:
    """Providers serving `category` in `area` with a free slot on `date` (YYYY-MM-DD, Tokyo), best first."""
    try:
        day = dt.date.fromisoformat(date) if date else None
    except ValueError:
        return refused([("date", "a date as YYYY-MM-DD")])
    if not 1 <= limit <= 100:
        return refused([("limit", "from 1 to 100")])
    try:
        found = concierge.search(category, area, day, guests, limit=limit)
    except concierge.ConciergeError as error:
        return refused([(error.field, error.message)])
    return Status(200, [c.as_json() for c in found])


@router.post("/handover", response={200: HandoverOut, 422: ErrorOut}, auth=WORK)
def handover(request: HttpRequest, payload: HandoverIn) -> Any:
    """Reply on the inquiry, as the caller, with the provider's name and booking link (category and date read
    from the inquiry when not given). Audited."""
    assert isinstance(request.user, User)
    try:
        done = concierge.hand_over(
            payload.inquiry, payload.provider, request.user, category=payload.category, day=payload.date, via="api"
        )
    except concierge.ConciergeError as error:
        return refused([(error.field, error.message)])
    return Status(
        200,
        {
            "inquiry": done.inquiry.number,
            "inquiry_url": done.inquiry.url,
            "provider": done.provider.pk,
            "booking_url": done.link,
            "message": done.body,
        },
    )
