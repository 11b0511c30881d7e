"""Live updates over websockets (Channels' in-memory layer, the ASGI app driven by WebsocketCommunicator):
the widget socket talks to the bot and receives an agent's reply, the inbox and inquiry sockets hear about
new messages and refuse people without the right role, and messages written by another process reach the
sockets through the database catch-up."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from banso.asgi import application
from banso.core.choices import Role
from banso.support import chat, desk, realtime
from banso.support.models import ChatSession, SupportSettings

from ..core.factories import UserFactory
from .factories import AgentFactory, InquiryFactory

pytestmark = [pytest.mark.django_db(transaction=True)]
LOCAL = [(b"origin", b"http://testserver"), (b"host", b"testserver")]


@pytest.fixture(autouse=True)
def _socket_threads_close_their_connections():
    """The consumers' worker threads open their own connections; with CONN_MAX_AGE 0 they close them after
    each call, so none is left open on the test database when it is dropped."""
    from django.db import connections

    saved = connections.settings["default"].get("CONN_MAX_AGE", 0)
    connections.settings["default"]["CONN_MAX_AGE"] = 0
    yield
    connections.settings["default"]["CONN_MAX_AGE"] = saved


def _run(coroutine) -> None:
    """Run a scenario on a fresh event loop in its own thread: a browser test earlier on the same worker leaves
    Playwright's loop running in this thread, where asyncio.run() is refused."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


def _session_cookie(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value
    return [*LOCAL, (b"cookie", f"sessionid={cookie}".encode())]


async def _next(communicator: WebsocketCommunicator, kind: str | None = None) -> dict:
    while True:
        event = await communicator.receive_json_from(timeout=5)
        if kind is None or event.get("kind") == kind:
            return event


def test_the_widget_socket_talks_to_the_bot_and_hears_the_agent():
    session = chat.start_session(visitor_name="佐藤")

    async def scenario() -> None:
        ws = WebsocketCommunicator(application, f"/ws/support/widget/{session.token}/", headers=LOCAL)
        connected, _ = await ws.connect()
        assert connected
        assert (await _next(ws))["entries"] == []
        await ws.send_json_to({"type": "message", "text": "支払い方法を変えたい"})
        entries = (await _next(ws, "entries"))["entries"]
        assert [e["role"] for e in entries] == ["visitor", "bot"]
        await ws.send_json_to({"type": "handoff"})
        handed = await _next(ws, "entries")
        assert handed["outcome"] == "handed_off"
        await ws.send_json_to({"type": "message", "text": ""})
        assert (await _next(ws, "error"))["field"] == "text"

        inquiry = (await sync_to_async(ChatSession.objects.select_related("inquiry").get)(pk=session.pk)).inquiry
        agent = await sync_to_async(AgentFactory)()
        await sync_to_async(desk.reply)(inquiry, agent, "担当の鈴木です。確認します。")
        reply = (await _next(ws, "entries"))["entries"]
        assert [(e["role"], e["text"]) for e in reply] == [("agent", "担当の鈴木です。確認します。")]
        await ws.disconnect()

    _run(scenario())


def test_a_widget_socket_from_a_site_not_allowed_is_refused():
    config = SupportSettings.load()
    config.widget_origins = "https://shop.example.jp"
    config.save()
    session = chat.start_session()

    async def scenario() -> None:
        bad = WebsocketCommunicator(
            application, f"/ws/support/widget/{session.token}/", headers=[(b"origin", b"https://evil.example")]
        )
        assert (await bad.connect())[0] is False
        unknown = WebsocketCommunicator(application, "/ws/support/widget/nope/", headers=LOCAL)
        assert (await unknown.connect())[0] is False

    _run(scenario())


def test_the_inbox_socket_is_for_agents_and_hears_new_messages():
    realtime.CatchUp.last_id = None
    agent_headers = _session_cookie(AgentFactory())
    viewer_headers = _session_cookie(UserFactory(role=Role.VIEWER))
    inquiry = InquiryFactory()

    async def scenario() -> None:
        anonymous = WebsocketCommunicator(application, "/ws/support/inbox/", headers=LOCAL)
        assert (await anonymous.connect())[0] is False
        viewer = WebsocketCommunicator(application, "/ws/support/inbox/", headers=viewer_headers)
        assert (await viewer.connect())[0] is False
        inbox = WebsocketCommunicator(application, "/ws/support/inbox/", headers=agent_headers)
        assert (await inbox.connect())[0] is True
        page = WebsocketCommunicator(application, f"/ws/support/inquiry/{inquiry.number}/", headers=viewer_headers)
        assert (await page.connect())[0] is True
        await sync_to_async(desk.add_customer_message)(inquiry, "追加の質問です")
        for ws in (inbox, page):
            # (The catch-up may first report the factory's message, written without a publish.)
            event = await _next(ws)
            while event.get("message", {}).get("body") != "追加の質問です":
                event = await _next(ws)
            assert event["inquiry"] == inquiry.number and event["kind"] == "message"
        await inbox.disconnect()
        await page.disconnect()

    _run(scenario())


def test_messages_written_elsewhere_are_caught_up_from_the_database():
    inquiry = InquiryFactory()
    realtime.CatchUp.last_id = None
    assert realtime.CatchUp.poll_once() == []  # starts from the newest message
    # Written as another process would: no publish from this one.
    from banso.support.models import AuthorKind, Message

    message = Message.objects.create(
        inquiry=inquiry, author_kind=AuthorKind.CUSTOMER, body="別プロセス", channel="email"
    )
    groups = realtime.CatchUp.poll_once()
    assert {group for group, _ in groups} == {"inbox", f"inquiry-{inquiry.number}"}
    assert all(event["message"]["id"] == message.pk for _, event in groups)
    assert realtime.CatchUp.poll_once() == []
