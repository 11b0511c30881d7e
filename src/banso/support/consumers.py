"""Websocket consumers: agents' inbox ("inbox" group, WORK_INQUIRIES), one inquiry page ("inquiry-<number>",
VIEW_ACCOUNTS), and the public chat widget ("widget-<token>", authorised by the session token and the
embedding site's Origin against SupportSettings.widget_origins)."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from banso.core.permissions import Capability, has_capability

from . import chat, desk, realtime


class _LiveConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    groups_joined: list[str]

    async def join(self, *groups: str) -> None:
        self.groups_joined = list(groups)
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        realtime.CatchUp.ensure_started()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def live_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])


class InboxConsumer(_LiveConsumer):
    async def connect(self) -> None:
        if not has_capability(self.scope.get("user"), Capability.WORK_INQUIRIES):
            await self.close(code=4403)
            return
        await self.accept()
        await self.join(realtime.INBOX)


class InquiryConsumer(_LiveConsumer):
    async def connect(self) -> None:
        if not has_capability(self.scope.get("user"), Capability.VIEW_ACCOUNTS):
            await self.close(code=4403)
            return
        number = int(self.scope["url_route"]["kwargs"]["number"])
        await self.accept()
        await self.join(realtime.inquiry_group(number))


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


def _after(scope: dict[str, Any]) -> int:
    from urllib.parse import parse_qs

    values = parse_qs(bytes(scope.get("query_string", b"")).decode()).get("after", ["0"])
    try:
        return max(0, int(values[0]))
    except ValueError:
        return 0


class WidgetConsumer(_LiveConsumer):
    """The visitor's widget: sends {"type": "message", "text"} / {"type": "resolve"} / {"type": "handoff"};
    receives {"kind": "entries", "entries": [...]} (and {"kind": "error", "field", "message"})."""

    token: str

    async def connect(self) -> None:
        self.token = str(self.scope["url_route"]["kwargs"]["token"])
        origin = _header(self.scope, b"origin")
        state = await database_sync_to_async(self._opening)(origin, _after(self.scope))
        if state is None:
            await self.close(code=4403)
            return
        await self.accept()
        await self.join(realtime.widget_group(self.token))
        await self.send_json(state)

    def _opening(self, origin: str, after: int) -> dict[str, Any] | None:
        session = chat.session_by_token(self.token)
        if session is None or (origin and not chat.origin_allowed(origin)):
            return None
        return {
            "kind": "entries",
            "entries": chat.feed(session, after),
            "outcome": session.outcome,
            "inquiry": session.inquiry.number if session.inquiry else None,
        }

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            return
        try:
            # Not thread-sensitive: visitors' lines run in parallel threads instead of queueing behind every
            # other sync call of the process (each uses its own database connection).
            await database_sync_to_async(self._act, thread_sensitive=False)(content)
        except desk.DeskError as exc:
            await self.send_json({"kind": "error", "field": exc.field, "message": exc.message})

    def _act(self, content: dict[str, Any]) -> None:
        session = chat.session_by_token(self.token)
        if session is None:
            raise desk.DeskError("token", "No such chat session.")
        kind = content.get("type")
        if kind == "message":
            chat.visitor_says(session, str(content.get("text", "")))
        elif kind == "resolve":
            chat.resolve(session)
        elif kind == "handoff":
            chat.hand_off(session)
        else:
            raise desk.DeskError("type", "Unknown action.")
