"""Chat sessions of the embeddable widget and the chatbot that answers first from the knowledge base.

A session starts with the bot: each visitor message is searched in the knowledge base
(`search.search(..., source="bot")`) and answered from the top article when its score reaches
SupportSettings.bot_min_score, else the bot says it found nothing and offers a person. "解決しました" ends the
session as self-resolved (crediting the article, with helpful feedback); "担当者と話す" hands it off: an
inquiry (channel chat) is opened through `desk.open_inquiry` carrying every visitor and bot turn over as
messages with their times, and from then on the visitor's lines go through `desk.add_customer_message` and
agents' replies reach the widget live (realtime).

Sessions idle for 30 minutes end (`end_idle`, a scheduler job): with a bot answer, no hand-off and no
negative feedback -> self_resolved; without any answer -> abandoned; handed-off sessions keep their outcome.

**Self-resolution rate** = sessions with outcome self_resolved / all ended sessions (ended_at set), over the
sessions that ended in the period; per article: sessions resolved_by_article / ended sessions it answered in.

The widget's feed: entries {"seq", "role" (visitor|bot|agent|system), "text", "at", "name", "article"}. Before
the hand-off they live in the session's transcript (seq = position + 1); the hand-off appends a system entry
recording the last carried-over message id, and later messages of the inquiry follow with
seq = len(transcript) + message id, so one increasing cursor serves polling and websockets alike.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import desk, realtime
from .models import (
    Article,
    ArticleFeedback,
    AuthorKind,
    Channel,
    ChatOutcome,
    ChatSession,
    Inquiry,
    Message,
    SupportSettings,
)

log = logging.getLogger(__name__)

IDLE_AFTER = dt.timedelta(minutes=30)
MAX_TEXT = 4000
ROLE_OF = {
    AuthorKind.CUSTOMER: "visitor",
    AuthorKind.BOT: "bot",
    AuthorKind.AGENT: "agent",
    AuthorKind.SYSTEM: "system",
}


class ChatError(desk.DeskError):
    pass


# Sessions and their feed ----------------------------------------------------------------------------------


def start_session(*, visitor_name: str = "", visitor_email: str = "", page_url: str = "") -> ChatSession:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    visitor_email = (visitor_email or "").strip()
    if visitor_email:
        try:
            validate_email(visitor_email)
        except ValidationError as exc:
            raise ChatError("visitor_email", _("Enter a valid email address.")) from exc
    now = timezone.now()
    return ChatSession.objects.create(
        visitor_name=(visitor_name or "").strip()[:200],
        visitor_email=visitor_email,
        page_url=(page_url or "")[:1000],
        started_at=now,
        last_activity_at=now,
    )


def session_by_token(token: str) -> ChatSession | None:
    return ChatSession.objects.select_related("inquiry").filter(token=token).first()


def session_of(inquiry: Inquiry) -> ChatSession | None:
    if inquiry.channel != Channel.CHAT:
        return None
    return ChatSession.objects.filter(inquiry=inquiry).first()


def _carried_until(session: ChatSession) -> int:
    for item in reversed(session.transcript):
        if "last_message" in item:
            return int(item["last_message"])
    return 0


def _transcript_entry(seq: int, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": seq,
        "role": item.get("role", "system"),
        "text": item.get("text", ""),
        "at": item.get("at", ""),
        "name": item.get("name", ""),
        "article": item.get("article_info"),
    }


def message_entry(session: ChatSession, message: Message) -> dict[str, Any] | None:
    """The widget's view of a message written after the hand-off (None for notes and carried-over turns)."""
    if message.internal or session.inquiry_id != message.inquiry_id or message.pk <= _carried_until(session):
        return None
    article = None
    if message.article_id:
        article = {"id": message.article_id}
    return {
        "seq": len(session.transcript) + message.pk,
        "role": ROLE_OF.get(AuthorKind(message.author_kind), "system"),
        "text": message.body,
        "at": message.created_at.isoformat(),
        "name": message.author_name if message.author_kind == AuthorKind.AGENT else "",
        "article": article,
    }


def feed(session: ChatSession, after: int = 0) -> list[dict[str, Any]]:
    """Every entry of the session's conversation with seq > after, in order."""
    entries = [_transcript_entry(i + 1, item) for i, item in enumerate(session.transcript) if i + 1 > after]
    if session.inquiry_id is not None:
        offset = len(session.transcript)
        messages = Message.objects.filter(
            inquiry_id=session.inquiry_id, internal=False, id__gt=max(_carried_until(session), after - offset)
        ).order_by("id")
        for message in messages:
            entry = message_entry(session, message)
            if entry is not None:
                entries.append(entry)
    return entries


# The bot ----------------------------------------------------------------------------------------------------


def _search(query: str) -> list[Any]:
    try:
        from .search import search
    except ImportError:  # the knowledge-base search not installed yet: the bot offers a person
        return []
    try:
        return list(search(query, limit=3, source="bot"))
    except Exception:  # a broken index must not lose the visitor's message
        log.exception("chatbot search failed")
        return []


def bot_answer(query: str, min_score: float) -> dict[str, Any]:
    """The bot's turn for a visitor's question (a transcript item)."""
    hits = _search(query)
    now = timezone.now().isoformat()
    if hits and float(hits[0].score) >= min_score:
        top = hits[0]
        return {
            "role": "bot",
            "text": _("This article may help: %(title)s") % {"title": top.title},
            "at": now,
            "article": top.article_id,
            "article_info": {
                "id": top.article_id,
                "title": top.title,
                "snippet": top.snippet,
                "url": top.url,
            },
        }
    return {
        "role": "bot",
        "text": _("Sorry, I could not find an answer. Would you like to talk to a person?"),
        "at": now,
        "article": None,
        "article_info": None,
    }


def _locked(session: ChatSession) -> ChatSession:
    return ChatSession.objects.select_for_update().get(pk=session.pk)


def _append(session: ChatSession, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    start = len(session.transcript)
    session.transcript = [*session.transcript, *items]
    return [_transcript_entry(start + i + 1, item) for i, item in enumerate(items)]


@transaction.atomic
def visitor_says(session: ChatSession, text: str) -> list[dict[str, Any]]:
    """A visitor's line: answered by the bot before the hand-off, added to the inquiry after it."""
    text = (text or "").strip()
    if not text:
        raise ChatError("text", _("The message is empty."))
    if len(text) > MAX_TEXT:
        raise ChatError("text", _("The message is too long (at most %(max)d characters).") % {"max": MAX_TEXT})
    session = _locked(session)
    if session.ended_at is not None and session.inquiry_id is None:
        raise ChatError("session", _("This chat has ended. Please start a new one."))
    now = timezone.now()
    session.last_activity_at = now
    if session.inquiry_id is not None:
        session.save(update_fields=["last_activity_at"])
        assert session.inquiry is not None
        message = desk.add_customer_message(session.inquiry, text, channel=Channel.CHAT, at=now)
        entry = message_entry(session, message)
        return [entry] if entry else []
    config = SupportSettings.load()
    visitor = {"role": "visitor", "text": text, "at": now.isoformat(), "name": session.visitor_name}
    if not config.bot_enabled:
        entries = _append(session, [visitor])
        session.save(update_fields=["transcript", "last_activity_at"])
        _hand_off_locked(session, now)
        return entries
    answer = bot_answer(text, config.bot_min_score)
    answer["name"] = config.bot_name
    entries = _append(session, [visitor, answer])
    session.save(update_fields=["transcript", "last_activity_at"])
    realtime.publish_widget(session.token, entries)
    return entries


def _answered_articles(session: ChatSession) -> list[int]:
    return [int(item["article"]) for item in session.transcript if item.get("role") == "bot" and item.get("article")]


@transaction.atomic
def resolve(session: ChatSession) -> ChatSession:
    """ "解決しました": the bot's last answer solved it (self-resolved, helpful feedback for that article)."""
    session = _locked(session)
    if session.inquiry_id is not None:
        raise ChatError("session", _("A person is already handling this chat."))
    if session.outcome == ChatOutcome.SELF_RESOLVED:
        return session
    now = timezone.now()
    articles = _answered_articles(session)
    session.outcome = ChatOutcome.SELF_RESOLVED
    session.ended_at = now
    session.last_activity_at = now
    if articles:
        article = Article.objects.filter(pk=articles[-1]).first()
        if article is not None:
            from .kb import record_feedback

            session.resolved_by_article = article
            record_feedback(article, True, session=session)
    entries = _append(session, [{"role": "system", "text": _("Glad it helped. Thank you!"), "at": now.isoformat()}])
    session.save(update_fields=["outcome", "ended_at", "last_activity_at", "resolved_by_article", "transcript"])
    realtime.publish_widget(session.token, entries, outcome=session.outcome)
    return session


def _match_requester(email: str) -> dict[str, Any]:
    from .channels_email import match_requester

    return match_requester(email)


def _hand_off_locked(session: ChatSession, now: dt.datetime) -> Inquiry:
    turns = [item for item in session.transcript if item.get("role") in ("visitor", "bot")]
    visitor_turns = [item for item in turns if item["role"] == "visitor"]
    first = visitor_turns[0] if visitor_turns else None
    config = SupportSettings.load()
    subject = (first["text"].splitlines()[0][:100] if first else "") or _("Chat inquiry")
    first_at = dt.datetime.fromisoformat(first["at"]) if first else now
    inquiry = desk.open_inquiry(
        channel=Channel.CHAT,
        subject=subject,
        body=first["text"] if first else _("The visitor asked to talk to a person."),
        requester_name=session.visitor_name,
        requester_email=session.visitor_email,
        team=config.default_team,
        at=first_at,
        **_match_requester(session.visitor_email),
    )
    last_id = inquiry.messages.order_by("-id").values_list("id", flat=True).first() or 0
    carried = turns[turns.index(first) + 1 :] if first else turns
    for item in carried:
        message = Message.objects.create(
            inquiry=inquiry,
            author_kind=AuthorKind.CUSTOMER if item["role"] == "visitor" else AuthorKind.BOT,
            author_name=session.visitor_name if item["role"] == "visitor" else config.bot_name,
            body=item["text"]
            + (f"\n{item['article_info']['title']}\n{item['article_info']['url']}" if item.get("article_info") else ""),
            channel=Channel.CHAT,
            created_at=dt.datetime.fromisoformat(item["at"]),
            article_id=item.get("article"),
        )
        last_id = message.pk
    if visitor_turns:
        Inquiry.objects.filter(pk=inquiry.pk).update(
            last_customer_message_at=dt.datetime.fromisoformat(visitor_turns[-1]["at"])
        )
    session.inquiry = inquiry
    session.outcome = ChatOutcome.HANDED_OFF
    session.handed_off_at = now
    session.last_activity_at = now
    entries = _append(
        session,
        [
            {
                "role": "system",
                "text": _("A person will answer shortly (inquiry #%(number)d).") % {"number": inquiry.number},
                "at": now.isoformat(),
                "last_message": last_id,
            }
        ],
    )
    session.save(update_fields=["inquiry", "outcome", "handed_off_at", "last_activity_at", "transcript"])
    realtime.publish_widget(session.token, entries, outcome=session.outcome, inquiry=inquiry.number)
    return inquiry


@transaction.atomic
def hand_off(session: ChatSession) -> Inquiry:
    """ "担当者と話す": open an inquiry carrying the whole conversation over (once; repeated clicks return it)."""
    session = _locked(session)
    if session.inquiry is not None:
        return session.inquiry
    if session.ended_at is not None:
        raise ChatError("session", _("This chat has ended. Please start a new one."))
    return _hand_off_locked(session, timezone.now())


# Ending idle sessions ---------------------------------------------------------------------------------------


@transaction.atomic
def end_idle(now: dt.datetime | None = None) -> dict[str, int]:
    """End sessions without activity for 30 minutes; returns how many ended per outcome."""
    now = now or timezone.now()
    counts = {ChatOutcome.SELF_RESOLVED.value: 0, ChatOutcome.ABANDONED.value: 0, ChatOutcome.HANDED_OFF.value: 0}
    idle = ChatSession.objects.select_for_update().filter(ended_at__isnull=True, last_activity_at__lt=now - IDLE_AFTER)
    disliked = set(ArticleFeedback.objects.filter(session__in=idle, helpful=False).values_list("session_id", flat=True))
    for session in idle:
        if session.inquiry_id is None:
            articles = _answered_articles(session)
            if articles and session.pk not in disliked:
                session.outcome = ChatOutcome.SELF_RESOLVED
                session.resolved_by_article_id = articles[-1]
            else:
                session.outcome = ChatOutcome.ABANDONED
        session.ended_at = now
        session.save(update_fields=["outcome", "ended_at", "resolved_by_article"])
        counts[session.outcome] += 1
    return counts


def self_resolution_rate(since: dt.datetime | None = None, until: dt.datetime | None = None) -> float | None:
    """Self-resolved / all ended sessions that ended in [since, until); None when none ended."""
    ended = ChatSession.objects.filter(ended_at__isnull=False)
    if since is not None:
        ended = ended.filter(ended_at__gte=since)
    if until is not None:
        ended = ended.filter(ended_at__lt=until)
    total = ended.count()
    if not total:
        return None
    return ended.filter(outcome=ChatOutcome.SELF_RESOLVED).count() / total


def _idle_job(now: dt.datetime) -> str | None:
    # A cheap bounded update, so the scheduler runs it itself instead of queueing a task.
    if not ChatSession.objects.filter(ended_at__isnull=True, last_activity_at__lt=now - IDLE_AFTER).exists():
        return None
    counts = end_idle(now)
    return "support chat: ended " + ", ".join(f"{k} {v}" for k, v in counts.items() if v)


def register() -> None:
    """From registry.REGISTRATIONS: the idle-session job, and the mail polling job of channels_email."""
    from banso.core.schedule import ScheduledJob, register_job

    from . import channels_email

    register_job(ScheduledJob("support.chat_idle", _idle_job))
    channels_email.register()


def allowed_origins(config: SupportSettings | None = None) -> list[str]:
    config = config or SupportSettings.load()
    return [line.strip().rstrip("/") for line in config.widget_origins.splitlines() if line.strip()]


def origin_allowed(origin: str, config: SupportSettings | None = None) -> bool:
    """Sites allowed to embed the widget (SupportSettings.widget_origins; empty = any)."""
    allowed = allowed_origins(config)
    return not allowed or (origin or "").rstrip("/") in allowed
