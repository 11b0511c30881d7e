"""Inquiries and their messages: the one path every channel (chat, email, web form, API, agents) goes through.

Every change here is one transaction and tells the other parts of the desk what happened, in this order:
the SLA clock (`sla`), the type classifier (`classify`, on arrival), activity events for health and playbook
triggers (`inquiry_opened` / `inquiry_resolved` on the linked account or end user), delivery of agent replies
to the customer's channel (`delivery`), and live updates to open inboxes and widgets (`realtime`, after
commit).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.accounts.models import Account, Contact, EndUser
from banso.activity.models import Event
from banso.core.choices import AuditAction
from banso.core.models import Team, User
from banso.core.permissions import Capability, has_capability
from banso.core.services import record_change
from banso.marketplace.models import Booking

from . import classify, delivery, realtime, sla
from .models import (
    AuthorKind,
    Channel,
    Inquiry,
    Message,
    Priority,
    Status,
    StatusCategory,
    Tag,
    TeamRequest,
    TeamRequestStatus,
    TeamSettings,
)

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


def _create_numbered(fields: dict[str, Any], attempts: int = 20) -> Inquiry:
    """Create the inquiry with the next number; when another transaction took that number meanwhile (the
    unique index refuses it once the other commits), try again with the number after it."""
    for attempt in range(attempts):
        try:
            with transaction.atomic():
                return Inquiry.objects.create(number=next_number(), **fields)
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


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
    fields = {
        "subject": subject[:300],
        "channel": channel,
        "status": status("new"),
        "priority": priority,
        "team": team,
        "requester_name": requester_name[:200],
        "requester_email": requester_email,
        "account": account or (contact.account if contact else None),
        "contact": contact,
        "end_user": end_user,
        "created_at": at,
        "updated_at": at,
        "last_customer_message_at": at if author_kind == AuthorKind.CUSTOMER else None,
        "assignee": author if author_kind == AuthorKind.AGENT else None,
    }
    inquiry = _create_numbered(fields)
    if team is not None and inquiry.assignee_id is None:
        inquiry.assignee = next_round_robin(team)
        if inquiry.assignee is not None:
            inquiry.save(update_fields=["assignee"])
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


# Assignment --------------------------------------------------------------------------------------------------


def can_work(user: User) -> bool:
    return user.is_active and has_capability(user, Capability.WORK_INQUIRIES)


def agents() -> QuerySet[User]:
    """Active users whose role works inquiries (who an inquiry can be assigned to)."""
    from banso.core.permissions import ROLE_CAPABILITIES

    roles = [role for role, caps in ROLE_CAPABILITIES.items() if Capability.WORK_INQUIRIES in caps]
    return User.objects.filter(is_active=True, role__in=roles).order_by("display_name", "username")


def next_round_robin(team: Team) -> User | None:
    """The team member after the one who got the last inquiry (active members who work inquiries, in id
    order), or None when the team does not assign round-robin. Locks the team's settings row so two
    inquiries arriving together go to two different people."""
    settings = TeamSettings.objects.select_for_update().filter(team=team).first()
    if settings is None or not settings.round_robin:
        return None
    members = [user for user in team.members.filter(is_active=True).order_by("id") if can_work(user)]
    if not members:
        return None
    chosen = members[0]
    if settings.last_assigned_id is not None:
        later = [user for user in members if user.pk > settings.last_assigned_id]
        chosen = later[0] if later else members[0]
    settings.last_assigned = chosen
    settings.save(update_fields=["last_assigned"])
    return chosen


_KEEP: Any = object()


def _locked(inquiry: Inquiry) -> Inquiry:
    return Inquiry.objects.select_for_update().select_related("status").get(pk=inquiry.pk)


def _audit(actor: User | None, inquiry: Inquiry, before: dict[str, Any], after: dict[str, Any], via: str) -> None:
    record_change(
        actor=actor,
        obj=inquiry,
        action=AuditAction.UPDATE,
        before=before,
        after=after,
        account_id=inquiry.account_id,
        via=via,
    )


def _note(inquiry: Inquiry, body: str, at: dt.datetime, author: User | None = None) -> Message:
    """A system line in the thread (internal: the customer never sees it)."""
    return Message.objects.create(
        inquiry=inquiry,
        author_kind=AuthorKind.SYSTEM if author is None else AuthorKind.AGENT,
        author=author,
        author_name=str(author) if author else "",
        body=body,
        internal=True,
        channel=inquiry.channel,
        created_at=at,
    )


@transaction.atomic
def assign(
    inquiry: Inquiry,
    *,
    assignee: User | None = _KEEP,
    team: Team | None = _KEEP,
    actor: User | None = None,
    at: dt.datetime | None = None,
    via: str = "ui",
) -> Inquiry:
    """Give the inquiry to a person and/or a team (None clears). A new team without a person named assigns
    round-robin when the team does."""
    at = at or timezone.now()
    inquiry = _locked(inquiry)
    before = {"assignee": inquiry.assignee_id, "team": inquiry.team_id}
    if assignee is not _KEEP and assignee is not None and not can_work(assignee):
        raise DeskError("assignee", _("%(name)s cannot work inquiries.") % {"name": assignee})
    if team is not _KEEP:
        inquiry.team = team
        if assignee is _KEEP and team is not None and team.pk != before["team"]:
            chosen = next_round_robin(team)
            if chosen is not None:
                assignee = chosen
    if assignee is not _KEEP:
        inquiry.assignee = assignee
    after = {"assignee": inquiry.assignee_id, "team": inquiry.team_id}
    if after == before:
        return inquiry
    inquiry.updated_at = at
    inquiry.save(update_fields=["assignee", "team", "updated_at"])
    _audit(actor, inquiry, before, after, via)
    realtime.publish(inquiry, "assigned")
    return inquiry


@transaction.atomic
def set_priority(
    inquiry: Inquiry, priority: str, *, actor: User | None = None, at: dt.datetime | None = None, via: str = "ui"
) -> Inquiry:
    at = at or timezone.now()
    if priority not in Priority.values:
        raise DeskError("priority", _("Unknown priority: %(value)s") % {"value": priority})
    inquiry = _locked(inquiry)
    if inquiry.priority == priority:
        return inquiry
    before = {"priority": inquiry.priority}
    inquiry.priority = priority
    inquiry.updated_at = at
    inquiry.save(update_fields=["priority", "updated_at"])
    sla.priority_changed(inquiry, at)
    _audit(actor, inquiry, before, {"priority": priority}, via)
    realtime.publish(inquiry, "priority")
    return inquiry


def _tag_names(names: Iterable[str] | str) -> list[str]:
    if isinstance(names, str):
        names = names.replace("、", ",").split(",")
    clean = []
    for name in names:
        name = name.strip()
        if not name:
            continue
        if len(name) > 50:
            raise DeskError("tags", _("A tag is at most 50 characters: %(value)s") % {"value": name})
        if name not in clean:
            clean.append(name)
    return clean


@transaction.atomic
def change_tags(
    inquiry: Inquiry,
    *,
    add: Iterable[str] | str = (),
    remove: Iterable[str] | str = (),
    actor: User | None = None,
    at: dt.datetime | None = None,
    via: str = "ui",
) -> list[str]:
    """Add and remove tags by name (new names create tags); returns the inquiry's tags."""
    at = at or timezone.now()
    inquiry = _locked(inquiry)
    before = sorted(inquiry.tags.values_list("name", flat=True))
    adding = _tag_names(list(add) if not isinstance(add, str) else add)
    removing = _tag_names(list(remove) if not isinstance(remove, str) else remove)
    for name in adding:
        inquiry.tags.add(Tag.objects.get_or_create(name=name)[0])
    if removing:
        inquiry.tags.remove(*Tag.objects.filter(name__in=removing))
    after = sorted(inquiry.tags.values_list("name", flat=True))
    if after != before:
        inquiry.updated_at = at
        inquiry.save(update_fields=["updated_at"])
        _audit(actor, inquiry, {"tags": ", ".join(before)}, {"tags": ", ".join(after)}, via)
        realtime.publish(inquiry, "tags")
    return after


@transaction.atomic
def link(
    inquiry: Inquiry,
    *,
    account: Account | None = _KEEP,
    contact: Contact | None = _KEEP,
    end_user: EndUser | None = _KEEP,
    booking: Booking | None = _KEEP,
    actor: User | None = None,
    at: dt.datetime | None = None,
    via: str = "ui",
) -> Inquiry:
    """Link the inquiry to who and what it is about. A contact brings its account; a contact or end user of
    another account than the one linked is refused."""
    at = at or timezone.now()
    inquiry = _locked(inquiry)
    names = ("account", "contact", "end_user", "booking")
    before = {f"{name}": getattr(inquiry, f"{name}_id") for name in names}
    if account is not _KEEP:
        inquiry.account = account
    if contact is not _KEEP:
        inquiry.contact = contact
        if contact is not None and account is _KEEP:
            inquiry.account = contact.account
    if end_user is not _KEEP:
        inquiry.end_user = end_user
    if booking is not _KEEP:
        inquiry.booking = booking
        if booking is not None and end_user is _KEEP and inquiry.end_user_id is None:
            inquiry.end_user_id = booking.end_user_id
    if inquiry.contact is not None and inquiry.account_id not in (None, inquiry.contact.account_id):
        raise DeskError("contact", _("The contact %(name)s belongs to another account.") % {"name": inquiry.contact})
    eu = inquiry.end_user
    if eu is not None and eu.account_id and inquiry.account_id and eu.account_id != inquiry.account_id:
        raise DeskError("end_user", _("The end user %(name)s belongs to another account.") % {"name": eu})
    if (
        inquiry.booking is not None
        and inquiry.end_user_id
        and inquiry.booking.end_user_id
        not in (
            None,
            inquiry.end_user_id,
        )
    ):
        raise DeskError("booking", _("The booking is not this end user's."))
    after = {name: getattr(inquiry, f"{name}_id") for name in names}
    if after == before:
        return inquiry
    inquiry.updated_at = at
    inquiry.save(update_fields=[*names, "updated_at"])
    _audit(actor, inquiry, before, after, via)
    realtime.publish(inquiry, "linked")
    return inquiry


def log_phone_inquiry(
    agent: User,
    *,
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
) -> Inquiry:
    """An inquiry the agent took on the phone: the agent writes the first message and owns the inquiry."""
    return open_inquiry(
        channel=Channel.PHONE,
        subject=subject,
        body=body,
        requester_name=requester_name,
        requester_email=requester_email,
        priority=priority,
        team=team,
        account=account,
        contact=contact,
        end_user=end_user,
        at=at,
        author_kind=AuthorKind.AGENT,
        author=agent,
    )


# Merge -------------------------------------------------------------------------------------------------------


@transaction.atomic
def merge(
    duplicate: Inquiry, into: Inquiry, *, actor: User | None = None, at: dt.datetime | None = None, via: str = "ui"
) -> Inquiry:
    """Merge `duplicate` into `into`: its messages move over (keeping their times), tags are joined, the
    survivor keeps the earlier received time, both threads get a note, and the duplicate is closed and points
    at the survivor. Returns the survivor."""
    at = at or timezone.now()
    if duplicate.pk == into.pk:
        raise DeskError("into", _("An inquiry cannot be merged into itself."))
    first, second = sorted([duplicate.pk, into.pk])
    locked = {i.pk: i for i in Inquiry.objects.select_for_update().filter(pk__in=[first, second]).order_by("pk")}
    duplicate, into = locked[duplicate.pk], locked[into.pk]
    if into.merged_into_id is not None:
        raise DeskError("into", _("#%(number)s was itself merged into another inquiry.") % {"number": into.number})
    if duplicate.merged_into_id is not None:
        raise DeskError("number", _("#%(number)s is already merged.") % {"number": duplicate.number})
    if duplicate.merged.exists():
        raise DeskError(
            "number",
            _("Other inquiries were merged into #%(number)s; merge into it instead.") % {"number": duplicate.number},
        )
    moved = Message.objects.filter(inquiry=duplicate).update(inquiry=into)
    TeamRequest.objects.filter(inquiry=duplicate).update(inquiry=into)
    into.tags.add(*duplicate.tags.all())
    fields = ["updated_at"]
    if duplicate.created_at < into.created_at:
        into.created_at = duplicate.created_at
        fields.append("created_at")
    for name in ("account", "contact", "end_user", "booking"):
        if getattr(into, f"{name}_id") is None and getattr(duplicate, f"{name}_id") is not None:
            setattr(into, f"{name}_id", getattr(duplicate, f"{name}_id"))
            fields.append(name)
    if duplicate.last_customer_message_at and (
        into.last_customer_message_at is None or duplicate.last_customer_message_at > into.last_customer_message_at
    ):
        into.last_customer_message_at = duplicate.last_customer_message_at
        fields.append("last_customer_message_at")
    into.updated_at = at
    into.save(update_fields=fields)
    who = str(actor) if actor else ""
    _note(
        into,
        _("#%(number)s (%(subject)s) was merged into this inquiry by %(who)s; %(count)s messages moved.")
        % {"number": duplicate.number, "subject": duplicate.subject, "who": who, "count": moved},
        at,
    )
    _note(duplicate, _("Merged into #%(number)s by %(who)s.") % {"number": into.number, "who": who}, at)
    old = duplicate.status
    duplicate.merged_into = into
    duplicate.status = status("closed")
    duplicate.updated_at = at
    duplicate.save(update_fields=["merged_into", "status", "updated_at"])
    if old != duplicate.status:
        sla.status_changed(duplicate, old, duplicate.status, at)
    record_change(
        actor=actor,
        obj=duplicate,
        action=AuditAction.UPDATE,
        before={"merged_into": None, "status": old.key},
        after={"merged_into": into.number, "status": duplicate.status.key},
        account_id=duplicate.account_id,
        via=via,
    )
    realtime.publish(duplicate, "merged", into)
    realtime.publish(into, "merged", duplicate)
    return into


# Requests to other teams -----------------------------------------------------------------------------------


@transaction.atomic
def request_team(
    inquiry: Inquiry,
    *,
    question: str,
    to_team: Team | None = None,
    to_name: str = "",
    due_at: dt.datetime | None = None,
    actor: User | None = None,
    at: dt.datetime | None = None,
) -> TeamRequest:
    """Ask another team (a desk team, or one outside the desk by name) about the inquiry."""
    at = at or timezone.now()
    question = (question or "").strip()
    to_name = (to_name or "").strip()
    if not question:
        raise DeskError("question", _("Write the question for the other team."))
    if to_team is None and not to_name:
        raise DeskError("to_team", _("Choose the team to ask, or name it."))
    if due_at is not None and due_at <= at:
        raise DeskError("due_at", _("The answer due time must be in the future."))
    request = TeamRequest.objects.create(
        inquiry=inquiry,
        to_team=to_team,
        to_name=to_name[:100],
        question=question,
        requested_by=actor,
        requested_at=at,
        due_at=due_at,
    )
    _note(inquiry, _("Asked %(team)s: %(question)s") % {"team": to_team or to_name, "question": question}, at, actor)
    Inquiry.objects.filter(pk=inquiry.pk).update(updated_at=at)
    realtime.publish(inquiry, "team_request", request)
    return request


def _open_request(request: TeamRequest) -> TeamRequest:
    request = TeamRequest.objects.select_for_update().select_related("inquiry").get(pk=request.pk)
    if request.status != TeamRequestStatus.OPEN:
        raise DeskError("status", _("This request is no longer waiting for an answer."))
    return request


@transaction.atomic
def answer_request(
    request: TeamRequest, answer: str, *, actor: User | None = None, at: dt.datetime | None = None
) -> TeamRequest:
    """The other team answered: the answer goes into the thread as an internal note."""
    at = at or timezone.now()
    answer = (answer or "").strip()
    if not answer:
        raise DeskError("answer", _("The answer is empty."))
    request = _open_request(request)
    request.status = TeamRequestStatus.ANSWERED
    request.answer = answer
    request.answered_by = actor
    request.answered_at = at
    request.save(update_fields=["status", "answer", "answered_by", "answered_at"])
    who = request.to_team or request.to_name
    _note(request.inquiry, _("Answer from %(team)s: %(answer)s") % {"team": who, "answer": answer}, at, actor)
    Inquiry.objects.filter(pk=request.inquiry_id).update(updated_at=at)
    realtime.publish(request.inquiry, "team_request", request)
    return request


@transaction.atomic
def cancel_request(request: TeamRequest, *, actor: User | None = None, at: dt.datetime | None = None) -> TeamRequest:
    at = at or timezone.now()
    request = _open_request(request)
    request.status = TeamRequestStatus.CANCELLED
    request.save(update_fields=["status"])
    realtime.publish(request.inquiry, "team_request", request)
    return request


def open_requests(team: Team | None = None) -> QuerySet[TeamRequest]:
    """Requests still waiting for an answer, the earliest due first (to one team when given)."""
    requests = TeamRequest.objects.filter(status=TeamRequestStatus.OPEN).select_related("inquiry", "to_team")
    if team is not None:
        requests = requests.filter(to_team=team)
    return requests.order_by("due_at", "requested_at")


def waiting_on_teams_q() -> Q:
    """Inquiries with a request to another team still open."""
    return Q(team_requests__status=TeamRequestStatus.OPEN)


# Finding inquiries (the inbox, the API, the CLI export) ---------------------------------------------------------

INBOX_VIEWS = ("mine", "unassigned", "team", "open", "waiting", "about_to_breach", "breached", "solved", "all")
PAGE_SIZE = 30


def _status_ids(*categories: str) -> list[int]:
    return list(Status.objects.filter(category__in=categories).values_list("pk", flat=True))


def _open_status_ids() -> list[int]:
    return _status_ids(StatusCategory.NEW, StatusCategory.OPEN, StatusCategory.PENDING)


def _int(params: Any, name: str) -> int | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise DeskError(
            name, _("%(name)s must be a number (%(value)s given).") % {"name": name, "value": value}
        ) from None


def _date(params: Any, name: str) -> dt.date | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise DeskError(name, _("Give the date as YYYY-MM-DD (%(value)s given).") % {"value": value}) from None


def _tokyo_midnight(day: dt.date) -> dt.datetime:
    from banso.core.business_hours import TOKYO

    return dt.datetime.combine(day, dt.time(), tzinfo=TOKYO)


def filter_inquiries(user: User | None, params: Any, *, now: dt.datetime | None = None) -> QuerySet[Inquiry]:
    """Inquiries for one inbox view and its filters (a QueryDict or dict of strings):
    view (INBOX_VIEWS), status (key), priority, channel, team (id), assignee (id, "me" or "none"), tag (name),
    type (InquiryType id), category (id), q (subject, requester name or email, or #number), from / to
    (received, YYYY-MM-DD, Tokyo days). Unordered; merged duplicates are left out. DeskError names a bad
    parameter."""
    now = now or timezone.now()
    view = params.get("view") or "open"
    if view not in INBOX_VIEWS:
        raise DeskError("view", _("Unknown view: %(value)s") % {"value": view})
    inquiries = Inquiry.objects.filter(merged_into__isnull=True)
    status_key = (params.get("status") or "").strip()
    if view == "solved":
        inquiries = inquiries.filter(status_id__in=_status_ids(StatusCategory.SOLVED, StatusCategory.CLOSED))
    elif view != "all" and not status_key:
        inquiries = inquiries.filter(status_id__in=_open_status_ids())
    if view == "mine":
        inquiries = inquiries.filter(assignee_id=user.pk if user else None)
    elif view == "unassigned":
        inquiries = inquiries.filter(assignee__isnull=True)
    elif view == "team":
        team_ids = list(user.teams.values_list("pk", flat=True)) if user else []
        inquiries = inquiries.filter(team_id__in=team_ids)
    elif view == "waiting":
        inquiries = inquiries.filter(
            Exists(TeamRequest.objects.filter(inquiry_id=OuterRef("pk"), status=TeamRequestStatus.OPEN))
        )
    elif view in ("about_to_breach", "breached"):
        builder = getattr(sla, "about_to_breach_q" if view == "about_to_breach" else "breached_q", None)
        if builder is not None:
            inquiries = inquiries.filter(builder(now))
        elif view == "breached":
            inquiries = inquiries.filter(sla_next_due_at__lt=now)
        else:
            inquiries = inquiries.filter(sla_next_due_at__gte=now, sla_next_due_at__lt=now + dt.timedelta(hours=1))
    if status_key:
        found = Status.objects.filter(key=status_key).values_list("pk", flat=True).first()
        if found is None:
            raise DeskError("status", _("Unknown status: %(value)s") % {"value": status_key})
        inquiries = inquiries.filter(status_id=found)
    priority = (params.get("priority") or "").strip()
    if priority:
        if priority not in Priority.values:
            raise DeskError("priority", _("Unknown priority: %(value)s") % {"value": priority})
        inquiries = inquiries.filter(priority=priority)
    channel = (params.get("channel") or "").strip()
    if channel:
        if channel not in Channel.values:
            raise DeskError("channel", _("Unknown channel: %(value)s") % {"value": channel})
        inquiries = inquiries.filter(channel=channel)
    assignee = (params.get("assignee") or "").strip()
    if assignee == "none":
        inquiries = inquiries.filter(assignee__isnull=True)
    elif assignee == "me":
        inquiries = inquiries.filter(assignee_id=user.pk if user else None)
    elif assignee:
        inquiries = inquiries.filter(assignee_id=_int(params, "assignee"))
    for name, column in (("team", "team_id"), ("type", "inquiry_type_id"), ("category", "category_id")):
        value = _int(params, name)
        if value is not None:
            inquiries = inquiries.filter(**{column: value})
    tag = (params.get("tag") or "").strip()
    if tag:
        # By the tag's id and as EXISTS: the planner then walks the paging index and probes each row's tags.
        tag_id = Tag.objects.filter(name=tag).values_list("pk", flat=True).first()
        if tag_id is None:
            inquiries = inquiries.none()
        else:
            tagged = Inquiry.tags.through.objects.filter(inquiry_id=OuterRef("pk"), tag_id=tag_id)
            inquiries = inquiries.filter(Exists(tagged))
    since, until = _date(params, "from"), _date(params, "to")
    if since:
        inquiries = inquiries.filter(created_at__gte=_tokyo_midnight(since))
    if until:
        inquiries = inquiries.filter(created_at__lt=_tokyo_midnight(until + dt.timedelta(days=1)))
    text = (params.get("q") or "").strip()
    if text:
        number = text.lstrip("#＃")
        if number.isdigit():
            inquiries = inquiries.filter(number=int(number))
        else:
            inquiries = inquiries.filter(
                Q(subject__icontains=text) | Q(requester_name__icontains=text) | Q(requester_email__icontains=text)
            )
    # Drill-downs from reports (the SLA attainment): numbers=12,15,31.
    listed = [part.strip().lstrip("#") for part in (params.get("numbers") or "").split(",") if part.strip()]
    if listed:
        if not all(part.isdigit() for part in listed):
            raise DeskError("numbers", _("Inquiry numbers separated by commas, e.g. 12,15,31."))
        inquiries = inquiries.filter(number__in=[int(part) for part in listed[:1000]])
    return inquiries


SORTS = ("updated", "sla")


def _cursor_values(sort: str, cursor: str) -> tuple[dt.datetime | None, int]:
    try:
        stamp, _sep, pk = cursor.rpartition("_")
        return (None if stamp == "none" else dt.datetime.fromisoformat(stamp)), int(pk)
    except ValueError:
        raise DeskError("cursor", _("This page link is no longer valid.")) from None


def _cursor_for(sort: str, inquiry: Inquiry) -> str:
    stamp = inquiry.updated_at if sort == "updated" else inquiry.sla_next_due_at
    return f"{stamp.isoformat() if stamp else 'none'}_{inquiry.pk}"


def inquiry_page(
    inquiries: QuerySet[Inquiry], *, sort: str = "updated", cursor: str = "", size: int | None = None
) -> tuple[list[Inquiry], str]:
    """One page of `inquiries` after `cursor` (keyset paging: no OFFSET, no count), and the next page's cursor
    ("" on the last page). `updated`: most recently updated first; `sla`: the earliest SLA due first, inquiries
    with nothing due last."""
    size = size or PAGE_SIZE
    if sort not in SORTS:
        raise DeskError("sort", _("Unknown sort: %(value)s") % {"value": sort})
    if sort == "updated":
        inquiries = inquiries.order_by("-updated_at", "-id")
        if cursor:
            stamp, pk = _cursor_values(sort, cursor)
            if stamp is None:
                raise DeskError("cursor", _("This page link is no longer valid."))
            inquiries = inquiries.filter(Q(updated_at__lt=stamp) | Q(updated_at=stamp, id__lt=pk))
    else:
        from django.db.models import F

        inquiries = inquiries.order_by(F("sla_next_due_at").asc(nulls_last=True), "id")
        if cursor:
            stamp, pk = _cursor_values(sort, cursor)
            if stamp is None:
                inquiries = inquiries.filter(sla_next_due_at__isnull=True, id__gt=pk)
            else:
                inquiries = inquiries.filter(
                    Q(sla_next_due_at__gt=stamp) | Q(sla_next_due_at=stamp, id__gt=pk) | Q(sla_next_due_at__isnull=True)
                )
    rows = list(inquiries.select_related("status", "team", "assignee")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, (_cursor_for(sort, rows[-1]) if more and rows else "")
