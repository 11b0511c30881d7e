"""First response in the JSON API (mounted under /api/funnels/responses): the queue of applicants waiting for a
first contact, recording a contact, and response time against reaching the next stage."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused
from banso.core.models import User
from banso.core.permissions import Capability

from . import responses
from .models import ApplicantResponse, Funnel

router = Router(tags=["funnels"])
VIEW = role(Capability.VIEW_ACCOUNTS)
WORK = role(Capability.WORK_TASKS)
MAX_LIMIT = 500


class WaitingOut(Schema):
    id: int
    account_id: int
    account_name: str
    owner: str = Field(description="the client's owner CSM; empty when none")
    end_user_id: int
    applicant: str
    project: str
    applied_at: dt.datetime
    waited_minutes: int = Field(description="business minutes waited so far")
    minutes_left: int = Field(description="business minutes to the target; negative once past it")
    deadline: dt.datetime
    state: str = Field(description="ok, due (under 5 minutes left) or breached")


class QueueOut(Schema):
    funnel_id: int
    target_minutes: int
    total: int = Field(description="applicants waiting in all (items stop at the limit)")
    items: list[WaitingOut]


class ContactedOut(Schema):
    id: int
    first_contact_at: dt.datetime
    response_minutes: int


class BucketOut(Schema):
    key: str
    label: str
    applicants: int
    reached: int
    rate: float | None
    low: float | None = Field(description="Wilson 95% interval, lower bound")
    high: float | None


class RegressionOut(Schema):
    n: int
    too_small: bool
    reason: str
    odds_ratio: float | None = Field(description="odds of reaching the next stage per doubling of (1 + minutes)")
    low: float | None
    high: float | None


class AttainmentOut(Schema):
    month: dt.date
    id: int | None
    name: str
    applicants: int
    within: int
    rate: float | None


class RelationOut(Schema):
    funnel_id: int
    since: dt.date
    until: dt.date
    target_minutes: int
    buckets: list[BucketOut]
    regression: RegressionOut
    clients: list[AttainmentOut]
    csms: list[AttainmentOut]


def _funnel(funnel_id: int | None) -> Funnel | None:
    if funnel_id is not None:
        return get_object_or_404(Funnel.objects.exclude(response_event_kind=""), pk=funnel_id)
    return responses.default_funnel()


NO_FUNNEL = [("funnel_id", "no funnel has a first contact event kind")]


@router.get("/queue", response={200: QueueOut, 422: ErrorOut}, auth=VIEW)
def queue(
    request: HttpRequest,
    funnel_id: int | None = None,
    mine: bool = False,
    account_id: int | None = None,
    limit: int = 100,
) -> Any:
    """Applicants waiting for a first contact, oldest first (`mine`: only the caller's clients)."""
    funnel = _funnel(funnel_id)
    if funnel is None:
        return refused(NO_FUNNEL)
    responses.sync(funnel, responses.PAGE_SYNC_EVENTS, wait=False)
    owner = request.user if mine and isinstance(request.user, User) else None
    rows, total = responses.queue(
        funnel, owner=owner, account_id=account_id, limit=max(1, min(limit, MAX_LIMIT)), now=timezone.now()
    )
    items = [
        {
            "id": w.row.pk,
            "account_id": w.row.account_id,
            "account_name": w.row.account.name,
            "owner": str(w.row.account.owner or ""),
            "end_user_id": w.row.end_user_id,
            "applicant": str(w.row.end_user),
            "project": w.row.project,
            "applied_at": w.row.applied_at,
            "waited_minutes": w.waited,
            "minutes_left": w.left,
            "deadline": w.deadline,
            "state": w.state,
        }
        for w in rows
    ]
    return {"funnel_id": funnel.pk, "target_minutes": funnel.response_target_minutes, "total": total, "items": items}


@router.post("/{int:response_id}/contacted", response={200: ContactedOut, 422: ErrorOut}, auth=WORK)
def contacted(request: HttpRequest, response_id: int) -> Any:
    """Record the first contact of a waiting applicant now (an event of the funnel's contact kind)."""
    row = get_object_or_404(ApplicantResponse.objects.select_related("funnel"), pk=response_id)
    actor = request.user if isinstance(request.user, User) else None
    if not responses.record_contact(row, actor):
        return refused([("", _("This applicant has been contacted already."))])
    return Status(
        200, {"id": row.pk, "first_contact_at": row.first_contact_at, "response_minutes": row.response_minutes}
    )


@router.get("/relation", response={200: RelationOut, 422: ErrorOut}, auth=VIEW)
def relation(
    request: HttpRequest, funnel_id: int | None = None, since: dt.date | None = None, until: dt.date | None = None
) -> Any:
    """Applicants by response-time bucket with the share reaching the next stage (Wilson 95% interval), the
    logistic regression's odds ratio per doubling of response time, and attainment per client / CSM / month."""
    funnel = _funnel(funnel_id)
    if funnel is None:
        return refused(NO_FUNNEL)
    until = until or timezone.localdate()
    since = since or until - dt.timedelta(days=180)
    if since > until:
        return refused([("since", _("The start must not be after the end."))])
    result = responses.relation(funnel, since, until)
    buckets = [
        {
            "key": b.key,
            "label": b.label,
            "applicants": b.applicants,
            "reached": b.reached,
            "rate": b.rate,
            "low": b.interval[0],
            "high": b.interval[1],
        }
        for b in result.buckets
    ]
    reg = result.regression
    return {
        "funnel_id": funnel.pk,
        "since": since,
        "until": until,
        "target_minutes": result.target,
        "buckets": buckets,
        "regression": {
            "n": reg.n,
            "too_small": reg.too_small,
            "reason": reg.reason,
            "odds_ratio": reg.odds_ratio,
            "low": reg.low,
            "high": reg.high,
        },
        "clients": result.attainment_clients,
        "csms": result.attainment_people,
    }
