"""Touches, renewals and My day in the JSON API (mounted under /api/success). Refusals are 422 with `detail`:
a list of {field, message}, the field being the request body's (`new_successor.name`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from banso.accounts.models import Account, Contact
from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused, validation_errors
from banso.core.models import User
from banso.core.permissions import Capability, has_capability

from . import queue, renewals, touches
from .models import Renewal, RenewalStage, Touch, TouchChannel, TouchOutcome
from .services import parse_month_param

touches_router = Router(tags=["success"])
renewals_router = Router(tags=["success"])
my_day_router = Router(tags=["success"])
VIEW = role(Capability.VIEW_ACCOUNTS)
LOG = role(Capability.LOG_TOUCHES)
MAX_LIMIT = 200


class NewSuccessorIn(Schema):
    name: str
    email: str = ""
    phone: str = ""
    title: str = ""


class TouchIn(Schema):
    account_id: int
    channel: TouchChannel
    outcome: TouchOutcome
    occurred_at: dt.datetime | None = Field(None, description="default: now; not in the future")
    contact_id: int | None = None
    note: str = ""
    successor_id: int | None = Field(None, description="contact_changed: a colleague on file who takes over")
    new_successor: NewSuccessorIn | None = Field(None, description="contact_changed: a person not yet on file")
    next_step: str = Field("", description="empty: the outcome's usual next step, if it has one")
    next_step_due: dt.date | None = None


class TouchOut(Schema):
    id: int
    account_id: int
    contact_id: int | None
    csm_id: int | None
    channel: str
    outcome: str
    occurred_at: dt.datetime
    note: str
    successor_id: int | None
    next_step: str
    next_step_due: dt.date | None
    next_step_done_at: dt.datetime | None
    target_id: int | None


def _refused(exc: ValidationError) -> Status[dict[str, Any]]:
    errors = validation_errors(exc, {"contact": "contact_id", "successor": "successor_id"})
    return refused((field.replace("new_successor_", "new_successor."), message) for field, message in errors)


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


@touches_router.get("", response=list[TouchOut], auth=VIEW)
def list_touches(
    request: HttpRequest,
    account_id: int | None = None,
    csm_id: int | None = None,
    outcome: TouchOutcome | None = None,
    since: dt.date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Touch]:
    """Touches, newest first."""
    rows = Touch.objects.all()
    if account_id is not None:
        rows = rows.filter(account_id=account_id)
    if csm_id is not None:
        rows = rows.filter(csm_id=csm_id)
    if outcome is not None:
        rows = rows.filter(outcome=outcome)
    if since is not None:
        rows = rows.filter(occurred_at__date__gte=since)
    return list(rows.order_by("-occurred_at", "-id")[offset : offset + max(1, min(limit, MAX_LIMIT))])


@touches_router.post("", response={201: TouchOut, 422: ErrorOut}, auth=LOG)
def create_touch(request: HttpRequest, payload: TouchIn) -> Status[Any]:
    """Log a touch with everything it sets going (see the Account 360's form)."""
    account = Account.objects.filter(pk=payload.account_id).first()
    if account is None:
        return Status(422, {"detail": [{"field": "account_id", "message": _("No such account.")}]})
    contact = successor = None
    if payload.contact_id is not None:
        contact = Contact.objects.filter(pk=payload.contact_id).first()
        if contact is None:
            return Status(422, {"detail": [{"field": "contact_id", "message": _("No such contact.")}]})
    if payload.successor_id is not None:
        successor = Contact.objects.filter(pk=payload.successor_id, account=account).first()
        if successor is None:
            return Status(
                422, {"detail": [{"field": "successor_id", "message": _("No such contact on this account.")}]}
            )
    try:
        touch = touches.log_touch(
            account,
            _actor(request),
            channel=payload.channel,
            outcome=payload.outcome,
            occurred_at=payload.occurred_at,
            contact=contact,
            note=payload.note,
            successor=successor,
            new_successor=payload.new_successor.dict() if payload.new_successor else None,
            next_step=payload.next_step,
            next_step_due=payload.next_step_due,
            via="api",
        )
    except ValidationError as exc:
        return _refused(exc)
    return Status(201, touch)


@touches_router.post("/{int:touch_id}/done", response={200: TouchOut, 422: ErrorOut}, auth=LOG)
def complete_next_step(request: HttpRequest, touch_id: int) -> Status[Any]:
    touch = get_object_or_404(Touch, pk=touch_id)
    try:
        return Status(200, touches.complete_next_step(touch, _actor(request), via="api"))
    except ValidationError as exc:
        return _refused(exc)


class RenewalOut(Schema):
    id: int
    account_id: int
    account: str
    owner_id: int | None
    contract_id: int
    renewal_date: dt.date
    days_to_renewal: int
    mrr: int = Field(description="MRR at stake, yen")
    stage: str
    renewed_mrr: int | None
    closed_on: dt.date | None
    churn_risk: float | None = Field(description="the account's latest churn probability (0–1)")
    health_band: str | None


class StageIn(Schema):
    stage: RenewalStage
    renewed_mrr: int | None = Field(None, description="yen; required for upgraded / downgraded")
    note: str = ""


class ForecastOut(Schema):
    start: dt.date
    end: dt.date = Field(description="exclusive")
    at_stake: int
    won: int
    lost: int
    open_mrr: int
    expected: int = Field(description="won + Σ open MRR × probability of renewing, yen")
    best_case: int
    worst_case: int
    open_count: int
    by_source: dict[str, int]


class ForecastsOut(Schema):
    month: ForecastOut
    quarter: ForecastOut


def _renewal_out(r: Any) -> dict[str, Any]:
    return {
        "id": r.pk,
        "account_id": r.account_id,
        "account": r.account.name,
        "owner_id": r.account.owner_id,
        "contract_id": r.contract_id,
        "renewal_date": r.renewal_date,
        "days_to_renewal": renewals.days_to_renewal(r),
        "mrr": r.mrr,
        "stage": r.stage,
        "renewed_mrr": r.renewed_mrr,
        "closed_on": r.closed_on,
        "churn_risk": r.risk,
        "health_band": r.health_band,
    }


@renewals_router.get("", response=list[RenewalOut], auth=VIEW)
def list_renewals(
    request: HttpRequest,
    month: str = "",
    owner_id: int | None = None,
    stage: RenewalStage | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The month's renewals (`month`: YYYY-MM, default this month), soonest first, with risk and health."""
    filters = renewals.PipelineFilters(owner=owner_id, stage=stage or "")
    rows = renewals.pipeline_rows(parse_month_param(month), filters)
    return [_renewal_out(r) for r in rows[offset : offset + max(1, min(limit, MAX_LIMIT))]]


@renewals_router.post("/{int:renewal_id}/stage", response={200: RenewalOut, 422: ErrorOut}, auth=LOG)
def set_stage(request: HttpRequest, renewal_id: int, payload: StageIn) -> Status[Any]:
    renewal = get_object_or_404(Renewal, pk=renewal_id)
    try:
        renewals.set_stage(
            renewal, payload.stage, _actor(request), renewed_mrr=payload.renewed_mrr, note=payload.note, via="api"
        )
    except ValidationError as exc:
        return _refused(exc)
    return Status(200, _renewal_out(renewals.pipeline_rows(renewal.renewal_date).get(pk=renewal.pk)))


@renewals_router.get("/forecast", response=ForecastsOut, auth=VIEW)
def forecast(request: HttpRequest, month: str = "") -> dict[str, Any]:
    """Expected, best and worst renewed MRR for the month and its quarter, in yen."""
    month_forecast, quarter_forecast = renewals.forecasts(parse_month_param(month))
    return {"month": month_forecast.__dict__, "quarter": quarter_forecast.__dict__}


class QueueItemOut(Schema):
    kind: str = Field(description="planned | follow_up | breaching")
    account_id: int
    account: str
    due: dt.date | None
    detail: str
    touch_id: int | None = None


class QueueOut(Schema):
    user_id: int
    day: dt.date
    planned_count: int
    follow_up_count: int
    breaching_count: int
    items: list[QueueItemOut]


def _last_touch_text(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).isoformat() if moment else _("never touched")


@my_day_router.get("", response={200: QueueOut, 403: ErrorOut}, auth=VIEW)
def my_day(request: HttpRequest, user_id: int | None = None, limit: int = 50) -> Status[Any]:
    """A CSM's queue for today (the first `limit` of each list); managers may ask for anyone's."""
    user = _actor(request)
    assert user is not None
    if user_id is not None and user_id != user.pk:
        if not has_capability(user, Capability.PLAN_COVERAGE):
            return Status(403, {"detail": [{"field": "user_id", "message": _("Only managers see others' queues.")}]})
        user = get_object_or_404(User, pk=user_id)
    limit = max(1, min(limit, MAX_LIMIT))
    planned, follow, breach = queue.planned(user), queue.follow_ups(user), queue.breaching(user)
    items = [
        {
            "kind": "planned",
            "account_id": t.account_id,
            "account": t.account.name,
            "due": t.planned_on,
            "detail": t.get_reason_display(),
        }
        for t in planned[:limit]
    ]
    items += [
        {
            "kind": "follow_up",
            "account_id": t.account_id,
            "account": t.account.name,
            "due": t.next_step_due,
            "detail": t.next_step,
            "touch_id": t.pk,
        }
        for t in follow[:limit]
    ]
    items += [
        {
            "kind": "breaching",
            "account_id": a.pk,
            "account": a.name,
            "due": None,
            "detail": _last_touch_text(getattr(a, "last_touch", None)),
        }
        for a in breach[:limit]
    ]
    return Status(
        200,
        {
            "user_id": user.pk,
            "day": timezone.localdate(),
            "planned_count": planned.count(),
            "follow_up_count": follow.count(),
            "breaching_count": breach.count(),
            "items": items,
        },
    )
