"""The SLA part of the support API (mounted at /api/support/sla): attainment for a month or a date range, and
the desk's SLA policies and statuses. Targets are business minutes; rates are fractions (0.95 = 95 %), null
when nothing was decided. Bad input answers 422 naming the field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from banso.accounts.services import parse_month
from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused
from banso.core.models import User
from banso.core.permissions import Capability

from . import sla_attainment, sla_settings
from .desk import DeskError
from .models import SlaPolicy
from .models import Status as InquiryStatus

router = Router(tags=["support"])
VIEW = role(Capability.VIEW_ACCOUNTS)
MANAGE = role(Capability.MANAGE_SUPPORT)


class FiguresOut(Schema):
    metric: str
    due: int
    met: int
    breached: int
    running: int
    attainment: float | None
    median_minutes: float | None
    p90_minutes: float | None


class AgentFiguresOut(FiguresOut):
    agent_id: int | None
    name: str


class TeamFiguresOut(FiguresOut):
    team_id: int | None
    name: str


class AttainmentOut(Schema):
    start: dt.date
    end: dt.date
    totals: list[FiguresOut]
    agents: list[AgentFiguresOut]
    teams: list[TeamFiguresOut]


@router.get("/attainment", response={200: AttainmentOut, 422: ErrorOut}, auth=VIEW)
def attainment(
    request: HttpRequest, month: str | None = None, start: dt.date | None = None, end: dt.date | None = None
) -> Any:
    """SLA attainment per target, agent and team for `month` (YYYY-MM, Asia/Tokyo) or `start`..`end`
    (inclusive dates)."""
    if start is not None or end is not None:
        if start is None or end is None or end < start:
            return refused([("end", "start and end dates, end not before start")])
        first, last = start, end
    else:
        try:
            first, last = sla_attainment.month_range(parse_month(month or "")[0])
        except ValueError:
            return refused([("month", "a month as YYYY-MM")])
    return Status(200, sla_attainment.as_json(sla_attainment.build(first, last)))


class PolicyIn(Schema):
    name: str
    priority: str
    channel: str = ""
    first_response_minutes: int | None = None
    next_response_minutes: int | None = None
    resolution_minutes: int | None = None
    business_hours: str = ""
    active: bool = True


class PolicyOut(Schema):
    id: int
    name: str
    priority: str
    channel: str
    first_response_minutes: int | None
    next_response_minutes: int | None
    resolution_minutes: int | None
    business_hours: str
    active: bool


def _policy(p: SlaPolicy) -> dict[str, Any]:
    return {
        "id": p.pk,
        "name": p.name,
        "priority": p.priority,
        "channel": p.channel,
        "first_response_minutes": p.first_response_minutes,
        "next_response_minutes": p.next_response_minutes,
        "resolution_minutes": p.resolution_minutes,
        "business_hours": sla_settings.hours_text(p.business_hours),
        "active": p.active,
    }


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _policy_data(payload: PolicyIn) -> dict[str, Any]:
    data = payload.dict()
    for name in ("first_response_minutes", "next_response_minutes", "resolution_minutes"):
        data[name] = "" if data[name] is None else data[name]
    return data


@router.get("/policies", response=list[PolicyOut], auth=VIEW)
def policies(request: HttpRequest) -> list[dict[str, Any]]:
    return [_policy(p) for p in SlaPolicy.objects.order_by("priority", "channel")]


@router.post("/policies", response={201: PolicyOut, 422: ErrorOut}, auth=MANAGE)
def create_policy(request: HttpRequest, payload: PolicyIn) -> Any:
    try:
        policy = sla_settings.save_policy(None, _policy_data(payload), actor=_actor(request), via="api")
    except DeskError as exc:
        return refused([(exc.field, exc.message)])
    return Status(201, _policy(policy))


@router.put("/policies/{int:policy_id}", response={200: PolicyOut, 422: ErrorOut}, auth=MANAGE)
def update_policy(request: HttpRequest, policy_id: int, payload: PolicyIn) -> Any:
    policy = get_object_or_404(SlaPolicy, pk=policy_id)
    try:
        policy = sla_settings.save_policy(policy, _policy_data(payload), actor=_actor(request), via="api")
    except DeskError as exc:
        return refused([(exc.field, exc.message)])
    return Status(200, _policy(policy))


class StatusIn(Schema):
    name: str
    category: str
    key: str = ""
    pauses_sla: bool = False
    position: int | None = None
    active: bool = True


class StatusOut(Schema):
    id: int
    key: str
    name: str
    category: str
    pauses_sla: bool
    position: int
    active: bool


class RemovedOut(Schema):
    deleted: bool
    status: StatusOut | None


def _status(s: InquiryStatus) -> dict[str, Any]:
    return {
        "id": s.pk,
        "key": s.key,
        "name": s.name,
        "category": s.category,
        "pauses_sla": s.pauses_sla,
        "position": s.position,
        "active": s.active,
    }


def _status_data(payload: StatusIn) -> dict[str, Any]:
    data = payload.dict()
    if data["position"] is None:
        del data["position"]
    return data


@router.get("/statuses", response=list[StatusOut], auth=VIEW)
def statuses(request: HttpRequest) -> list[dict[str, Any]]:
    return [_status(s) for s in InquiryStatus.objects.order_by("position", "id")]


@router.post("/statuses", response={201: StatusOut, 422: ErrorOut}, auth=MANAGE)
def create_status(request: HttpRequest, payload: StatusIn) -> Any:
    try:
        status = sla_settings.save_status(None, _status_data(payload), actor=_actor(request), via="api")
    except DeskError as exc:
        return refused([(exc.field, exc.message)])
    return Status(201, _status(status))


@router.put("/statuses/{int:status_id}", response={200: StatusOut, 422: ErrorOut}, auth=MANAGE)
def update_status(request: HttpRequest, status_id: int, payload: StatusIn) -> Any:
    status = get_object_or_404(InquiryStatus, pk=status_id)
    try:
        status = sla_settings.save_status(status, _status_data(payload), actor=_actor(request), via="api")
    except DeskError as exc:
        return refused([(exc.field, exc.message)])
    return Status(200, _status(status))


@router.delete("/statuses/{int:status_id}", response={200: RemovedOut, 422: ErrorOut}, auth=MANAGE)
def remove_status(request: HttpRequest, status_id: int) -> Any:
    """Delete an unused custom status; one in use (or shipped with the desk) is deactivated instead."""
    status = get_object_or_404(InquiryStatus, pk=status_id)
    try:
        deleted = sla_settings.remove_status(status, actor=_actor(request), via="api")
    except DeskError as exc:
        return refused([(exc.field, exc.message)])
    return Status(200, {"deleted": deleted, "status": None if deleted else _status(status)})
