"""Health in the JSON API: scorecards (list, detail, create, update — each change of definition a new
version), an account's score now, its history and the explanation for a day, and rescore runs.

A definition that cannot run is refused with 422 and `detail`: a list of {field, message}, the field being
the path inside the request body (`definition.measures.0.mapping.bad`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from banso.accounts.models import Account
from banso.analytics.models import Segment
from banso.analytics.specs import SpecError
from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused
from banso.core.models import User
from banso.core.permissions import Capability

from . import services
from .models import HealthRun, Scorecard

router = Router(tags=["health"])
VIEW = role(Capability.VIEW_ACCOUNTS)
MANAGE = role(Capability.MANAGE_HEALTH)


class VersionOut(Schema):
    number: int
    definition: dict[str, Any]
    note: str
    created_at: dt.datetime
    changes: list[str] = Field(description="what this version changed against the one before, in words")


class ScorecardOut(Schema):
    id: int
    name: str
    description: str
    segment_id: int | None
    tier: str
    priority: int
    is_active: bool
    is_default: bool
    version: int | None = Field(description="the current version's number")
    definition: dict[str, Any] | None


class ScorecardDetailOut(ScorecardOut):
    versions: list[VersionOut]


class ScorecardIn(Schema):
    name: str
    description: str = ""
    segment_id: int | None = Field(None, description="an account segment; with no segment and no tier: default card")
    tier: Literal["", "high", "low", "tech"] = ""
    priority: int = Field(100, description="lower is tried first")
    is_active: bool = True
    note: str = Field("", description="why this version (kept with it)")
    definition: dict[str, Any] = Field(
        description='{"measures": [{"key": "metric:logins_30d", "weight": 50, "mapping": {"type": "range", '
        '"bad": 0, "good": 20}}, {"key": "inquiries:open", "weight": 50, "mapping": {"type": "thresholds", '
        '"steps": [{"min": 3, "points": 0}, {"min": 1, "points": 60}], "otherwise": 100}}], '
        '"bands": {"red_below": 40, "green_from": 70}}'
    )


class ScoreOut(Schema):
    account_id: int
    day: dt.date
    score: Decimal
    band: str
    change: Decimal | None
    scorecard_id: int
    scorecard: str
    version: int


class MeasureLineOut(Schema):
    key: str
    label: str
    raw: float | None = Field(description="null: no data, its weight shared among the others")
    points: float | None
    rule: str
    weight: float
    effective_weight: float = Field(description="share of the score in percent")
    contribution: float


class ExplanationOut(ScoreOut):
    redistributed: bool
    measures: list[MeasureLineOut]


class HistoryPointOut(Schema):
    day: dt.date
    score: Decimal
    band: str


class RunIn(Schema):
    as_of: dt.date | None = Field(None, description="default: today (Japan)")


class RunOut(Schema):
    id: int
    as_of: dt.date
    status: str
    percent: int
    step: str
    accounts_scored: int
    error: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


def _refused(error: SpecError) -> Status[dict[str, Any]]:
    return refused(error.errors)


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _card_out(card: Scorecard) -> dict[str, Any]:
    return {
        "id": card.pk,
        "name": card.name,
        "description": card.description,
        "segment_id": card.segment_id,
        "tier": card.tier,
        "priority": card.priority,
        "is_active": card.is_active,
        "is_default": card.is_default,
        "version": card.current.number if card.current else None,
        "definition": card.current.definition if card.current else None,
    }


def _detail_out(card: Scorecard) -> dict[str, Any]:
    versions = list(card.versions.order_by("number"))
    out = []
    for previous, version in zip([None, *versions], versions, strict=False):
        out.append(
            {
                "number": version.number,
                "definition": version.definition,
                "note": version.note,
                "created_at": version.created_at,
                "changes": services.version_changes(previous.definition if previous else None, version.definition),
            }
        )
    return {**_card_out(card), "versions": list(reversed(out))}


def _save(request: HttpRequest, payload: ScorecardIn, instance: Scorecard | None) -> Scorecard:
    segment = None
    if payload.segment_id is not None:
        segment = Segment.objects.filter(pk=payload.segment_id).first()
        if segment is None:
            raise SpecError([("segment_id", _("No such segment."))])
    data = payload.dict(exclude={"segment_id"})
    return services.save_scorecard(_actor(request), segment=segment, instance=instance, via="api", **data)


@router.get("/scorecards", response=list[ScorecardOut], auth=VIEW)
def list_scorecards(request: HttpRequest) -> list[dict[str, Any]]:
    """Every card in the order cards are tried (the default card last)."""
    cards = Scorecard.objects.select_related("current")
    return [_card_out(card) for card in sorted(cards, key=lambda c: (c.is_default, c.priority, c.pk))]


@router.get("/scorecards/{int:card_id}", response=ScorecardDetailOut, auth=VIEW)
def get_scorecard(request: HttpRequest, card_id: int) -> dict[str, Any]:
    """A card with all its versions, newest first, each with what it changed."""
    return _detail_out(get_object_or_404(Scorecard.objects.select_related("current"), pk=card_id))


@router.post("/scorecards", response={201: ScorecardDetailOut, 422: ErrorOut}, auth=MANAGE)
def create_scorecard(request: HttpRequest, payload: ScorecardIn) -> Status[dict[str, Any]]:
    try:
        card = _save(request, payload, None)
    except SpecError as error:
        return _refused(error)
    return Status(201, _detail_out(card))


@router.put("/scorecards/{int:card_id}", response={200: ScorecardDetailOut, 422: ErrorOut}, auth=MANAGE)
def update_scorecard(request: HttpRequest, card_id: int, payload: ScorecardIn) -> Status[dict[str, Any]]:
    """Change a card; a changed definition becomes a new version (snapshots keep the version they used)."""
    card = get_object_or_404(Scorecard.objects.select_related("current"), pk=card_id)
    try:
        _save(request, payload, card)
    except SpecError as error:
        return _refused(error)
    return Status(200, _detail_out(card))


def _score_out(snap: Any) -> dict[str, Any]:
    return {
        "account_id": snap.account_id,
        "day": snap.day,
        "score": snap.score,
        "band": snap.band,
        "change": snap.change,
        "scorecard_id": snap.scorecard_id,
        "scorecard": snap.scorecard.name,
        "version": snap.version.number,
    }


@router.get("/accounts/{int:account_id}/score", response={200: ScoreOut, 404: ErrorOut}, auth=VIEW)
def account_score(request: HttpRequest, account_id: int) -> Status[dict[str, Any]]:
    """The account's latest score."""
    get_object_or_404(Account.objects.only("id"), pk=account_id)
    snap = services.snapshot_on(account_id)
    if snap is None:
        return Status(404, {"detail": [{"field": "", "message": _("This account has not been scored yet.")}]})
    return Status(200, _score_out(snap))


@router.get("/accounts/{int:account_id}/history", response=list[HistoryPointOut], auth=VIEW)
def account_history(request: HttpRequest, account_id: int, since: dt.date | None = None) -> list[Any]:
    """Every daily score of the account (from `since`), oldest first."""
    get_object_or_404(Account.objects.only("id"), pk=account_id)
    return services.history(account_id, since)


@router.get("/accounts/{int:account_id}/explanation", response={200: ExplanationOut, 404: ErrorOut}, auth=VIEW)
def account_explanation(request: HttpRequest, account_id: int, day: dt.date | None = None) -> Status[dict[str, Any]]:
    """How the score of a day (default: the latest) was made, measure by measure."""
    get_object_or_404(Account.objects.only("id"), pk=account_id)
    snap = services.snapshot_on(account_id, day)
    if snap is None:
        return Status(404, {"detail": [{"field": "day", "message": _("No score for this day.")}]})
    found = services.explain(snap)
    lines = [line.__dict__ for line in found.lines]
    return Status(200, {**_score_out(snap), "redistributed": found.redistributed, "measures": lines})


@router.post("/rescore", response={202: RunOut}, auth=MANAGE)
def start_rescore(request: HttpRequest, payload: RunIn) -> Status[HealthRun]:
    """Queue a rescore of a day for the worker; poll the run for its progress."""
    return Status(202, services.start_rescore(_actor(request), payload.as_of))


@router.get("/runs/{int:run_id}", response=RunOut, auth=VIEW)
def get_run(request: HttpRequest, run_id: int) -> HealthRun:
    return get_object_or_404(HealthRun, pk=run_id)


# Surveys: their own router (health/survey_api.py), under /api/health/surveys.
from .survey_api import survey_router  # noqa: E402

router.add_router("/surveys", survey_router)
