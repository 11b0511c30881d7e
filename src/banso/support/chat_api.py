"""The support desk's chat and mail channels in the JSON API (mounted by api.py under /api/support/chat):
chat sessions with their outcome and transcript, the self-resolution rate, and raw email into the desk for
integrations that hold mail already (the same path as the signed webhook)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from ninja.responses import Status

from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused
from banso.core.permissions import Capability

from . import channels_email, chat
from .desk import DeskError
from .models import ChatOutcome, ChatSession

router = Router(tags=["support"])
VIEW = role(Capability.VIEW_ACCOUNTS)
WORK = role(Capability.WORK_INQUIRIES)
MAX_LIMIT = 500


class SessionOut(Schema):
    id: int
    visitor_name: str
    visitor_email: str
    page_url: str
    outcome: str
    inquiry: int | None
    resolved_by_article: int | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    turns: int


class EntryOut(Schema):
    seq: int
    role: str
    text: str
    at: str
    name: str


class SessionDetailOut(SessionOut):
    entries: list[EntryOut]


class StatsOut(Schema):
    outcomes: dict[str, int]
    ended: int
    self_resolution_rate: float | None


class MailIn(Schema):
    raw: str


class MailOut(Schema):
    inquiry: int
    message: int
    created: bool
    new_inquiry: bool


def _out(session: ChatSession) -> dict[str, Any]:
    return {
        "id": session.pk,
        "visitor_name": session.visitor_name,
        "visitor_email": session.visitor_email,
        "page_url": session.page_url,
        "outcome": session.outcome,
        "inquiry": session.inquiry.number if session.inquiry else None,
        "resolved_by_article": session.resolved_by_article_id,
        "started_at": session.started_at,
        "ended_at": session.ended_at,
        "turns": len(session.transcript),
    }


@router.get("/sessions", response=list[SessionOut], auth=VIEW)
def list_sessions(request: HttpRequest, outcome: str = "", limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    rows = ChatSession.objects.select_related("inquiry").order_by("-started_at", "-id")
    if outcome in ChatOutcome.values:
        rows = rows.filter(outcome=outcome)
    start = max(offset, 0)
    return [_out(s) for s in rows[start : start + max(1, min(limit, MAX_LIMIT))]]


@router.get("/sessions/{int:session_id}", response=SessionDetailOut, auth=VIEW)
def get_session(request: HttpRequest, session_id: int) -> dict[str, Any]:
    session = get_object_or_404(ChatSession.objects.select_related("inquiry"), pk=session_id)
    return {**_out(session), "entries": chat.feed(session)}


@router.get("/stats", response=StatsOut, auth=VIEW)
def stats(request: HttpRequest, since: dt.datetime | None = None) -> dict[str, Any]:
    """Sessions per outcome; self-resolution rate = self-resolved / all ended sessions (ended since `since`)."""
    from .widget_views import outcome_counts

    ended = ChatSession.objects.filter(ended_at__isnull=False)
    if since is not None:
        ended = ended.filter(ended_at__gte=since)
    return {
        "outcomes": outcome_counts(),
        "ended": ended.count(),
        "self_resolution_rate": chat.self_resolution_rate(since),
    }


@router.post("/mail", response={201: MailOut, 200: MailOut, 422: ErrorOut}, auth=WORK)
def receive_mail(request: HttpRequest, payload: MailIn) -> Status[Any]:
    """A raw RFC 822 message (as text) into the desk; the same Message-ID twice is one message (200)."""
    try:
        received = channels_email.receive(payload.raw.encode("utf-8", errors="surrogateescape"))
    except DeskError as error:
        return refused([(error.field, error.message)])
    body = {
        "inquiry": received.message.inquiry.number,
        "message": received.message.pk,
        "created": received.created,
        "new_inquiry": received.new_inquiry,
    }
    return Status(201 if received.created else 200, body)
