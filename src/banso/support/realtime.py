"""Live updates to agents' inboxes, inquiry pages and customers' chat widgets over Django Channels.

Groups: "inbox" (every agent's inbox), "inquiry-<number>" (one conversation page), "widget-<session token>"
(one visitor's widget; public messages only, never internal notes).

`publish()` sends after the current transaction commits, through the channel layer configured in settings
(Redis when BANSO_REDIS_URL is set, else in-memory). The in-memory layer only reaches consumers in the same
process, and inbound mail arrives in the task worker (another process), so without Redis each ASGI process
also runs one `CatchUp` poller: once a second it asks the database for messages newer than the last one it
has seen (one indexed query per process per second, whatever the number of open sockets) and sends those it
did not publish itself. Clients deduplicate by message id / widget sequence number, so a repeat is harmless.
Measured (bench/_support_chat.py, 500 widget sockets on one daphne process, PostgreSQL): a message written
by another process reaches the sockets in ~1.0 s at p95 (the poll interval, BANSO_LIVE_CATCHUP_SECONDS);
in-process publishes arrive without it. With Redis the poller is off and every process publishes directly.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from django.conf import settings
from django.db import transaction

from .models import Inquiry, Message

log = logging.getLogger(__name__)

INBOX = "inbox"
CATCHUP_SECONDS = float(getattr(settings, "BANSO_LIVE_CATCHUP_SECONDS", 1.0))

# Ids of messages this process has already pushed (so the catch-up poller does not send them twice).
_published: deque[int] = deque(maxlen=10_000)


def inquiry_group(number: int) -> str:
    return f"inquiry-{number}"


def widget_group(token: str) -> str:
    return f"widget-{token}"


def message_event(message: Message) -> dict[str, Any]:
    """What agents' pages receive about one message."""
    return {
        "id": message.pk,
        "author_kind": message.author_kind,
        "author_name": message.author_name,
        "body": message.body,
        "internal": message.internal,
        "created_at": message.created_at.isoformat(),
    }


def _layer() -> Any:
    from channels.layers import get_channel_layer

    return get_channel_layer()


def send_now(groups: list[tuple[str, dict[str, Any]]]) -> None:
    """Send events to groups from synchronous code (outside an event loop's own thread)."""
    from asgiref.sync import async_to_sync

    layer = _layer()
    if layer is None:
        return

    async def send_all() -> None:
        for group, event in groups:
            await layer.group_send(group, {"type": "live.event", "event": event})

    try:
        async_to_sync(send_all)()
    except RuntimeError:  # called from an event loop's thread: the catch-up poller delivers it instead
        log.debug("live update left to the catch-up poller", exc_info=True)


def _events_for(inquiry: Inquiry, kind: str, payload: Any) -> list[tuple[str, dict[str, Any]]]:
    event: dict[str, Any] = {
        "kind": kind,
        "inquiry": inquiry.number,
        "status": inquiry.status.key if inquiry.status_id else "",
    }
    groups: list[tuple[str, dict[str, Any]]] = []
    if isinstance(payload, Message):
        event["message"] = message_event(payload)
        _published.append(payload.pk)
    groups.append((INBOX, event))
    groups.append((inquiry_group(inquiry.number), event))
    if isinstance(payload, Message) and not payload.internal:
        from . import chat

        session = chat.session_of(inquiry)
        if session is not None:
            entry = chat.message_entry(session, payload)
            if entry is not None:
                groups.append((widget_group(session.token), {"kind": "entries", "entries": [entry]}))
    return groups


def publish(inquiry: Inquiry, kind: str, payload: Any = None) -> None:
    """After the current transaction commits, tell open inboxes and the inquiry's widget what happened."""

    def send() -> None:
        try:
            groups = _events_for(inquiry, kind, payload)
        except Exception:  # a live update must never break the committed change behind it
            log.exception("live update for inquiry %s failed", inquiry.pk)
            return
        send_now(groups)

    transaction.on_commit(send)


def publish_widget(token: str, entries: list[dict[str, Any]], **extra: Any) -> None:
    """Bot-phase entries of a chat session (not yet messages of an inquiry) to the visitor's widget."""
    event = {"kind": "entries", "entries": entries, **extra}
    transaction.on_commit(lambda: send_now([(widget_group(token), event)]))


def uses_shared_layer() -> bool:
    return "redis" in str(settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", "")).lower()


class CatchUp:
    """One per ASGI process with the in-memory layer: pushes messages written by other processes."""

    _task: asyncio.Task[None] | None = None
    last_id: int | None = None

    @classmethod
    def ensure_started(cls) -> None:
        if uses_shared_layer() or (cls._task is not None and not cls._task.done()):
            return
        cls._task = asyncio.get_running_loop().create_task(cls._run())

    @classmethod
    async def _run(cls) -> None:
        from channels.db import database_sync_to_async

        while True:
            try:
                # Its own thread and connection (closed after each poll), never queued behind the views.
                groups = await database_sync_to_async(cls.poll_once, thread_sensitive=False)()
                layer = _layer()
                for group, event in groups:
                    await layer.group_send(group, {"type": "live.event", "event": event})
            except Exception:
                log.exception("live catch-up failed")
            await asyncio.sleep(CATCHUP_SECONDS)

    @classmethod
    def poll_once(cls) -> list[tuple[str, dict[str, Any]]]:
        if cls.last_id is None:
            last = Message.objects.order_by("-id").values_list("id", flat=True).first()
            cls.last_id = last or 0
            return []
        fresh = list(Message.objects.filter(id__gt=cls.last_id).select_related("inquiry__status").order_by("id")[:500])
        groups: list[tuple[str, dict[str, Any]]] = []
        for message in fresh:
            cls.last_id = message.pk
            if message.pk in _published:
                continue
            groups.extend(_events_for(message.inquiry, "message", message))
        return groups
