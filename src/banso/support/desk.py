"""Inquiries and their messages: the one path every channel (chat, email, web form, API, agents) goes through.

Every change here is one transaction and tells the other parts of the desk what happened, in this order:
the SLA clock (`sla`), the type classifier (`classify`, on arrival), activity events for health and playbook
triggers (`inquiry_opened` / `inquiry_resolved` on the linked account or end user), delivery of agent replies
to the customer's channel (`delivery`), and live updates to open inboxes and widgets (`realtime`, after
commit).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.accounts.models import Account, Contact, EndUser
from banso.activity.models import Event
from banso.core.models import Team, User

from . import classify, delivery, realtime, sla
from .models import AuthorKind, Channel, Inquiry, Message, Priority, Status, StatusCategory

SOURCE = "support"

# The statuses a new workspace starts with (key, Japanese name, meaning, pauses SLA). Created by
# migration 0002 and by `ensure_default_statuses()`; teams add their own on the settings page.
DEFAULT_STATUSES: tuple[tuple[str, str, str, bool], ...] = (
    ("new", "新規", StatusCategory.NEW, False),
    ("open", "対応中", StatusCategory.OPEN, False),
    ("waiting_customer", "お客様回答待ち", StatusCategory.PENDING, True),
    ("on_hold", "保留（社内確認中）", StatusCategory.PENDING, False),
    ("solved", "解決済み", StatusCategory.SOLVED, True),
    ("closed", "クローズ", StatusCategory.CLOSED, True),
)


class DeskError(Exception):
    """Refused input; `field` names what was wrong (API: 422 with it, forms: the field's error)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def ensure_default_statuses() -> None:
    for position, (key, name, category, pauses) in enumerate(DEFAULT_STATUSES):
        Status.objects.get_or_create(
            key=key, defaults={"name": name, "category": category, "pauses_sla": pauses, "position": position * 10}
        )


def status(key: str) -> Status:
    try:
        return Status.objects.get(key=key)
    except Status.DoesNotExist:
        ensure_default_statuses()
        return Status.objects.get(key=key)


def next_number() -> int:
    """The next inquiry number; called inside the creating transaction (a unique index catches a race)."""
    return (Inquiry.objects.aggregate(top=Max("number"))["top"] or 0) + 1


def _event(inquiry: Inquiry, kind: str, at: dt.datetime) -> None:
    if inquiry.account_id is None and inquiry.end_user_id is None:
        return
    Event.objects.get_or_create(
        source=SOURCE,
        external_id=f"inquiry-{inquiry.pk}-{kind}-{at:%Y%m%d%H%M%S}",
        defaults={
            "account_id": inquiry.account_id,
            "end_user_id": inquiry.end_user_id,
            "kind": kind,
            "occurred_at": at,
            "properties": {"inquiry": inquiry.number, "channel": inquiry.channel},
        },
    )


@transaction.atomic
def open_inquiry(
    *,
    channel: str,
    subject: str,
    body: str,
    requester_name: str = "",
    requester_email: str = "",
    priority: str = Priority.NORMAL,
    team: Team | None = None,
    account: Account | None = None,
    contact: Contact | None = None,
    end_user: EndUser | None = None,
    at: dt.datetime | None = None,
    email_message_id: str = "",
    author_kind: str = AuthorKind.CUSTOMER,
    author: User | None = None,
) -> Inquiry:
    """A new inquiry with its first message (from the customer unless an agent logs it for them)."""
    at = at or timezone.now()
    if channel not in Channel.values:
        raise DeskError("channel", _("Unknown channel: %(value)s") % {"value": channel})
    if priority not in Priority.values:
        raise DeskError("priority", _("Unknown priority: %(value)s") % {"value": priority})
    body = (body or "").strip()
    if not body:
        raise DeskError("body", _("The inquiry has no text."))
    subject = (subject or "").strip() or body.splitlines()[0][:100]
    inquiry = Inquiry.objects.create(
        number=next_number(),
        subject=subject[:300],
        channel=channel,
        status=status("new"),
        priority=priority,
        team=team,
        requester_name=requester_name[:200],
        requester_email=requester_email,
        account=account or (contact.account if contact else None),
        contact=contact,
        end_user=end_user,
        created_at=at,
        updated_at=at,
        last_customer_message_at=at if author_kind == AuthorKind.CUSTOMER else None,
    )
    Message.objects.create(
        inquiry=inquiry,
        author_kind=author_kind,
        author=author,
        author_name=requester_name if author_kind == AuthorKind.CUSTOMER else (str(author) if author else ""),
        body=body,
        channel=channel,
        created_at=at,
        email_message_id=email_message_id,
    )
    sla.start(inquiry, at)
    classify.suggest(inquiry)
    _event(inquiry, "inquiry_opened", at)
    realtime.publish(inquiry, "inquiry_opened")
    return inquiry


@transaction.atomic
def add_customer_message(
    inquiry: Inquiry,
    body: str,
    *,
    channel: str | None = None,
    at: dt.datetime | None = None,
    email_message_id: str = "",
) -> Message:
    """The customer wrote again (chat line, email reply, form follow-up). A solved inquiry reopens."""
    at = at or timezone.now()
    if not body.strip():
        raise DeskError("body", _("The message is empty."))
    inquiry = Inquiry.objects.select_for_update().get(pk=inquiry.pk)
    message = Message.objects.create(
        inquiry=inquiry,
        author_kind=AuthorKind.CUSTOMER,
        author_name=inquiry.requester_name,
        body=body,
        channel=channel or inquiry.channel,
        created_at=at,
        email_message_id=email_message_id,
    )
    inquiry.last_customer_message_at = at
    inquiry.updated_at = at
    old = inquiry.status
    if old.category != StatusCategory.NEW and old.key != "open":
        inquiry.status = status("open")
    inquiry.save(update_fields=["last_customer_message_at", "updated_at", "status"])
    if inquiry.status != old:
        sla.status_changed(inquiry, old, inquiry.status, at)
    sla.customer_message(inquiry, at)
    realtime.publish(inquiry, "message", message)
    return message


@transaction.atomic
def reply(
    inquiry: Inquiry,
    agent: User,
    body: str,
    *,
    internal: bool = False,
    new_status: Status | None = None,
    at: dt.datetime | None = None,
) -> Message:
    """An agent's reply (delivered to the customer on the inquiry's channel) or internal note (kept inside)."""
    at = at or timezone.now()
    if not body.strip():
        raise DeskError("body", _("The message is empty."))
    inquiry = Inquiry.objects.select_for_update().get(pk=inquiry.pk)
    message = Message.objects.create(
        inquiry=inquiry,
        author_kind=AuthorKind.AGENT,
        author=agent,
        author_name=str(agent),
        body=body,
        internal=internal,
        channel=inquiry.channel,
        created_at=at,
    )
    inquiry.updated_at = at
    fields = ["updated_at"]
    if not internal:
        inquiry.last_agent_message_at = at
        fields.append("last_agent_message_at")
        if inquiry.first_responded_at is None:
            inquiry.first_responded_at = at
            fields.append("first_responded_at")
        if inquiry.assignee_id is None:
            inquiry.assignee = agent
            fields.append("assignee")
    inquiry.save(update_fields=fields)
    if not internal:
        sla.agent_reply(inquiry, at)
        delivery.deliver_reply(message)
    target = new_status or (status("open") if not internal and inquiry.status.category == StatusCategory.NEW else None)
    if target is not None and target != inquiry.status:
        set_status(inquiry, target, actor=agent, at=at)
    realtime.publish(inquiry, "message", message)
    return message


@transaction.atomic
def set_status(inquiry: Inquiry, new: Status, *, actor: User | None = None, at: dt.datetime | None = None) -> Inquiry:
    at = at or timezone.now()
    old = inquiry.status
    if old == new:
        return inquiry
    inquiry.status = new
    inquiry.updated_at = at
    fields = ["status", "updated_at"]
    if new.category == StatusCategory.SOLVED and inquiry.solved_at is None:
        inquiry.solved_at = at
        fields.append("solved_at")
    elif new.category not in (StatusCategory.SOLVED, StatusCategory.CLOSED) and inquiry.solved_at is not None:
        inquiry.solved_at = None  # reopened
        fields.append("solved_at")
    inquiry.save(update_fields=fields)
    sla.status_changed(inquiry, old, new, at)
    if new.category == StatusCategory.SOLVED and old.category not in (StatusCategory.SOLVED, StatusCategory.CLOSED):
        _event(inquiry, "inquiry_resolved", at)
    realtime.publish(inquiry, "status")
    return inquiry
