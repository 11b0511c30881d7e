"""Email into the desk: raw RFC 822 messages from the inbound webhook or IMAP polling become inquiries or
messages of the inquiry they answer.

Parsing uses the standard `email` package (policy.default), which decodes ISO-2022-JP, Shift_JIS/cp932 and
UTF-8 bodies and encoded-word headers; text/plain is preferred, else the HTML part turned into text. Quoted
history ("> " lines and everything from an "X wrote:" / "2026年11月26日(木) 10:00 ... のメッセージ:" line on)
is cut off. Threading: In-Reply-To/References matched to Message.email_message_id (inbound or the outbox's
id of our reply), else a "[#123]" token in the subject, else a new inquiry whose requester is matched to a
Contact or an EndUser by address. The same Message-ID twice is one message (idempotent).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import hashlib
import hmac
import logging
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.accounts.models import Contact, EndUser

from . import desk
from .models import Channel, Inquiry, Message, SupportSettings

log = logging.getLogger(__name__)

SUBJECT_NUMBER = re.compile(r"\[#(\d+)\]")
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# Reply headers mail clients put above the quoted history.
QUOTE_HEADERS = (
    re.compile(r"^On .{1,300} wrote:\s*$"),
    re.compile(r"^.{1,200} wrote:\s*$"),
    # Gmail: "2026年11月26日(木) 10:00 山田 <a@b>:"; others add "のメッセージ:" or "が書きました:".
    re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日.{0,200}[:：]\s*$"),
    re.compile(r"^\d{4}/\d{1,2}/\d{1,2}.{0,200}[:：]\s*$"),
    re.compile(r"^.{1,200}(?:さんは書きました|が書きました)[:：]\s*$"),
    re.compile(r"^-{2,}\s*Original Message\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^-{2,}\s*元のメッセージ\s*-{2,}\s*$"),
)


class InboundError(desk.DeskError):
    pass


@dataclass
class ParsedMail:
    message_id: str
    from_name: str
    from_email: str
    subject: str
    body: str
    references: list[str] = field(default_factory=list)
    sent_at: dt.datetime | None = None


# Parsing ----------------------------------------------------------------------------------------------------


def html_to_text(html: str) -> str:
    import lxml.html

    try:
        root = lxml.html.fromstring(html)
    except Exception:  # empty or broken markup
        return re.sub(r"<[^>]+>", "", html)
    for bad in root.xpath("//script|//style|//head"):
        bad.drop_tree()
    for br in root.xpath("//br"):
        br.tail = "\n" + (br.tail or "")
    for block in root.xpath("//p|//div|//li|//tr|//h1|//h2|//h3|//h4|//blockquote"):
        block.tail = "\n" + (block.tail or "")
    text = root.text_content()
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in text.splitlines())).strip()


def strip_quoted(text: str) -> str:
    """The new part of a reply: drop "> " lines and everything from a reply header line on."""
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        stripped = line.strip()
        if any(pattern.match(stripped) for pattern in QUOTE_HEADERS):
            break
        if stripped.startswith(">") or stripped.startswith("＞"):
            continue
        kept.append(line)
    return "\n".join(kept).strip()


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):  # unknown or lying charset: decode as cp932, the usual culprit
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("cp932", errors="replace") if isinstance(payload, bytes) else str(payload)
    if part.get_content_type() == "text/html":
        return html_to_text(content)
    return str(content)


def parse(raw: bytes) -> ParsedMail:
    if not raw or not raw.strip():
        raise InboundError("message", _("The email is empty."))
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    name, address = email.utils.parseaddr(str(message.get("From", "")))
    if not address or "@" not in address:
        raise InboundError("from", _("The email has no sender address."))
    message_id = str(message.get("Message-ID", "")).strip()
    if not message_id:
        # Without one, a digest of the bytes keeps redelivery idempotent.
        message_id = f"<{hashlib.sha256(raw).hexdigest()[:32]}@inbound.banso>"
    references = MESSAGE_ID.findall(f"{message.get('In-Reply-To', '')} {message.get('References', '')}")
    sent_at = None
    if message.get("Date"):
        try:
            sent_at = email.utils.parsedate_to_datetime(str(message["Date"]))
        except (TypeError, ValueError):
            sent_at = None
        if sent_at is not None and sent_at.tzinfo is None:
            sent_at = sent_at.replace(tzinfo=dt.UTC)
    return ParsedMail(
        message_id=message_id[:300],
        from_name=name,
        from_email=address.lower(),
        subject=str(message.get("Subject", "")).strip(),
        body=strip_quoted(_body_text(message)),
        references=references,
        sent_at=sent_at,
    )


# Into the desk ----------------------------------------------------------------------------------------------


def match_requester(address: str) -> dict[str, Any]:
    """The Contact (and its account) or EndUser with this email address, as open_inquiry keyword arguments."""
    if not address:
        return {}
    contact = Contact.objects.filter(email__iexact=address).select_related("account").first()
    if contact is not None:
        return {"contact": contact, "account": contact.account}
    end_user = EndUser.objects.filter(email__iexact=address).first()
    if end_user is not None:
        return {"end_user": end_user}
    return {}


def find_thread(mail: ParsedMail) -> Inquiry | None:
    if mail.references:
        known = (
            Message.objects.filter(email_message_id__in=mail.references)
            .select_related("inquiry")
            .order_by("-id")
            .first()
        )
        if known is not None:
            return _survivor(known.inquiry)
    found = SUBJECT_NUMBER.search(mail.subject)
    if found:
        inquiry = Inquiry.objects.filter(number=int(found.group(1))).first()
        if inquiry is not None:
            return _survivor(inquiry)
    return None


def _survivor(inquiry: Inquiry) -> Inquiry:
    seen = {inquiry.pk}
    while inquiry.merged_into_id is not None and inquiry.merged_into_id not in seen:
        seen.add(inquiry.merged_into_id)
        assert inquiry.merged_into is not None
        inquiry = inquiry.merged_into
    return inquiry


@dataclass
class Received:
    message: Message
    created: bool  # False: this Message-ID was already in the desk
    new_inquiry: bool


@transaction.atomic
def receive(raw: bytes) -> Received:
    """One inbound email into the desk (idempotent by Message-ID)."""
    mail = parse(raw)
    existing = Message.objects.filter(email_message_id=mail.message_id).first()
    if existing is not None:
        return Received(existing, created=False, new_inquiry=False)
    body = mail.body or mail.subject
    if not body.strip():
        raise InboundError("body", _("The email has no text."))
    at = min(mail.sent_at, timezone.now()) if mail.sent_at else timezone.now()
    thread = find_thread(mail)
    if thread is not None:
        message = desk.add_customer_message(
            thread, body, channel=Channel.EMAIL, at=max(at, thread.created_at), email_message_id=mail.message_id
        )
        return Received(message, created=True, new_inquiry=False)
    config = SupportSettings.load()
    inquiry = desk.open_inquiry(
        channel=Channel.EMAIL,
        subject=SUBJECT_NUMBER.sub("", mail.subject).strip() or body.splitlines()[0][:100],
        body=body,
        requester_name=mail.from_name,
        requester_email=mail.from_email,
        team=config.default_team,
        at=at,
        email_message_id=mail.message_id,
        **match_requester(mail.from_email),
    )
    first = inquiry.messages.order_by("id").first()
    assert first is not None
    return Received(first, created=True, new_inquiry=True)


def signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, given: str, secret: str) -> bool:
    if not secret or not given:
        return False
    given = given.strip()
    if given.startswith("sha256="):
        given = given[len("sha256=") :]
    return hmac.compare_digest(signature(body, secret), given.lower())


# IMAP polling -----------------------------------------------------------------------------------------------


def poll_imap(config: SupportSettings | None = None, *, limit: int = 100) -> dict[str, int]:
    """Fetch unseen messages, take each into the desk, and flag it seen only after its transaction commits
    (a crash in between means it is fetched again, and the Message-ID makes that harmless)."""
    from imap_tools import AND, MailBox, MailBoxUnencrypted, MailMessageFlags

    config = config or SupportSettings.load()
    if not config.imap_host:
        return {"fetched": 0, "created": 0, "failed": 0}
    box_class = MailBox if config.imap_ssl else MailBoxUnencrypted
    counts = {"fetched": 0, "created": 0, "failed": 0}
    with box_class(config.imap_host, port=config.imap_port).login(
        config.imap_user, config.imap_password, initial_folder=config.imap_folder or "INBOX"
    ) as box:
        for msg in box.fetch(AND(seen=False), mark_seen=False, limit=limit, bulk=True):
            counts["fetched"] += 1
            try:
                received = receive(msg.obj.as_bytes())
            except desk.DeskError:
                log.warning("inbound mail uid %s refused", msg.uid, exc_info=True)
                counts["failed"] += 1
            else:
                counts["created"] += int(received.created)
            # Committed (or refused for good): do not fetch it again.
            if msg.uid:
                box.flag([msg.uid], MailMessageFlags.SEEN, True)
    return counts


def _imap_job(now: dt.datetime) -> str | None:
    from banso.core.schedule import enqueue_unless_pending

    from .chat_tasks import poll_mailbox

    if not SupportSettings.objects.exclude(imap_host="").exists():
        return None
    if not enqueue_unless_pending(poll_mailbox, now, stale_after=dt.timedelta(minutes=10)):
        return None
    return "support mail: IMAP poll queued"


def register() -> None:
    from banso.core.schedule import ScheduledJob, register_job

    register_job(ScheduledJob("support.imap", _imap_job))
