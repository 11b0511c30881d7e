"""The rules part of the marketplace API (mounted at /api/marketplace/rules): threshold rules (CRUD and a dry-run
preview), their firings (list, detail with the stored plan, approve, reject), and evaluation runs (start one, read
its status). Bad input answers 422 naming the field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import ProtectedError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Router, Schema, Status

from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused, validation_errors
from banso.core.models import User
from banso.core.permissions import Capability

from . import rules
from .models import EvaluationRun, Firing, FiringStatus, IncidentType, Rule, Severity

router = Router(tags=["marketplace"])
VIEW = role(Capability.VIEW_ACCOUNTS)
MANAGE = role(Capability.MANAGE_MARKETPLACE)
FIRINGS_LIMIT = 500


class RuleIn(Schema):
    name: str
    is_active: bool = True
    incident_types: list[str] = []
    min_severity: int = Severity.LOW
    window_days: int = 90
    threshold: int = 2
    weighted: bool = False
    warn_provider: bool = True
    notify_customers: bool = False
    offer_alternatives: bool = False
    alternatives_count: int = 3
    hold_new_bookings: bool = False
    cancel_upcoming: bool = False
    refund_cancelled: bool = True
    horizon_days: int = 30
    requires_approval: bool = True


class RuleOut(RuleIn):
    id: int
    created_at: dt.datetime
    updated_at: dt.datetime


class FiringOut(Schema):
    id: int
    rule_id: int
    rule: str
    provider_id: int
    provider: str
    status: str
    score: int
    evaluated_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_note: str
    executed_at: dt.datetime | None
    plan: dict[str, Any]
    outcome: dict[str, Any]


class PreviewOut(Schema):
    provider_id: int
    score: int
    plan: dict[str, Any]


class DecisionIn(Schema):
    note: str = ""


class RunOut(Schema):
    id: int
    status: str
    percent: int
    step: str
    providers: int
    firings: int
    executed: int
    error: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _rule(r: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {name: getattr(r, name) for name in rules.RULE_FIELDS}
    out.update(id=r.pk, created_at=r.created_at, updated_at=r.updated_at)
    return out


def _firing(f: Firing) -> dict[str, Any]:
    return {
        "id": f.pk,
        "rule_id": f.rule_id,
        "rule": f.rule.name,
        "provider_id": f.provider_id,
        "provider": f.provider.name,
        "status": f.status,
        "score": f.score,
        "evaluated_at": f.evaluated_at,
        "decided_by": str(f.decided_by) if f.decided_by else None,
        "decided_at": f.decided_at,
        "decision_note": f.decision_note,
        "executed_at": f.executed_at,
        "plan": f.plan,
        "outcome": f.outcome,
    }


def _run(r: EvaluationRun) -> dict[str, Any]:
    return {
        "id": r.pk,
        "status": r.status,
        "percent": r.percent,
        "step": r.step,
        "providers": r.providers,
        "firings": r.firings,
        "executed": r.executed,
        "error": r.error,
        "created_at": r.created_at,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
    }


def _input_errors(payload: RuleIn) -> list[tuple[str, str]]:
    errors = []
    bad = [t for t in payload.incident_types if t not in IncidentType.values]
    if bad:
        errors.append(("incident_types", f"unknown incident types {bad}; use {IncidentType.values}"))
    if payload.min_severity not in Severity.values:
        errors.append(("min_severity", f"one of {Severity.values}"))
    for name in ("window_days", "threshold", "alternatives_count", "horizon_days"):
        if not 0 <= getattr(payload, name) <= 32767:
            errors.append((name, "a whole number from 0 to 32767"))
    return errors


@router.get("", response=list[RuleOut], auth=VIEW)
def list_rules(request: HttpRequest) -> list[dict[str, Any]]:
    return [_rule(r) for r in Rule.objects.all()]


@router.post("", response={201: RuleOut, 422: ErrorOut}, auth=MANAGE)
def create_rule(request: HttpRequest, payload: RuleIn) -> Any:
    if errors := _input_errors(payload):
        return refused(errors)
    try:
        rule = rules.save_rule(None, payload.dict(), actor=_actor(request), via="api")
    except ValidationError as error:
        return refused(validation_errors(error))
    return Status(201, _rule(rule))


@router.get("/{int:rule_id}", response=RuleOut, auth=VIEW)
def get_rule(request: HttpRequest, rule_id: int) -> dict[str, Any]:
    return _rule(get_object_or_404(Rule, pk=rule_id))


@router.put("/{int:rule_id}", response={200: RuleOut, 422: ErrorOut}, auth=MANAGE)
def update_rule(request: HttpRequest, rule_id: int, payload: RuleIn) -> Any:
    rule = get_object_or_404(Rule, pk=rule_id)
    if errors := _input_errors(payload):
        return refused(errors)
    try:
        rule = rules.save_rule(rule, payload.dict(), actor=_actor(request), via="api")
    except ValidationError as error:
        return refused(validation_errors(error))
    return Status(200, _rule(rule))


@router.delete("/{int:rule_id}", response={204: None, 422: ErrorOut}, auth=MANAGE)
def delete_rule(request: HttpRequest, rule_id: int) -> Any:
    rule = get_object_or_404(Rule, pk=rule_id)
    try:
        rules.delete_rule(rule, actor=_actor(request), via="api")
    except ProtectedError:
        return refused([("id", "the rule has fired; deactivate it (is_active false) instead")])
    return Status(204, None)


@router.post("/{int:rule_id}/preview", response=list[PreviewOut], auth=VIEW)
def preview_rule(request: HttpRequest, rule_id: int) -> list[dict[str, Any]]:
    """The dry run: what the rule would do if evaluated now (nothing is saved or sent)."""
    rule = get_object_or_404(Rule, pk=rule_id)
    return [
        {"provider_id": f.provider_id, "score": f.score, "plan": f.plan} for f in rules.preview(rule, timezone.now())
    ]


@router.get("/firings", response={200: list[FiringOut], 422: ErrorOut}, auth=VIEW)
def list_firings(
    request: HttpRequest, status: str | None = None, rule: int | None = None, provider: int | None = None
) -> Any:
    """Firings, those awaiting approval first, then the latest (at most 500)."""
    qs = Firing.objects.select_related("rule", "provider", "decided_by")
    if status:
        if status not in FiringStatus.values:
            return refused([("status", f"one of {FiringStatus.values}")])
        qs = qs.filter(status=status)
    if rule is not None:
        qs = qs.filter(rule_id=rule)
    if provider is not None:
        qs = qs.filter(provider_id=provider)
    rows = sorted(qs.order_by("-evaluated_at", "-id")[:FIRINGS_LIMIT], key=lambda f: f.status != FiringStatus.PROPOSED)
    return Status(200, [_firing(f) for f in rows])


@router.get("/firings/{int:firing_id}", response=FiringOut, auth=VIEW)
def get_firing(request: HttpRequest, firing_id: int) -> dict[str, Any]:
    return _firing(get_object_or_404(Firing.objects.select_related("rule", "provider", "decided_by"), pk=firing_id))


@router.post("/firings/{int:firing_id}/approve", response={200: FiringOut, 422: ErrorOut}, auth=MANAGE)
def approve_firing(request: HttpRequest, firing_id: int, payload: DecisionIn) -> Any:
    firing = get_object_or_404(Firing, pk=firing_id)
    try:
        rules.approve(firing, _actor(request), payload.note, via="api")
    except rules.RuleError as error:
        return refused([(error.field, error.message)])
    return Status(200, _firing(Firing.objects.select_related("rule", "provider", "decided_by").get(pk=firing_id)))


@router.post("/firings/{int:firing_id}/reject", response={200: FiringOut, 422: ErrorOut}, auth=MANAGE)
def reject_firing(request: HttpRequest, firing_id: int, payload: DecisionIn) -> Any:
    firing = get_object_or_404(Firing, pk=firing_id)
    actor = _actor(request)
    assert actor is not None
    try:
        rules.reject(firing, actor, payload.note, via="api")
    except rules.RuleError as error:
        return refused([(error.field, error.message)])
    return Status(200, _firing(Firing.objects.select_related("rule", "provider", "decided_by").get(pk=firing_id)))


@router.post("/evaluate", response={202: RunOut}, auth=MANAGE)
def start_evaluation(request: HttpRequest) -> Any:
    """Queue an evaluation of every active rule (or return the one already waiting or running)."""
    run = rules.active_evaluation() or rules.start_evaluation(_actor(request))
    return Status(202, _run(run))


@router.get("/evaluations/{int:run_id}", response=RunOut, auth=VIEW)
def evaluation_status(request: HttpRequest, run_id: int) -> dict[str, Any]:
    return _run(get_object_or_404(EvaluationRun, pk=run_id))
