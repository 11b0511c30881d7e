"""End to end in Chromium: a customer opens the chat widget on another site's page (served by the test on
its own origin), asks a question, the bot answers from an FAQ article, the customer asks for a person; an
agent signed in (second browser context) replies on the conversation page, and the customer sees the reply
in the widget.

pytest-django's live server is WSGI (no websockets): the widget's socket is refused there and its polling
fallback carries the conversation, which is what this test drives. The websocket path is covered with the
ASGI app in tests/support/test_chat_live.py and with daphne in bench/_support_chat.py."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from banso.core.choices import Role
from banso.support import kb, search
from banso.support.models import ChatOutcome, ChatSession, SupportSettings

from ..core.factories import UserFactory
from .test_browser import sign_in, snap

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
# The first bot answer builds the search index (and loads the embedding model) inside the live server.
WAIT = 30_000

HOST_PAGE = """<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>くらしのお店</title></head>
<body><h1>くらしのお店</h1><p>ハウスクリーニングの予約サイト</p>
<script src="{banso}/static/support/widget.js" data-banso="{banso}" async></script></body></html>"""


@pytest.fixture
def host_site(live_server) -> Iterator[str]:
    """A plain page of another site that embeds the widget with its one tag."""
    html = HOST_PAGE.format(banso=live_server.url).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_customer_asks_the_bot_then_a_person_and_sees_the_agents_reply(browser: Browser, live_server, host_site):
    search.invalidate()
    config = SupportSettings.load()
    config.widget_origins = host_site
    config.save()
    data = kb.ArticleInput(
        title="予約日時を変更する方法",
        body="マイページの予約一覧から対象の予約を開き「日時を変更」を押すと、空いている日時を選び直せます。",
        keywords="日程変更\nリスケ",
        slug="change-booking-time",
        category_id=None,
    )
    kb.publish(kb.save_article(None, data, None), None)
    UserFactory(username="agent-chat", role=Role.SUPPORT_AGENT, display_name="鈴木")

    customer_context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo")
    customer_context.set_default_timeout(15_000)
    customer: Page = customer_context.new_page()
    customer.goto(host_site)
    customer.get_by_role("button", name="チャットで質問する").click()
    box = customer.get_by_role("textbox", name="ご質問を入力してください")
    box.fill("予約の日時を変更したい")
    box.press("Enter")

    answer = customer.locator(".turn.bot .art a")
    expect(answer).to_have_text("予約日時を変更する方法", timeout=WAIT)
    expect(customer.locator(".turn.visitor")).to_have_text("予約の日時を変更したい")

    customer.get_by_role("button", name="担当者と話す").click()
    session = ChatSession.objects.get()
    expect(customer.locator(".turn.system")).to_have_count(1, timeout=WAIT)
    session.refresh_from_db()
    assert session.outcome == ChatOutcome.HANDED_OFF and session.inquiry is not None
    number = session.inquiry.number
    expect(customer.locator(".turn.system")).to_contain_text(f"#{number}")
    snap(customer, "support-widget-handed-off")

    agent_context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", base_url=live_server.url)
    agent_context.set_default_timeout(15_000)
    agent = agent_context.new_page()
    agent.goto(f"/support/inquiries/{number}/")
    sign_in(agent, "agent-chat")
    expect(agent.locator("#thread")).to_contain_text("予約の日時を変更したい", timeout=WAIT)
    agent.fill("#reply-body", "鈴木です。ご希望の日時をお知らせください。")
    agent.locator("#reply-form button[type=submit]").click()

    expect(customer.locator(".turn.agent")).to_contain_text("鈴木です。ご希望の日時をお知らせください。", timeout=WAIT)
    snap(customer, "support-widget-agent-reply")
    customer_context.close()
    agent_context.close()
