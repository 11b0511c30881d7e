"""Trigger evaluations in the JSON API (mounted under /api/playbooks/triggers): queue an evaluation (202 with
the run to follow) and read a run with what it started per playbook. Unknown ids are 404."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status

from banso.api.auth import role
from banso.core.models import User
from banso.core.permissions import Capability

from . import triggers
from .models import TriggerRun

router = Router(tags=["playbooks"])
VIEW = role(Capability.WORK_TASKS)
MANAGE = role(Capability.MANAGE_PLAYBOOKS)
MAX_LIMIT = 100


class PlaybookResultOut(Schema):
    playbook_id: int
    name: str
    trigger: str
    fired: int = Field(description="accounts the trigger fired for")
    matched: int = Field(description="of those, accounts matching the playbook's conditions")
    started: int = Field(description="runs started (after the cool-down and causes already used)")
    error: str = Field(description="why the playbook could not be evaluated; empty when it was")


class TriggerRunOut(Schema):
    id: int
    as_of: dt.date
    status: str = Field(description="queued, running, succeeded or failed")
    percent: int
    step: str
    error: str
    scheduled: bool
    accounts_checked: int
    runs_started: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    results: list[PlaybookResultOut]


def _out(run: TriggerRun) -> dict[str, Any]:
    fields = ("id", "as_of", "status", "percent", "step", "error", "scheduled", "accounts_checked", "runs_started")
    out: dict[str, Any] = {name: getattr(run, name) for name in fields}
    out |= {"created_at": run.created_at, "started_at": run.started_at, "finished_at": run.finished_at}
    out["results"] = [{"matched": 0, "error": "", **line} for line in run.results]
    return out


@router.post("/evaluate", response={202: TriggerRunOut}, auth=MANAGE)
def evaluate(request: HttpRequest) -> Status[Any]:
    """Queue an evaluation of every active playbook's trigger for the worker; follow it at /runs/{id}. While one
    is already queued or running, that one is answered instead of queueing a second."""
    running = triggers.active_evaluation()
    if running is not None:
        return Status(202, _out(running))
    actor = request.user if isinstance(request.user, User) else None
    return Status(202, _out(triggers.start_evaluation(actor)))


@router.get("/runs", response=list[TriggerRunOut], auth=VIEW)
def runs(request: HttpRequest, limit: int = 20) -> list[dict[str, Any]]:
    """The latest evaluations, newest first."""
    return [_out(run) for run in TriggerRun.objects.all()[: max(1, min(limit, MAX_LIMIT))]]


@router.get("/runs/{int:run_id}", response=TriggerRunOut, auth=VIEW)
def run_detail(request: HttpRequest, run_id: int) -> dict[str, Any]:
    return _out(get_object_or_404(TriggerRun, pk=run_id))
