"""The chat widget's endpoints and the chatbot: the bot answers from the knowledge base, the visitor resolves
or asks for a person (the conversation carried over into an inquiry), agents' replies reach the widget's
feed, idle sessions end with the right outcome, and only allowed sites may embed the widget."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from banso.support import chat, desk, kb, search
from banso.support.models import (
    ArticleFeedback,
    AuthorKind,
    Channel,
    ChatOutcome,
    ChatSession,
    SupportSettings,
)

from .factories import AgentFactory

pytestmark = pytest.mark.django_db
SESSIONS = "/support/widget/sessions"


@pytest.fixture(autouse=True)
def _fresh_index():
    search.invalidate()
    yield
    search.invalidate()


@pytest.fixture
def article(db):
    data = kb.ArticleInput(
        title="予約をキャンセルする方法",
        body="マイページの予約一覧から予約を開き「予約をキャンセルする」を押してください。",
        keywords="取消\n取り消し",
        slug="cancel-booking",
        category_id=None,
    )
    return kb.publish(kb.save_article(None, data, None), None)


def start(client: Client, **data) -> dict:
    response = client.post(
        SESSIONS, {"name": "佐藤一郎", "email": "ichiro@example.jp", **data}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def say(client: Client, token: str, text: str, after: int = 0) -> dict:
    response = client.post(
        f"{SESSIONS}/{token}/messages?after={after}", {"text": text}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_the_bot_answers_a_question_from_the_best_article(client, article):
    token = start(client)["token"]
    state = say(client, token, "予約をキャンセルしたい")
    visitor, answer = state["entries"]
    assert (visitor["role"], visitor["text"]) == ("visitor", "予約をキャンセルしたい")
    assert answer["role"] == "bot"
    assert answer["article"]["id"] == article.pk
    assert answer["article"]["title"] == "予約をキャンセルする方法"
    assert answer["article"]["url"]
    assert [e["seq"] for e in state["entries"]] == [1, 2]


def test_without_a_good_enough_article_the_bot_offers_a_person(client, article):
    config = SupportSettings.load()
    config.bot_min_score = 10_000.0
    config.save()
    token = start(client)["token"]
    answer = say(client, token, "予約をキャンセルしたい")["entries"][-1]
    assert answer["role"] == "bot" and answer["article"] is None


def test_resolved_by_the_answer_counts_for_the_article(client, article):
    token = start(client)["token"]
    say(client, token, "キャンセルの方法")
    assert client.post(f"{SESSIONS}/{token}/resolve").status_code == 200
    session = ChatSession.objects.get(token=token)
    assert session.outcome == ChatOutcome.SELF_RESOLVED and session.ended_at is not None
    assert session.resolved_by_article == article
    assert ArticleFeedback.objects.get(session=session).helpful is True
    article.refresh_from_db()
    assert article.helpful_count == 1


def test_asking_for_a_person_carries_the_conversation_into_an_inquiry(client, article):
    token = start(client)["token"]
    say(client, token, "予約をキャンセルしたい")
    say(client, token, "キャンセル料はかかりますか")
    state = client.post(f"{SESSIONS}/{token}/handoff").json()
    assert state["handed_off"] is True
    session = ChatSession.objects.get(token=token)
    inquiry = session.inquiry
    assert inquiry.channel == Channel.CHAT and inquiry.number == state["inquiry"]
    assert inquiry.requester_email == "ichiro@example.jp"
    assert session.outcome == ChatOutcome.HANDED_OFF
    kinds = list(inquiry.messages.order_by("created_at", "id").values_list("author_kind", "body"))
    assert [k for k, _ in kinds] == [AuthorKind.CUSTOMER, AuthorKind.BOT, AuthorKind.CUSTOMER, AuthorKind.BOT]
    assert kinds[0][1] == "予約をキャンセルしたい" and kinds[2][1] == "キャンセル料はかかりますか"
    times = [m.created_at.isoformat() for m in inquiry.messages.order_by("id")]
    assert times == [e["at"] for e in session.transcript[:4]]
    # A second click changes nothing.
    assert client.post(f"{SESSIONS}/{token}/handoff").json()["inquiry"] == inquiry.number
    assert inquiry.messages.count() == 4

    # From now on the visitor's lines are the inquiry's and an agent's reply reaches the widget's feed.
    last = state["entries"][-1]["seq"]
    mine = say(client, token, "急ぎでお願いします", after=last)["entries"]
    assert [(e["role"], e["text"]) for e in mine] == [("visitor", "急ぎでお願いします")]
    assert inquiry.messages.filter(author_kind=AuthorKind.CUSTOMER).count() == 3
    desk.reply(inquiry, AgentFactory(display_name="鈴木"), "キャンセル料はかかりません。")
    desk.reply(inquiry, AgentFactory(), "社内メモ", internal=True)
    feed = client.get(f"{SESSIONS}/{token}/messages?after={mine[-1]['seq']}").json()["entries"]
    assert [(e["role"], e["text"]) for e in feed] == [("agent", "キャンセル料はかかりません。")]
    assert feed[0]["seq"] > mine[-1]["seq"]


def test_idle_sessions_end_as_self_resolved_or_abandoned(client, article):
    answered = start(client)["token"]
    say(client, answered, "キャンセル")
    silent = start(client)["token"]
    handed = start(client)["token"]
    say(client, handed, "キャンセル")
    client.post(f"{SESSIONS}/{handed}/handoff")
    disliked = start(client)["token"]
    say(client, disliked, "キャンセル")
    kb.record_feedback(article, False, session=ChatSession.objects.get(token=disliked))

    later = timezone.now() + dt.timedelta(minutes=31)
    counts = chat.end_idle(later)
    assert counts == {"self_resolved": 1, "abandoned": 2, "handed_off": 1}
    outcome = dict(ChatSession.objects.values_list("token", "outcome"))
    assert outcome[answered] == "self_resolved" and outcome[silent] == "abandoned"
    assert outcome[handed] == "handed_off" and outcome[disliked] == "abandoned"
    assert chat.self_resolution_rate() == 0.25
    assert chat.end_idle(later) == {"self_resolved": 0, "abandoned": 0, "handed_off": 0}


def test_only_allowed_sites_may_use_the_widget(client):
    config = SupportSettings.load()
    config.widget_origins = "https://shop.example.jp\n"
    config.save()
    ok = client.post(SESSIONS, {}, content_type="application/json", headers={"Origin": "https://shop.example.jp"})
    assert ok.status_code == 201
    assert ok["Access-Control-Allow-Origin"] == "https://shop.example.jp"
    preflight = client.options(SESSIONS, headers={"Origin": "https://shop.example.jp"})
    assert preflight.status_code == 204 and "POST" in preflight["Access-Control-Allow-Methods"]
    refused = client.post(SESSIONS, {}, content_type="application/json", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403 and refused.json()["error"]["field"] == "origin"
    assert "Access-Control-Allow-Origin" not in refused


def test_bad_widget_input_names_the_field(client):
    bad = client.post(SESSIONS, {"email": "not-an-address"}, content_type="application/json")
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "visitor_email"
    token = start(client)["token"]
    empty = client.post(f"{SESSIONS}/{token}/messages", {"text": "  "}, content_type="application/json")
    assert empty.status_code == 422 and empty.json()["error"]["field"] == "text"
    assert client.get(f"{SESSIONS}/nope/messages").status_code == 404
    assert ChatSession.objects.get(token=token).transcript == []
