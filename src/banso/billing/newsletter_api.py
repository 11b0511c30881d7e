"""Member newsletters in the JSON API (mounted under /api/billing/newsletters): list with rates, one with its
results, drafts created and changed, preview for a member, test send, schedule, send now, cancel.

Tracking consent: opens and clicks are recorded only when the newsletter's `track` is true and the member's
`EndUser.attributes["newsletter_tracking"]` is true; other members get plain links and no open pixel, and
the opened/clicked rates are of tracked deliveries. Refusals are 422 naming the field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused, validation_errors
from banso.core.models import User
from banso.core.permissions import Capability

from . import newsletters
from .models import Newsletter

router = Router(tags=["billing"])
VIEW = role(Capability.VIEW_BILLING)
MANAGE = role(Capability.MANAGE_BILLING)
CONSENT = (
    f'Tracked only for members whose attributes["{newsletters.TRACKING_ATTRIBUTE}"] is true; '
    "rates are of tracked deliveries."
)


class NewsletterIn(Schema):
    title: str
    subject: str = Field(description="merge fields as {{ member.name }}; see GET /fields")
    body: str = Field(description="plain text; links as full URLs; merge fields allowed")
    segment_id: int | None = Field(None, description="an end-user segment; null sends to every member")
    track: bool = Field(True, description=CONSENT)


class ScheduleIn(Schema):
    send_at: dt.datetime = Field(description="a time in the future; without an offset it is Japan time")


class NewsletterOut(Schema):
    id: int
    title: str
    subject: str
    body: str
    segment_id: int | None
    status: str
    scheduled_at: dt.datetime | None
    sent_at: dt.datetime | None
    track: bool
    recipients: int
    links: list[str]


class RowOut(Schema):
    id: int
    title: str
    status: str
    segment_id: int | None
    scheduled_at: dt.datetime | None
    sent_at: dt.datetime | None
    recipients: int
    delivered_rate: Decimal | None = Field(description="% of recipients the outbox sent")
    opened_rate: Decimal | None = Field(description="% of tracked deliveries opened. " + CONSENT)
    clicked_rate: Decimal | None = Field(description="% of tracked deliveries clicked")


class ResultsOut(Schema):
    recipients: int
    delivered: int
    failed: int
    suppressed: int
    waiting: int
    tracked: int
    opened: int
    clicked: int
    unsubscribed: int = Field(description="recipients who unsubscribed after it was sent")
    delivered_rate: Decimal | None
    opened_rate: Decimal | None
    clicked_rate: Decimal | None
    unsubscribed_rate: Decimal | None


class DetailOut(NewsletterOut):
    results: ResultsOut


class PreviewOut(Schema):
    subject: str
    text: str
    member_id: int | None


class QueuedOut(Schema):
    outbox_message_id: int
    to: str


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _out(newsletter: Newsletter) -> dict[str, Any]:
    fields = ("id", "title", "subject", "body", "segment_id", "status", "scheduled_at", "sent_at", "track")
    return {name: getattr(newsletter, name) for name in fields} | {
        "recipients": newsletter.recipients,
        "links": newsletters.links(newsletter.body),
    }


def _payload(payload: NewsletterIn) -> dict[str, Any]:
    data = payload.dict()
    data["segment"] = data.pop("segment_id")
    return data


@router.get("/fields", response=list[str], auth=VIEW)
def fields(request: HttpRequest) -> list[str]:
    """The merge fields a subject or body may use."""
    return newsletters.field_names()


@router.get("", response=list[RowOut], auth=VIEW)
def newsletter_list(request: HttpRequest, status: str = "") -> list[dict[str, Any]]:
    rows = newsletters.list_rows(status)[:500]
    return [
        {
            "id": n.pk,
            "title": n.title,
            "status": n.status,
            "segment_id": n.segment_id,
            "scheduled_at": n.scheduled_at,
            "sent_at": n.sent_at,
            "recipients": n.recipients,
            **newsletters.row_rates(n),
        }
        for n in rows
    ]


@router.post("", response={201: NewsletterOut, 422: ErrorOut}, auth=MANAGE)
def create(request: HttpRequest, payload: NewsletterIn) -> Status[Any]:
    try:
        newsletter = newsletters.save_draft(None, _payload(payload), _actor(request), via="api")
    except ValidationError as error:
        return refused(validation_errors(error, {"segment": "segment_id"}))
    return Status(201, _out(newsletter))


@router.get("/{int:newsletter_id}", response=DetailOut, auth=VIEW)
def detail(request: HttpRequest, newsletter_id: int) -> dict[str, Any]:
    newsletter = get_object_or_404(Newsletter, pk=newsletter_id)
    return _out(newsletter) | {"results": newsletters.results(newsletter)}


@router.put("/{int:newsletter_id}", response={200: NewsletterOut, 422: ErrorOut}, auth=MANAGE)
def update(request: HttpRequest, newsletter_id: int, payload: NewsletterIn) -> Status[Any]:
    newsletter = get_object_or_404(Newsletter, pk=newsletter_id)
    try:
        newsletter = newsletters.save_draft(newsletter, _payload(payload), _actor(request), via="api")
    except ValidationError as error:
        return refused(validation_errors(error, {"segment": "segment_id"}))
    except newsletters.NewsletterError as error:
        return refused([(error.field, error.message)])
    return Status(200, _out(newsletter))


@router.get("/{int:newsletter_id}/preview", response={200: PreviewOut, 422: ErrorOut}, auth=VIEW)
def preview(request: HttpRequest, newsletter_id: int, member: str = "") -> Status[Any]:
    """The mail as the member (id or email; a sample member when empty) would read it, untracked."""
    newsletter = get_object_or_404(Newsletter, pk=newsletter_id)
    end_user = newsletters.find_member(member)
    if member and end_user is None:
        return refused([("member", _("No member with that id or email."))])
    shown = newsletters.preview(newsletter, end_user)
    if "errors" in shown:
        return refused([("body", message) for message in shown["errors"]])
    return Status(200, {"subject": shown["subject"], "text": shown["text"], "member_id": getattr(end_user, "pk", None)})


@router.post("/{int:newsletter_id}/test", response={202: QueuedOut, 422: ErrorOut}, auth=MANAGE)
def test_send(request: HttpRequest, newsletter_id: int) -> Status[Any]:
    """Queue the newsletter to the caller's own address (sample member, untracked)."""
    newsletter = get_object_or_404(Newsletter, pk=newsletter_id)
    user = _actor(request)
    try:
        if user is None:
            raise newsletters.NewsletterError("email", _("Your profile has no email address to send the test to."))
        message = newsletters.send_test(newsletter, user)
    except newsletters.NewsletterError as error:
        return refused([(error.field, error.message)])
    return Status(202, {"outbox_message_id": message.pk, "to": message.to_email})


def _transition(request: HttpRequest, newsletter_id: int, change: Any) -> Status[Any]:
    newsletter = get_object_or_404(Newsletter, pk=newsletter_id)
    try:
        newsletter = change(newsletter, _actor(request))
    except ValidationError as error:
        return refused(validation_errors(error))
    except newsletters.NewsletterError as error:
        return refused([(error.field, error.message)])
    return Status(200, _out(newsletter))


@router.post("/{int:newsletter_id}/schedule", response={200: NewsletterOut, 422: ErrorOut}, auth=MANAGE)
def schedule(request: HttpRequest, newsletter_id: int, payload: ScheduleIn) -> Status[Any]:
    return _transition(request, newsletter_id, lambda n, a: newsletters.schedule(n, payload.send_at, a, via="api"))


@router.post("/{int:newsletter_id}/send-now", response={200: NewsletterOut, 422: ErrorOut}, auth=MANAGE)
def send_now(request: HttpRequest, newsletter_id: int) -> Status[Any]:
    return _transition(request, newsletter_id, lambda n, a: newsletters.send_now(n, a, via="api"))


@router.post("/{int:newsletter_id}/cancel", response={200: NewsletterOut, 422: ErrorOut}, auth=MANAGE)
def cancel(request: HttpRequest, newsletter_id: int) -> Status[Any]:
    return _transition(request, newsletter_id, lambda n, a: newsletters.cancel(n, a, via="api"))
