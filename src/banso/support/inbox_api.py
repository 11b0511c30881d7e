"""The support desk's inbox JSON API (mounted by api.py at /api/support/): inquiries with the inbox's filters and
keyset cursor, one inquiry with its thread, changes (status, priority, assignee, team, tags, links), replies and
notes, merging, requests to other teams, macros. Refusals answer 422 with `detail`: a list of {field, message}.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from banso.accounts.models import Account, Contact, EndUser
from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused
from banso.core.models import Team, User
from banso.core.permissions import Capability
from banso.marketplace.models import Booking

from . import desk, macros
from .models import Inquiry, Macro, TeamRequest
from .models import Status as InquiryStatus

router = Router(tags=["support"])
VIEW = role(Capability.VIEW_ACCOUNTS)
WORK = role(Capability.WORK_INQUIRIES)
MAX_LIMIT = 200


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class InquiryOut(Schema):
    number: int
    subject: str
    channel: str
    status: str
    status_name: str
    priority: str
    team_id: int | None
    assignee_id: int | None
    requester_name: str
    requester_email: str
    account_id: int | None
    contact_id: int | None
    end_user_id: int | None
    booking_id: int | None
    inquiry_type_id: int | None
    category_id: int | None
    merged_into: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    sla_next_due_at: dt.datetime | None


class InquiryPageOut(Schema):
    items: list[InquiryOut]
    next_cursor: str


class MessageOut(Schema):
    id: int
    author_kind: str
    author_id: int | None
    author_name: str
    body: str
    internal: bool
    channel: str
    created_at: dt.datetime


class TeamRequestOut(Schema):
    id: int
    inquiry: int
    to_team_id: int | None
    to_name: str
    question: str
    requested_at: dt.datetime
    due_at: dt.datetime | None
    status: str
    answer: str
    answered_at: dt.datetime | None


class InquiryDetailOut(InquiryOut):
    tags: list[str]
    messages: list[MessageOut]
    team_requests: list[TeamRequestOut]


class InquiryIn(Schema):
    channel: str
    subject: str = ""
    body: str
    requester_name: str = ""
    requester_email: str = ""
    priority: str = "normal"
    team_id: int | None = None
    account_id: int | None = None
    contact_id: int | None = None
    end_user_id: int | None = None


class InquiryPatch(Schema):
    """Keys left out keep their value; null clears a link, the assignee or the team."""

    status: str | None = None
    priority: str | None = None
    assignee_id: int | None = None
    team_id: int | None = None
    tags: list[str] | None = None  # the whole set (replaces the current tags)
    add_tags: list[str] = []
    remove_tags: list[str] = []
    account_id: int | None = None
    contact_id: int | None = None
    end_user_id: int | None = None
    booking_id: int | None = None


class MessageIn(Schema):
    body: str
    internal: bool = False
    status: str | None = None
    macro_id: int | None = None


class MergeIn(Schema):
    into: int


class TeamRequestIn(Schema):
    question: str
    to_team_id: int | None = None
    to_name: str = ""
    due_at: dt.datetime | None = None


class AnswerIn(Schema):
    answer: str


class MacroOut(Schema):
    id: int
    name: str
    body: str
    personal: bool
    set_status: str | None
    add_tags: list[str]
    uses: int
    active: bool


class MacroIn(Schema):
    name: str
    body: str
    personal: bool = False
    set_status: str | None = None
    add_tags: list[str] = []


class RenderIn(Schema):
    number: int


class RenderOut(Schema):
    text: str


def _inquiry_out(inquiry: Inquiry) -> dict[str, Any]:
    return {
        "number": inquiry.number,
        "subject": inquiry.subject,
        "channel": inquiry.channel,
        "status": inquiry.status.key,
        "status_name": inquiry.status.name,
        "priority": inquiry.priority,
        "team_id": inquiry.team_id,
        "assignee_id": inquiry.assignee_id,
        "requester_name": inquiry.requester_name,
        "requester_email": inquiry.requester_email,
        "account_id": inquiry.account_id,
        "contact_id": inquiry.contact_id,
        "end_user_id": inquiry.end_user_id,
        "booking_id": inquiry.booking_id,
        "inquiry_type_id": inquiry.inquiry_type_id,
        "category_id": inquiry.category_id,
        "merged_into": inquiry.merged_into.number if inquiry.merged_into_id and inquiry.merged_into else None,
        "created_at": inquiry.created_at,
        "updated_at": inquiry.updated_at,
        "sla_next_due_at": inquiry.sla_next_due_at,
    }


def _request_out(request: TeamRequest) -> dict[str, Any]:
    return {
        "id": request.pk,
        "inquiry": request.inquiry.number,
        "to_team_id": request.to_team_id,
        "to_name": request.to_name,
        "question": request.question,
        "requested_at": request.requested_at,
        "due_at": request.due_at,
        "status": request.status,
        "answer": request.answer,
        "answered_at": request.answered_at,
    }


def _detail(number: int) -> dict[str, Any]:
    inquiry = get_object_or_404(Inquiry.objects.select_related("status", "merged_into"), number=number)
    return {
        **_inquiry_out(inquiry),
        "tags": sorted(inquiry.tags.values_list("name", flat=True)),
        "messages": [
            {
                "id": m.pk,
                "author_kind": m.author_kind,
                "author_id": m.author_id,
                "author_name": m.author_name,
                "body": m.body,
                "internal": m.internal,
                "channel": m.channel,
                "created_at": m.created_at,
            }
            for m in inquiry.messages.order_by("created_at", "id")
        ],
        "team_requests": [_request_out(r) for r in inquiry.team_requests.select_related("inquiry")],
    }


def _get(model: Any, pk: int | None, field: str) -> Any:
    if pk is None:
        return None
    found = model.objects.filter(pk=pk).first()
    if found is None:
        raise desk.DeskError(field, _("No such record: %(value)s") % {"value": pk})
    return found


def _macro_out(macro: Macro) -> dict[str, Any]:
    return {
        "id": macro.pk,
        "name": macro.name,
        "body": macro.body,
        "personal": macro.personal,
        "set_status": macro.set_status.key if macro.set_status else None,
        "add_tags": sorted(t.name for t in macro.add_tags.all()),
        "uses": macro.uses,
        "active": macro.active,
    }


# Inquiries ---------------------------------------------------------------------------------------------------


@router.get("/inquiries", response={200: InquiryPageOut, 422: ErrorOut}, auth=VIEW)
def list_inquiries(request: HttpRequest, cursor: str = "", limit: int = 50, sort: str = "updated") -> Any:
    """Inquiries of one inbox view (`view`: mine, unassigned, team, open, waiting, about_to_breach, breached,
    solved, all) with the inbox's filters as query parameters (status, priority, channel, team, assignee,
    tag, type, category, q, from, to); `next_cursor` fetches the next page ("" on the last)."""
    try:
        rows, next_cursor = desk.inquiry_page(
            desk.filter_inquiries(_actor(request), request.GET).select_related("merged_into"),
            sort=sort,
            cursor=cursor,
            size=max(1, min(limit, MAX_LIMIT)),
        )
    except desk.DeskError as error:
        return refused([(error.field, error.message)])
    return {"items": [_inquiry_out(i) for i in rows], "next_cursor": next_cursor}


@router.post("/inquiries", response={201: InquiryDetailOut, 422: ErrorOut}, auth=WORK)
def create_inquiry(request: HttpRequest, payload: InquiryIn) -> Any:
    """Open an inquiry. On the phone channel the signed-in agent took the call, wrote the first message and
    owns it; on the others the first message is the customer's."""
    agent = _actor(request)
    try:
        team = _get(Team, payload.team_id, "team_id")
        common = {
            "subject": payload.subject,
            "body": payload.body,
            "requester_name": payload.requester_name,
            "requester_email": payload.requester_email,
            "priority": payload.priority,
            "team": team,
            "account": _get(Account, payload.account_id, "account_id"),
            "contact": _get(Contact, payload.contact_id, "contact_id"),
            "end_user": _get(EndUser, payload.end_user_id, "end_user_id"),
        }
        if payload.channel == "phone":
            inquiry = desk.log_phone_inquiry(agent, **common)
        else:
            inquiry = desk.open_inquiry(channel=payload.channel, **common)
    except desk.DeskError as error:
        return refused([(error.field, error.message)])
    return Status(201, _detail(inquiry.number))


@router.get("/inquiries/{int:number}", response=InquiryDetailOut, auth=VIEW)
def inquiry_detail(request: HttpRequest, number: int) -> dict[str, Any]:
    """One inquiry with its tags, its whole thread (internal notes included) and its requests to other teams."""
    return _detail(number)


_LINKS = (
    ("account_id", "account", Account),
    ("contact_id", "contact", Contact),
    ("end_user_id", "end_user", EndUser),
    ("booking_id", "booking", Booking),
)


@router.patch("/inquiries/{int:number}", response={200: InquiryDetailOut, 422: ErrorOut}, auth=WORK)
def patch_inquiry(request: HttpRequest, number: int, payload: InquiryPatch) -> Any:
    """Change the status (key), priority, assignee, team, tags (add_tags / remove_tags) or links; all or
    nothing."""
    inquiry = get_object_or_404(Inquiry.objects.select_related("status"), number=number)
    actor = _actor(request)
    sent = payload.model_fields_set
    try:
        with transaction.atomic():
            if "status" in sent and payload.status is not None:
                new = InquiryStatus.objects.filter(key=payload.status).first()
                if new is None:
                    raise desk.DeskError("status", _("Unknown status: %(value)s") % {"value": payload.status})
                desk.set_status(inquiry, new, actor=actor)
            if "priority" in sent and payload.priority is not None:
                desk.set_priority(inquiry, payload.priority, actor=actor, via="api")
            assignment: dict[str, Any] = {}
            if "assignee_id" in sent:
                assignment["assignee"] = _get(User, payload.assignee_id, "assignee_id")
            if "team_id" in sent:
                assignment["team"] = _get(Team, payload.team_id, "team_id")
            if assignment:
                try:
                    desk.assign(inquiry, actor=actor, via="api", **assignment)
                except desk.DeskError as error:
                    raise desk.DeskError(f"{error.field}_id", error.message) from None
            add, remove = list(payload.add_tags), list(payload.remove_tags)
            if payload.tags is not None:
                current = set(inquiry.tags.values_list("name", flat=True))
                add += [t for t in payload.tags if t not in current]
                remove += sorted(current - {t.strip() for t in payload.tags})
            if add or remove:
                desk.change_tags(inquiry, add=add, remove=remove, actor=actor, via="api")
            links = {name: _get(model, getattr(payload, key), key) for key, name, model in _LINKS if key in sent}
            if links:
                try:
                    desk.link(inquiry, actor=actor, via="api", **links)
                except desk.DeskError as error:
                    raise desk.DeskError(f"{error.field}_id", error.message) from None
    except desk.DeskError as error:
        return refused([(error.field, error.message)])
    return _detail(number)


@router.post("/inquiries/{int:number}/messages", response={201: MessageOut, 422: ErrorOut}, auth=WORK)
def post_message(request: HttpRequest, number: int, payload: MessageIn) -> Any:
    """A reply to the customer (delivered on the inquiry's channel) or, with `internal`, a note; `status` sets
    the status after sending; `macro_id` counts the macro's use and applies its tags and status."""
    inquiry = get_object_or_404(Inquiry.objects.select_related("status"), number=number)
    agent = _actor(request)
    try:
        with transaction.atomic():
            new = None
            if payload.status:
                new = InquiryStatus.objects.filter(key=payload.status).first()
                if new is None:
                    raise desk.DeskError("status", _("Unknown status: %(value)s") % {"value": payload.status})
            macro = None
            if payload.macro_id is not None:
                macro = macros.visible_to(agent).filter(pk=payload.macro_id).first()
                if macro is None:
                    raise desk.DeskError("macro_id", _("No such macro: %(value)s") % {"value": payload.macro_id})
            message = desk.reply(inquiry, agent, payload.body, internal=payload.internal, new_status=new)
            if macro is not None:
                macros.used(macro, inquiry, agent, status_chosen=new is not None)
    except desk.DeskError as error:
        return refused([(error.field, error.message)])
    return Status(
        201,
        {
            "id": message.pk,
            "author_kind": message.author_kind,
            "author_id": message.author_id,
            "author_name": message.author_name,
            "body": message.body,
            "internal": message.internal,
            "channel": message.channel,
            "created_at": message.created_at,
        },
    )


@router.post("/inquiries/{int:number}/merge", response={200: InquiryDetailOut, 422: ErrorOut}, auth=WORK)
def merge_inquiry(request: HttpRequest, number: int, payload: MergeIn) -> Any:
    """Merge this inquiry into the one numbered `into`; answers the survivor."""
    inquiry = get_object_or_404(Inquiry, number=number)
    target = Inquiry.objects.filter(number=payload.into).first()
    if target is None:
        return refused([("into", _("No inquiry numbered %(value)s.") % {"value": payload.into})])
    try:
        desk.merge(inquiry, target, actor=_actor(request), via="api")
    except desk.DeskError as error:
        return refused([(error.field, error.message)])
    return _detail(target.number)


# Requests to other teams ---------------------------------------------------------------------------------


@router.get("/requests", response=list[TeamRequestOut], auth=VIEW)
def list_requests(request: HttpRequest, team: int | None = None) -> list[dict[str, Any]]:
    """Requests still waiting for an answer, the earliest due first (to one team with `team`)."""
    chosen = Team.objects.filter(pk=team).first() if team else None
    return [_request_out(r) for r in desk.open_requests(chosen)[:500]]


@router.post("/inquiries/{int:number}/requests", response={201: TeamRequestOut, 422: ErrorOut}, auth=WORK)
def create_request(request: HttpRequest, number: int, payload: TeamRequestIn) -> Any:
    inquiry = get_object_or_404(Inquiry, number=number)
    try:
        made = desk.request_team(
            inquiry,
            question=payload.question,
            to_team=_get(Team, payload.to_team_id, "to_team_id"),
            to_name=payload.to_name,
            due_at=payload.due_at,
            actor=_actor(request),
        )
    except desk.DeskError as error:
        return refused([(error.field, error.message)])
    return Status(201, _request_out(made))


@router.post("/requests/{int:request_id}/answer", response={200: TeamRequestOut, 422: ErrorOut}, auth=WORK)
def answer_request(request: HttpRequest, request_id: int, payload: AnswerIn) -> Any:
    """Record the other team's answer (it goes into the thread as an internal note)."""
    found = get_object_or_404(TeamRequest, pk=request_id)
    try:
        answered = desk.answer_request(found, payload.answer, actor=_actor(request))
    except desk.DeskError as error:
        return refused([(error.field, error.message)])
    return _request_out(answered)


@router.post("/requests/{int:request_id}/cancel", response={200: TeamRequestOut, 422: ErrorOut}, auth=WORK)
def cancel_request(request: HttpRequest, request_id: int) -> Any:
    found = get_object_or_404(TeamRequest, pk=request_id)
    try:
        cancelled = desk.cancel_request(found, actor=_actor(request))
    except desk.DeskError as error:
        return refused([(error.field, error.message)])
    return _request_out(cancelled)


# Macros ------------------------------------------------------------------------------------------------------


@router.get("/macros", response=list[MacroOut], auth=WORK)
def list_macros(request: HttpRequest) -> list[dict[str, Any]]:
    """The active macros the caller may use (shared ones and their own personal ones)."""
    return [_macro_out(m) for m in macros.visible_to(_actor(request)).order_by("name")]


@router.post("/macros", response={201: MacroOut, 422: ErrorOut}, auth=WORK)
def create_macro(request: HttpRequest, payload: MacroIn) -> Any:
    """A new macro; an unknown merge field in `body` is refused naming it. Shared macros need MANAGE_SUPPORT."""
    try:
        status = None
        if payload.set_status:
            status = InquiryStatus.objects.filter(key=payload.set_status).first()
            if status is None:
                raise desk.DeskError("set_status", _("Unknown status: %(value)s") % {"value": payload.set_status})
        macro = macros.save_macro(
            _actor(request),
            name=payload.name,
            body=payload.body,
            personal=payload.personal,
            set_status=status,
            add_tags=payload.add_tags,
        )
    except desk.DeskError as error:
        return refused([(error.field, error.message)])
    return Status(201, _macro_out(macro))


@router.post("/macros/{int:macro_id}/render", response={200: RenderOut, 422: ErrorOut}, auth=WORK)
def render_macro(request: HttpRequest, macro_id: int, payload: RenderIn) -> Any:
    """The macro's text for one inquiry (nothing is sent or counted)."""
    agent = _actor(request)
    macro = get_object_or_404(macros.visible_to(agent), pk=macro_id)
    inquiry = Inquiry.objects.select_related("account", "booking").filter(number=payload.number).first()
    if inquiry is None:
        return refused([("number", _("No inquiry numbered %(value)s.") % {"value": payload.number})])
    return {"text": macros.render(macro, inquiry, agent)}
