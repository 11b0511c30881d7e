"""The outbox in the JSON API (mounted under /api/playbooks/outbox): list with filters, one message, retry now.
Unknown ids are 404; retrying a message that is not failed or waiting is 409 with `detail` naming `status`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused
from banso.core.models import User
from banso.core.permissions import Capability

from . import outbox
from .models import MessageKind, MessageStatus, OutboxMessage

router = Router(tags=["playbooks"])
MANAGE = role(Capability.MANAGE_PLAYBOOKS)
MAX_LIMIT = 200


class OutboxMessageOut(Schema):
    id: int
    kind: str
    status: str
    source: str
    dedupe_key: str | None
    account_id: int | None
    run_id: int | None
    to_email: str
    subject: str
    message_id: str
    unsubscribable: bool
    url: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str
    in_doubt: bool
    unconfirmed: bool
    created_at: dt.datetime
    sent_at: dt.datetime | None

    @staticmethod
    def resolve_in_doubt(obj: OutboxMessage) -> bool:
        return outbox.is_in_doubt(obj)

    @staticmethod
    def resolve_unconfirmed(obj: OutboxMessage) -> bool:
        return outbox.is_unconfirmed(obj)


class OutboxPageOut(Schema):
    count: int
    counts: dict[str, int]
    results: list[OutboxMessageOut]


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _missing() -> Status[dict[str, Any]]:
    return Status(404, {"detail": [{"field": "id", "message": _("No such message.")}]})


@router.get("", response=OutboxPageOut, auth=MANAGE)
def list_messages(
    request: HttpRequest,
    status: MessageStatus | None = None,
    kind: MessageKind | None = None,
    source: str = "",
    q: str = "",
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    """Messages newest first, with the total matching and the counts per status of the whole outbox."""
    rows = outbox.filtered(status=status or "", kind=kind or "", source=source, search=q)
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, offset)
    ids = list(rows.values_list("id", flat=True)[offset : offset + limit])
    found = {m.pk: m for m in OutboxMessage.objects.filter(id__in=ids)}
    return {"count": rows.count(), "counts": outbox.counts(), "results": [found[i] for i in ids if i in found]}


@router.get("/{int:message_id}", response={200: OutboxMessageOut, 404: ErrorOut}, auth=MANAGE)
def get_message(request: HttpRequest, message_id: int) -> Any:
    message = OutboxMessage.objects.filter(pk=message_id).first()
    return message if message is not None else _missing()


@router.post("/{int:message_id}/retry", response={200: OutboxMessageOut, 404: ErrorOut, 409: ErrorOut}, auth=MANAGE)
def retry_message(request: HttpRequest, message_id: int) -> Any:
    """Make a failed or waiting message due now (audited, via api)."""
    message = OutboxMessage.objects.filter(pk=message_id).first()
    if message is None:
        return _missing()
    try:
        outbox.retry_now(message, _actor(request), via="api")
    except outbox.OutboxError as exc:
        answer = refused([(exc.field, exc.message)])
        return Status(409, answer.value)
    return message
