"""Staleness in the JSON API (mounted under /api/funnels/staleness): trackers (read, create, change), open
alerts with filters, and a check run now. Refusals are 422 naming the field ("thresholds.high")."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused, validation_errors
from banso.core.models import User
from banso.core.permissions import Capability

from . import staleness
from .models import StalenessRule
from .staleness_views import open_alerts

router = Router(tags=["funnels"])
VIEW = role(Capability.VIEW_ACCOUNTS)
MANAGE = role(Capability.MANAGE_FUNNELS)
MAX_LIMIT = 1000


class RuleIn(Schema):
    name: str
    measure: str = Field(description="stage, report or touch")
    stage_id: int | None = Field(None, description="the funnel stage whose events are watched (measure stage)")
    thresholds: dict[str, Any] = Field(description='days per tier, e.g. {"high": 7, "low": 14}')
    account_kinds: list[str] = Field(default_factory=lambda: ["client"])
    is_active: bool = True


class RuleOut(Schema):
    id: int
    name: str
    measure: str
    stage_id: int | None
    thresholds: dict[str, int]
    account_kinds: list[str]
    is_active: bool


class AlertOut(Schema):
    id: int
    rule_id: int
    account_id: int
    account_name: str
    owner_id: int | None
    tier: str
    days: int
    threshold: int
    last_seen_on: dt.date | None
    raised_at: dt.datetime
    task_id: int | None


class CheckOut(Schema):
    rules: int
    raised: int
    updated: int
    resolved: int
    tasks: int


def _rule(rule: StalenessRule) -> dict[str, Any]:
    fields = ("id", "name", "measure", "stage_id", "thresholds", "is_active")
    return {name: getattr(rule, name) for name in fields} | {"account_kinds": staleness.rule_kinds(rule)}


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


@router.get("/rules", response=list[RuleOut], auth=VIEW)
def rules(request: HttpRequest) -> list[dict[str, Any]]:
    return [_rule(rule) for rule in StalenessRule.objects.order_by("name")]


@router.post("/rules", response={201: RuleOut, 422: ErrorOut}, auth=MANAGE)
def create_rule(request: HttpRequest, payload: RuleIn) -> Status[Any]:
    try:
        rule = staleness.save_rule(None, payload.dict(), _actor(request), via="api")
    except ValidationError as error:
        return refused(validation_errors(error))
    return Status(201, _rule(rule))


@router.put("/rules/{int:rule_id}", response={200: RuleOut, 422: ErrorOut}, auth=MANAGE)
def update_rule(request: HttpRequest, rule_id: int, payload: RuleIn) -> Status[Any]:
    rule = get_object_or_404(StalenessRule, pk=rule_id)
    try:
        rule = staleness.save_rule(rule, payload.dict(), _actor(request), via="api")
    except ValidationError as error:
        return refused(validation_errors(error))
    return Status(200, _rule(rule))


@router.get("/alerts", response=list[AlertOut], auth=VIEW)
def alerts(
    request: HttpRequest, owner: int | None = None, rule: int | None = None, tier: str = "", limit: int = 200
) -> list[dict[str, Any]]:
    """Open alerts of active trackers, most days first, filtered by owner (user id), tracker and tier."""
    rows = open_alerts(owner, rule, tier)[: max(1, min(limit, MAX_LIMIT))]
    return [
        {
            "id": a.pk,
            "rule_id": a.rule_id,
            "account_id": a.account_id,
            "account_name": a.account.name,
            "owner_id": a.account.owner_id,
            "tier": a.account.tier,
            "days": a.days,
            "threshold": a.threshold,
            "last_seen_on": a.last_seen_on,
            "raised_at": a.raised_at,
            "task_id": a.task_id,
        }
        for a in rows
    ]


@router.post("/check", response=CheckOut, auth=MANAGE)
def check(request: HttpRequest) -> dict[str, int]:
    """Check every active tracker now (as the 07:30 job does); repeating it the same day changes nothing."""
    return staleness.check()
