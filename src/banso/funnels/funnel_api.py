"""Funnels in the JSON API (mounted under /api/funnels): funnel definitions (read, create, replace), the
latest run's clients sorted by loss (filters, paging), one client's funnel (?as_of, ?project), and
computations (POST /runs answers 202; follow GET /runs/{id}). Refusals name the field (stages.2.event_kind)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from banso.accounts.models import Account
from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused
from banso.core.models import User
from banso.core.permissions import Capability

from . import presenting
from .funnel_forms import clean_definition, default_funnel, definition_of, save_definition
from .models import ClientFunnel, Funnel, FunnelRun

router = Router(tags=["funnels"])
VIEW = role(Capability.VIEW_ACCOUNTS)
MANAGE = role(Capability.MANAGE_FUNNELS)
MAX_LIMIT = 500


class StageIn(Schema):
    id: int | None = Field(None, description="an existing stage's id keeps that stage (and trackers on it)")
    label: str
    rate_label: str = ""
    event_kind: str


class FunnelIn(Schema):
    name: str
    description: str = ""
    peer_attribute: str = "industry"
    project_property: str = "project"
    period_days: int = 30
    history_periods: int = 6
    response_event_kind: str = ""
    response_target_minutes: int = 15
    business_hours: list[list[str]] = Field(default_factory=list, description='[["09:00", "12:00"], ...]')
    stages: list[StageIn]


class StageOut(Schema):
    id: int
    label: str
    rate_label: str
    event_kind: str


class FunnelOut(Schema):
    id: int
    is_default: bool
    name: str
    description: str
    peer_attribute: str
    project_property: str
    period_days: int
    history_periods: int
    response_event_kind: str
    response_target_minutes: int
    business_hours: list[list[str]]
    stages: list[StageOut]


class StageResultOut(Schema):
    label: str
    count: int
    rate: float | None = Field(description="into this stage from the previous one; null for the first stage or 0/0")
    history: float | None
    benchmark: float | None
    difference_pt: int | None


class ClientFunnelOut(Schema):
    account_id: int
    client: str
    project: str
    period_start: dt.date
    period_end: dt.date
    peer_group: str
    peers: int
    stages: list[StageResultOut]
    bottleneck_stage: str
    loss_per_month: float = Field(description="final outcomes lost per month at the bottleneck")
    explanation: str


class ClientPageOut(Schema):
    run_id: int | None
    as_of: dt.date | None
    total: int
    items: list[ClientFunnelOut]


class RunOut(Schema):
    id: int
    funnel_id: int
    as_of: dt.date
    status: str = Field(description="queued, running, succeeded or failed")
    percent: int
    step: str
    error: str
    clients: int
    events: int
    created_at: dt.datetime
    finished_at: dt.datetime | None


class RunIn(Schema):
    funnel_id: int | None = None
    as_of: dt.date | None = None


def _client_out(cf: ClientFunnel, stages: list[Any]) -> dict[str, Any]:
    lines = presenting.stage_lines(cf, stages)
    return {
        "account_id": cf.account_id,
        "client": cf.account.name,
        "project": cf.project,
        "period_start": cf.period_start,
        "period_end": cf.period_end,
        "peer_group": cf.peer_group,
        "peers": cf.peers,
        "stages": [
            {
                "label": s.label,
                "count": s.count,
                "rate": s.rate,
                "history": s.history,
                "benchmark": s.benchmark,
                "difference_pt": s.diff_pt,
            }
            for s in lines
        ],
        "bottleneck_stage": next((s.label for s in lines if s.is_bottleneck), ""),
        "loss_per_month": float(cf.loss_per_month),
        "explanation": cf.explanation,
    }


def _run_out(run: FunnelRun) -> dict[str, Any]:
    names = ("id", "funnel_id", "as_of", "status", "percent", "step", "error", "clients", "events")
    return {name: getattr(run, name) for name in names} | {
        "created_at": run.created_at,
        "finished_at": run.finished_at,
    }


def _funnel(funnel_id: int | None) -> Funnel:
    if funnel_id is not None:
        return get_object_or_404(Funnel, pk=funnel_id)
    funnel = default_funnel()
    if funnel is None:
        raise Http404("no funnel is set up")
    return funnel


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


@router.get("/definitions", response=list[FunnelOut], auth=VIEW)
def definitions(request: HttpRequest) -> list[dict[str, Any]]:
    """Every funnel with its stages in order, the default first."""
    return [definition_of(funnel) for funnel in Funnel.objects.prefetch_related("stages")]


@router.get("/definitions/{int:funnel_id}", response=FunnelOut, auth=VIEW)
def definition(request: HttpRequest, funnel_id: int) -> dict[str, Any]:
    return definition_of(get_object_or_404(Funnel, pk=funnel_id))


@router.post("/definitions", response={201: FunnelOut, 422: ErrorOut}, auth=MANAGE)
def create_definition(request: HttpRequest, payload: FunnelIn) -> Status[Any]:
    clean, errors = clean_definition(payload.dict())
    if errors:
        return refused(errors)
    return Status(201, definition_of(save_definition(None, clean, _actor(request), via="api")))


@router.put("/definitions/{int:funnel_id}", response={200: FunnelOut, 422: ErrorOut}, auth=MANAGE)
def replace_definition(request: HttpRequest, funnel_id: int, payload: FunnelIn) -> Status[Any]:
    """Replace the settings and stages; stages given with their id (or the same event kind) are kept and
    moved, stages left out are deleted."""
    funnel = get_object_or_404(Funnel, pk=funnel_id)
    clean, errors = clean_definition(payload.dict())
    if errors:
        return refused(errors)
    return Status(200, definition_of(save_definition(funnel, clean, _actor(request), via="api")))


@router.get("/clients", response=ClientPageOut, auth=VIEW)
def clients(
    request: HttpRequest,
    funnel_id: int | None = None,
    owner: int | None = None,
    peer_group: str = "",
    tier: str = "",
    projects: bool = False,
    offset: int = 0,
    limit: int = 100,
) -> dict[str, Any]:
    """The latest run's client funnels, the largest loss per month first."""
    funnel = _funnel(funnel_id)
    run = presenting.latest_run(funnel)
    filters = presenting.ClientFilters(owner=owner, peer_group=peer_group, tier=tier, projects=projects)
    rows = presenting.client_rows(run, filters)
    stages = list(funnel.stages.order_by("position"))
    offset, limit = max(0, offset), max(1, min(limit, MAX_LIMIT))
    return {
        "run_id": run.pk if run else None,
        "as_of": run.as_of if run else None,
        "total": rows.count(),
        "items": [_client_out(cf, stages) for cf in rows[offset : offset + limit]],
    }


@router.get("/clients/{int:account_id}", response=ClientFunnelOut, auth=VIEW)
def client(
    request: HttpRequest, account_id: int, funnel_id: int | None = None, as_of: dt.date | None = None, project: str = ""
) -> dict[str, Any]:
    """One client's funnel: the latest run's, or computed now for another day (?as_of) or a project."""
    account = get_object_or_404(Account, pk=account_id)
    funnel = _funnel(funnel_id)
    view = presenting.client_view(funnel, account, as_of=as_of, project=project)
    if view.result is None:
        raise Http404("not computed yet")
    return _client_out(view.result, list(funnel.stages.order_by("position")))


@router.post("/runs", response={202: RunOut}, auth=MANAGE)
def start_run(request: HttpRequest, payload: RunIn) -> Status[Any]:
    """Queue a computation for the worker; while one is queued or running, that one is answered."""
    funnel = _funnel(payload.funnel_id)
    running = presenting.active_run(funnel)
    if running is not None:
        return Status(202, _run_out(running))
    from . import computing

    return Status(202, _run_out(computing.start_computation(funnel, _actor(request), payload.as_of)))


@router.get("/runs/{int:run_id}", response=RunOut, auth=VIEW)
def run_detail(request: HttpRequest, run_id: int) -> dict[str, Any]:
    return _run_out(get_object_or_404(FunnelRun, pk=run_id))
