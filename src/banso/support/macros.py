"""Reply macros: templates with merge fields ({{ requester_name }}, {{ number }} …) rendered with the playbooks'
sandboxed template engine (`banso.playbooks.templating`), checked when the macro is saved so an unknown field
is refused naming it; optional status and tags applied when a reply using the macro is sent; uses counted.

Shared macros are seen by everyone and edited by desk managers (MANAGE_SUPPORT); personal ones are seen and
edited by their author only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

from banso.core.business_hours import TOKYO
from banso.core.models import User
from banso.core.permissions import Capability, has_capability
from banso.playbooks import templating

from . import desk
from .models import Inquiry, Macro, Status, Tag

# The merge fields a macro may use (flat: each is a plain value).
FIELDS: dict[str, Any] = {
    "requester_name": {},
    "number": {},
    "subject": {},
    "agent_name": {},
    "account_name": {},
    "booking_date": {},
}


def field_names() -> list[str]:
    return list(FIELDS)


def sample_context() -> dict[str, Any]:
    return {
        "requester_name": "山田 花子",
        "number": 1234,
        "subject": "予約の日時を変更したい",
        "agent_name": "佐藤",
        "account_name": "株式会社サンプル",
        "booking_date": "2026-12-01",
    }


def context_for(inquiry: Inquiry, agent: User | None) -> dict[str, Any]:
    booking = inquiry.booking
    return {
        "requester_name": inquiry.requester_name,
        "number": inquiry.number,
        "subject": inquiry.subject,
        "agent_name": str(agent) if agent else "",
        "account_name": inquiry.account.name if inquiry.account_id and inquiry.account else "",
        "booking_date": booking.scheduled_at.astimezone(TOKYO).strftime("%Y-%m-%d") if booking else "",
    }


def visible_to(user: User) -> QuerySet[Macro]:
    """Active macros the user may use: the shared ones and their own personal ones."""
    return (
        Macro.objects.filter(active=True)
        .filter(Q(personal=False) | Q(created_by=user))
        .select_related("set_status")
        .prefetch_related("add_tags")
    )


def can_edit(user: User, macro: Macro | None, *, personal: bool) -> bool:
    """Shared macros: desk managers; personal macros: their author (anyone who works inquiries for new ones)."""
    if macro is not None and macro.personal:
        return macro.created_by_id == user.pk
    if personal and macro is None:
        return has_capability(user, Capability.WORK_INQUIRIES)
    return has_capability(user, Capability.MANAGE_SUPPORT)


@transaction.atomic
def save_macro(
    actor: User,
    *,
    macro: Macro | None = None,
    name: str,
    body: str,
    personal: bool = False,
    set_status: Status | None = None,
    add_tags: Iterable[str] | str = (),
    active: bool = True,
) -> Macro:
    """Create or change a macro; refuses (DeskError naming the field) a blank name, an unusable template (naming
    the unknown merge field), or a macro the actor may not edit."""
    if not can_edit(actor, macro, personal=personal):
        raise desk.DeskError("personal", _("You may not edit this macro."))
    if macro is not None and not macro.personal and personal and macro.created_by_id != actor.pk:
        raise desk.DeskError("personal", _("Only the author can make a shared macro personal."))
    name = (name or "").strip()
    if not name:
        raise desk.DeskError("name", _("Give the macro a name."))
    if not (body or "").strip():
        raise desk.DeskError("body", _("The macro has no text."))
    try:
        templating.validate(body, "body", FIELDS, sample_context())
    except ValidationError as error:
        raise desk.DeskError("body", " ".join(error.messages)) from None
    tags = desk._tag_names(add_tags)
    if macro is None:
        macro = Macro(created_by=actor)
    macro.name = name[:100]
    macro.body = body
    macro.personal = personal
    macro.set_status = set_status
    macro.active = active
    macro.save()
    macro.add_tags.set([Tag.objects.get_or_create(name=tag)[0] for tag in tags])
    return macro


def render(macro: Macro, inquiry: Inquiry, agent: User | None) -> str:
    return templating.render(macro.body, context_for(inquiry, agent))


@transaction.atomic
def used(macro: Macro, inquiry: Inquiry, agent: User, *, status_chosen: bool = False) -> None:
    """A reply written with the macro was sent: add its tags, set its status (unless the agent chose one when
    sending), and count the use."""
    tags = list(macro.add_tags.values_list("name", flat=True))
    if tags:
        desk.change_tags(inquiry, add=tags, actor=agent)
    if macro.set_status_id and not status_chosen:
        inquiry.refresh_from_db()
        desk.set_status(inquiry, macro.set_status, actor=agent)  # type: ignore[arg-type]
    Macro.objects.filter(pk=macro.pk).update(uses=F("uses") + 1)
