"""Surveys in the JSON API (mounted at /api/health/surveys): surveys CRUD, sending a wave, waves with their
progress and recipients, answers, and the NPS/CSAT aggregates.

Refused input answers 422 with `detail`: a list of {field, message}."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.core.paginator import Paginator
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status

from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused
from banso.core.models import User
from banso.core.permissions import Capability

from . import surveys
from .models import InvitationStatus, Survey, SurveyResponse, SurveyWave

survey_router = Router(tags=["surveys"])
VIEW = role(Capability.VIEW_ACCOUNTS)
MANAGE = role(Capability.MANAGE_HEALTH)
MAX_PAGE_SIZE = 500


class SurveyIn(Schema):
    name: str
    kind: Literal["nps", "csat"] = "nps"
    question: str = Field("", description="empty: the standard question of the kind; {会社名} is the company name")
    comment_question: str = surveys.DEFAULT_COMMENT_QUESTION
    audience: Literal["all", "tier", "segment"] = "all"
    tier: str = Field("", description="high, low or tech when audience is tier")
    segment_id: int | None = Field(None, description="an account segment when audience is segment")
    recipients: Literal["primary", "all"] = Field("primary", description="primary contacts only, or all with email")
    repeat_months: int | None = Field(None, description="null: one-off; 1–24: a wave every N months")
    next_due_on: dt.date | None = Field(None, description="next scheduled send (default today when repeating)")
    link_valid_days: int = 30
    is_active: bool = True


class SurveyOut(Schema):
    id: int
    name: str
    kind: str
    question: str
    comment_question: str
    audience: str
    tier: str
    segment_id: int | None
    recipients: str
    repeat_months: int | None
    next_due_on: dt.date | None
    link_valid_days: int
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class WaveOut(Schema):
    id: int
    survey_id: int
    due_on: dt.date
    scheduled: bool
    status: str
    total: int
    sent: int
    failed: int
    percent: int
    answered: int
    response_rate: float | None = Field(description="answers / sent, percent")
    error: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class InvitationOut(Schema):
    id: int
    account_id: int
    contact_id: int
    email: str
    status: str
    error: str
    sent_at: dt.datetime | None
    expires_at: dt.datetime
    score: int | None


class InvitationPage(Schema):
    count: int
    page: int
    pages: int
    results: list[InvitationOut]


class ResponseOut(Schema):
    id: int
    survey_id: int
    wave_id: int
    account_id: int
    contact_id: int
    score: int
    comment: str
    answered_at: dt.datetime


class ResponsePage(Schema):
    count: int
    page: int
    pages: int
    results: list[ResponseOut]


class PageIn(Schema):
    page: int = Field(1, ge=1)
    page_size: int = Field(100, ge=1, le=MAX_PAGE_SIZE)


class TestIn(Schema):
    email: str


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _refused(error: surveys.SurveyError) -> Status[dict[str, Any]]:
    return refused([(error.field, error.message)])


def _wave_out(wave: SurveyWave) -> dict[str, Any]:
    answered = SurveyResponse.objects.filter(invitation__wave=wave).count()
    return {
        **{f: getattr(wave, f) for f in ("id", "survey_id", "due_on", "scheduled", "status", "total", "sent")},
        **{f: getattr(wave, f) for f in ("failed", "percent", "error", "created_at", "started_at", "finished_at")},
        "answered": answered,
        "response_rate": round(100 * answered / wave.sent, 1) if wave.sent else None,
    }


@survey_router.get("", response=list[SurveyOut], auth=VIEW)
def list_surveys(request: HttpRequest) -> list[Survey]:
    return list(Survey.objects.order_by("-created_at", "-id"))


@survey_router.post("", response={201: SurveyOut, 422: ErrorOut}, auth=MANAGE)
def create_survey(request: HttpRequest, payload: SurveyIn) -> Status[Any]:
    try:
        survey = surveys.save_survey(None, surveys.SurveyData(**payload.dict()), _actor(request), via="api")
    except surveys.SurveyError as error:
        return _refused(error)
    return Status(201, survey)


@survey_router.get("/results", auth=VIEW)
def results(request: HttpRequest, kind: Literal["nps", "csat"] = "nps", months: int = 12) -> dict[str, Any]:
    """NPS (or CSAT) over all answers in the event store: overall, by month, by touch tier, by segment."""
    return surveys.aggregate(kind, months=max(1, min(months, 36)))


@survey_router.get("/{int:survey_id}", response=SurveyOut, auth=VIEW)
def get_survey(request: HttpRequest, survey_id: int) -> Survey:
    return get_object_or_404(Survey, pk=survey_id)


@survey_router.put("/{int:survey_id}", response={200: SurveyOut, 422: ErrorOut}, auth=MANAGE)
def update_survey(request: HttpRequest, survey_id: int, payload: SurveyIn) -> Status[Any]:
    survey = get_object_or_404(Survey, pk=survey_id)
    try:
        surveys.save_survey(survey, surveys.SurveyData(**payload.dict()), _actor(request), via="api")
    except surveys.SurveyError as error:
        return _refused(error)
    return Status(200, survey)


@survey_router.delete("/{int:survey_id}", response={204: None, 422: ErrorOut}, auth=MANAGE)
def delete_survey(request: HttpRequest, survey_id: int) -> Status[Any]:
    """Delete a survey that was never sent (one that was keeps its answers: set is_active false instead)."""
    survey = get_object_or_404(Survey, pk=survey_id)
    try:
        surveys.delete_survey(survey, _actor(request), via="api")
    except surveys.SurveyError as error:
        return _refused(error)
    return Status(204, None)


@survey_router.post("/{int:survey_id}/send", response={202: WaveOut}, auth=MANAGE)
def send_survey(request: HttpRequest, survey_id: int) -> Status[dict[str, Any]]:
    """Create a wave (one invitation per current contact) and queue its background send."""
    survey = get_object_or_404(Survey, pk=survey_id)
    return Status(202, _wave_out(surveys.start_wave(survey, _actor(request))))


@survey_router.post("/{int:survey_id}/test", response={204: None, 422: ErrorOut}, auth=MANAGE)
def send_test(request: HttpRequest, survey_id: int, payload: TestIn) -> Status[Any]:
    """Mail the invitation to one address with a link that stores nothing."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    survey = get_object_or_404(Survey, pk=survey_id)
    try:
        validate_email(payload.email)
    except ValidationError:
        return _refused(surveys.SurveyError("email", "Enter a valid email address."))
    surveys.send_test(survey, payload.email)
    return Status(204, None)


@survey_router.get("/{int:survey_id}/summary", auth=VIEW)
def survey_summary(request: HttpRequest, survey_id: int) -> dict[str, Any]:
    """This survey's answers: NPS with promoters/passives/detractors, or CSAT average and % satisfied."""
    survey = get_object_or_404(Survey, pk=survey_id)
    return {"survey_id": survey.pk, "kind": survey.kind, **surveys.survey_summary(survey)}


@survey_router.get("/{int:survey_id}/waves", response=list[WaveOut], auth=VIEW)
def list_waves(request: HttpRequest, survey_id: int) -> list[dict[str, Any]]:
    survey = get_object_or_404(Survey, pk=survey_id)
    return [_wave_out(w) for w in survey.waves.order_by("-created_at", "-id")]


@survey_router.get("/waves/{int:wave_id}", response=WaveOut, auth=VIEW)
def get_wave(request: HttpRequest, wave_id: int) -> dict[str, Any]:
    """A wave with its progress: poll it while status is queued or sending."""
    return _wave_out(get_object_or_404(SurveyWave, pk=wave_id))


@survey_router.post("/waves/{int:wave_id}/resume", response={202: WaveOut}, auth=MANAGE)
def resume_wave(request: HttpRequest, wave_id: int) -> Status[dict[str, Any]]:
    """Queue what a stopped wave has not sent; recipients already sent are never sent again."""
    wave = get_object_or_404(SurveyWave, pk=wave_id)
    surveys.resume_wave(wave)
    wave.refresh_from_db()
    return Status(202, _wave_out(wave))


@survey_router.get("/waves/{int:wave_id}/invitations", response=InvitationPage, auth=VIEW)
def wave_invitations(
    request: HttpRequest,
    wave_id: int,
    paging: Query[PageIn],
    status: Literal["pending", "sent", "failed"] | None = None,
) -> dict[str, Any]:
    """Per-recipient status of a wave."""
    wave = get_object_or_404(SurveyWave, pk=wave_id)
    found = wave.invitations.select_related("response").order_by("id")
    if status in InvitationStatus.values:
        found = found.filter(status=status)
    page = Paginator(found, paging.page_size).get_page(paging.page)
    results = [
        {
            **{f: getattr(i, f) for f in ("id", "account_id", "contact_id", "email", "status", "error")},
            "sent_at": i.sent_at,
            "expires_at": i.expires_at,
            "score": getattr(getattr(i, "response", None), "score", None),
        }
        for i in page
    ]
    return {"count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages, "results": results}


@survey_router.get("/{int:survey_id}/responses", response=ResponsePage, auth=VIEW)
def survey_responses(request: HttpRequest, survey_id: int, paging: Query[PageIn]) -> dict[str, Any]:
    survey = get_object_or_404(Survey, pk=survey_id)
    found = survey.responses.select_related("invitation").order_by("-answered_at", "-id")
    page = Paginator(found, paging.page_size).get_page(paging.page)
    results = [
        {
            **{f: getattr(r, f) for f in ("id", "survey_id", "account_id", "contact_id", "score", "comment")},
            "wave_id": r.invitation.wave_id,
            "answered_at": r.answered_at,
        }
        for r in page
    ]
    return {"count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages, "results": results}
