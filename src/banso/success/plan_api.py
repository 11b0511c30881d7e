"""Coverage plans in the JSON API: list plans, a plan's targets (by assignee or day, paged), queue a
generation and follow its run, move a target, act on many targets at once, lock or unlock.

A change the plan refuses answers 422 with `detail`: a list of {field, message}."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused
from banso.core.models import User
from banso.core.permissions import Capability

from . import plans
from .models import CoveragePlan, PlanRun

router = Router(tags=["success"])
VIEW = role(Capability.VIEW_ACCOUNTS)
PLAN = role(Capability.PLAN_COVERAGE)
MAX_LIMIT = 500


class PlanOut(Schema):
    id: int
    month: dt.date = Field(description="the first day of the month the plan covers")
    locked: bool
    locked_at: dt.datetime | None
    generated_at: dt.datetime | None
    targets: int
    by_reason: dict[str, int]


class TargetOut(Schema):
    id: int
    account_id: int
    account_name: str
    reason: str = Field(description="main reason: renewal, health, risk, untouched or manual")
    reasons: list[str]
    priority: float = Field(description="0–100 from MRR, churn risk and days to renewal (the plan's weights)")
    assignee_id: int | None
    planned_on: dt.date | None
    mrr: int = Field(description="yen per month")
    renewal_date: dt.date | None
    risk: float | None
    health_band: str
    adjusted: bool


class TargetPageOut(Schema):
    count: int
    offset: int
    limit: int
    items: list[TargetOut]


class RunOut(Schema):
    id: int
    month: dt.date
    status: str
    percent: int
    step: str
    error: str
    targets: int
    plan_id: int | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


class GenerateIn(Schema):
    month: dt.date = Field(description="any day of the month to plan (e.g. 2026-12-01)")


class MoveIn(Schema):
    assignee_id: int | None = Field(None, description="an active CSM")
    planned_on: dt.date | None = Field(None, description="a business day inside the plan's month")


class BulkIn(Schema):
    action: Literal["reassign", "move", "remove"]
    targets: list[int] = Field(description="target ids on this plan")
    assignee_id: int | None = Field(None, description="for reassign")
    planned_on: dt.date | None = Field(None, description="for move")


class LockIn(Schema):
    locked: bool


class BulkOut(Schema):
    changed: int


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _refused(error: plans.PlanError) -> Status[dict[str, Any]]:
    message = str(error)
    field = message.split(":", 1)[0] if ":" in message and " " not in message.split(":", 1)[0] else ""
    return refused([(field, message)])


def _plan_out(summary: dict[str, Any]) -> dict[str, Any]:
    plan: CoveragePlan = summary["plan"]
    return {
        "id": plan.pk,
        "month": plan.month,
        "locked": plan.locked,
        "locked_at": plan.locked_at,
        "generated_at": plan.generated_at,
        "targets": summary["total"],
        "by_reason": summary["reasons"],
    }


def _target_out(t: Any) -> dict[str, Any]:
    return {
        "id": t.pk,
        "account_id": t.account_id,
        "account_name": t.account.name,
        "reason": t.reason,
        "reasons": t.reasons,
        "priority": t.priority,
        "assignee_id": t.assignee_id,
        "planned_on": t.planned_on,
        "mrr": t.mrr,
        "renewal_date": t.renewal_date,
        "risk": t.risk,
        "health_band": t.health_band,
        "adjusted": t.adjusted,
    }


@router.get("", response=list[PlanOut], auth=VIEW)
def list_plans(request: HttpRequest) -> list[dict[str, Any]]:
    """Plans, newest month first, with their target counts by main reason."""
    return [_plan_out(s) for s in plans.plan_summaries()]


@router.get("/{int:plan_id}/targets", response=TargetPageOut, auth=VIEW)
def list_targets(
    request: HttpRequest,
    plan_id: int,
    assignee_id: int | None = None,
    day: dt.date | None = None,
    offset: int = 0,
    limit: int = 100,
) -> dict[str, Any]:
    """A plan's targets by planned day and priority, optionally one assignee's or one day's."""
    plan = get_object_or_404(CoveragePlan, pk=plan_id)
    targets = plan.targets.select_related("account").order_by("planned_on", "-priority", "id")
    if assignee_id is not None:
        targets = targets.filter(assignee_id=assignee_id)
    if day is not None:
        targets = targets.filter(planned_on=day)
    offset, limit = max(offset, 0), min(max(limit, 1), MAX_LIMIT)
    return {
        "count": targets.count(),
        "offset": offset,
        "limit": limit,
        "items": [_target_out(t) for t in targets[offset : offset + limit]],
    }


@router.post("/generate", response={202: RunOut, 422: ErrorOut}, auth=PLAN)
def generate(request: HttpRequest, payload: GenerateIn) -> Status[Any]:
    """Queue the month's generation for the worker; follow it at /runs/{id}."""
    running = plans.active_run(payload.month)
    if running is not None:
        return Status(202, running)
    try:
        return Status(202, plans.start_generation(payload.month, _actor(request)))
    except plans.PlanError as error:
        return _refused(error)


@router.get("/runs/{int:run_id}", response=RunOut, auth=VIEW)
def run_status(request: HttpRequest, run_id: int) -> PlanRun:
    return get_object_or_404(PlanRun, pk=run_id)


@router.post("/{int:plan_id}/targets/{int:target_id}/move", response={200: TargetOut, 422: ErrorOut}, auth=PLAN)
def move_target(request: HttpRequest, plan_id: int, target_id: int, payload: MoveIn) -> Status[dict[str, Any]]:
    """Give a target to another CSM and/or business day; it is kept as it is when the plan is regenerated."""
    plan = get_object_or_404(CoveragePlan, pk=plan_id)
    target = get_object_or_404(plan.targets.select_related("account"), pk=target_id)
    try:
        moved = plans.move_target(
            target, assignee=payload.assignee_id, planned_on=payload.planned_on, actor=_actor(request), via="api"
        )
    except plans.PlanError as error:
        return _refused(error)
    return Status(200, _target_out(moved))


@router.post("/{int:plan_id}/targets/bulk", response={200: BulkOut, 422: ErrorOut}, auth=PLAN)
def bulk(request: HttpRequest, plan_id: int, payload: BulkIn) -> Status[dict[str, Any]]:
    """Reassign, move or remove many targets at once: all or none."""
    plan = get_object_or_404(CoveragePlan, pk=plan_id)
    actor = _actor(request)
    try:
        if payload.action == "remove":
            changed = plans.remove_targets(plan, payload.targets, actor=actor, via="api")
        elif payload.action == "reassign":
            if payload.assignee_id is None:
                raise plans.PlanError(_("assignee_id: required to reassign."))
            changed = len(
                plans.bulk_update(plan, payload.targets, assignee=payload.assignee_id, actor=actor, via="api")
            )
        else:
            if payload.planned_on is None:
                raise plans.PlanError(_("planned_on: required to move."))
            changed = len(
                plans.bulk_update(plan, payload.targets, planned_on=payload.planned_on, actor=actor, via="api")
            )
    except plans.PlanError as error:
        return _refused(error)
    return Status(200, {"changed": changed})


@router.post("/{int:plan_id}/lock", response={200: PlanOut}, auth=PLAN)
def lock(request: HttpRequest, plan_id: int, payload: LockIn) -> dict[str, Any]:
    """Lock (refuse every change) or unlock the plan."""
    plan = get_object_or_404(CoveragePlan, pk=plan_id)
    if payload.locked and not plan.locked:
        plans.lock(plan, _actor(request), via="api")
    elif not payload.locked:
        plans.unlock(plan, _actor(request), via="api")
    summary = next(s for s in plans.plan_summaries() if s["plan"].pk == plan.pk)
    return _plan_out(summary)
