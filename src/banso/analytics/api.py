"""Analytics in the JSON API: the metric catalogue and custom metrics, an account's metric values,
segments (define, preview, refresh, members, history) and recompute runs.

A definition that cannot run is refused with 422 and `detail`: a list of {field, message}, the field
being the path inside the request body (`spec.window.days`, `rules.rules.0.value`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.core.paginator import Paginator
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from banso.accounts.models import Account
from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused
from banso.core.models import User
from banso.core.permissions import Capability

from . import describe, queries, services
from .backends import BackendError
from .catalogue import CatalogueMetric
from .models import AnalyticsRun, MetricDefinition, Segment
from .specs import SpecError, Subject, parse_metric
from .values import values_on

router = Router(tags=["analytics"])
VIEW = role(Capability.VIEW_ANALYTICS)
MANAGE = role(Capability.MANAGE_ANALYTICS)
MAX_PAGE_SIZE = 500


class MetricOut(Schema):
    key: str
    label: str
    category: str
    subject: str
    builtin: bool
    is_active: bool
    description: str
    definition: str = Field(description="the definition in words, in the request's language")
    spec: dict[str, Any]


class MetricIn(Schema):
    key: str = Field(description="2–63 lower-case letters, digits and underscores; not a built-in key")
    label: str
    description: str = ""
    spec: dict[str, Any] = Field(
        description='e.g. {"aggregate": "count", "kinds": ["login"], "window": {"days": 30}}; subject defaults '
        "to account; aggregates: count, sum, distinct_end_users, distinct_accounts, days_since, trend"
    )
    is_active: bool = True


class MetricUpdate(Schema):
    label: str
    description: str = ""
    spec: dict[str, Any]
    is_active: bool = True


class MetricValueOut(Schema):
    metric: str
    label: str
    value: Decimal | None


class AccountValuesOut(Schema):
    account_id: int
    on: dt.date | None = Field(description="the day asked for; null: the latest values")
    values: list[MetricValueOut] = Field(description="metrics with a stored value; any other is at its empty value")


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    subject_type: str
    rules: dict[str, Any]
    is_active: bool
    member_count: int
    refreshed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class SegmentIn(Schema):
    name: str
    description: str = ""
    subject_type: Literal["account", "end_user"] = "account"
    rules: dict[str, Any] = Field(
        description='a rule group: {"match": "all", "rules": [{"type": "metric", "metric": "days_since_login", '
        '"op": "gte", "value": 30}, {"type": "attribute", "field": "tier", "op": "eq", "value": "high"}]}'
    )
    is_active: bool = Field(True, description="refreshed on every recompute")


class PreviewIn(Schema):
    subject_type: Literal["account", "end_user"] = "account"
    rules: dict[str, Any]
    as_of: dt.date | None = Field(None, description="default: today (Japan)")


class PreviewOut(Schema):
    count: int
    as_of: dt.date


class RefreshOut(Schema):
    member_count: int
    entered: int
    left: int


class MemberOut(Schema):
    subject_id: int
    name: str
    external_id: str
    exists: bool = Field(description="false when the account or end user was deleted since")
    entered_at: dt.datetime


class MemberPage(Schema):
    count: int
    page: int
    pages: int
    results: list[MemberOut]


class ChangeOut(Schema):
    subject_id: int
    change: str = Field(description="entered or left")
    at: dt.datetime


class HistoryPage(Schema):
    count: int
    page: int
    pages: int
    results: list[ChangeOut]


class PageIn(Schema):
    page: int = Field(1, ge=1)
    page_size: int = Field(100, ge=1, le=MAX_PAGE_SIZE)


class RunIn(Schema):
    as_of: dt.date | None = Field(None, description="default: today (Japan)")


class RunOut(Schema):
    id: int
    as_of: dt.date
    status: str
    percent: int
    step: str
    backend: str
    events_synced: int
    values_written: int
    segments_refreshed: int
    error: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


def _refused(error: SpecError) -> Status[dict[str, Any]]:
    return refused(error.errors)


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _metric_out(metric: CatalogueMetric, *, is_active: bool = True) -> dict[str, Any]:
    return {
        "key": metric.key,
        "label": str(metric.label),
        "category": str(metric.category),
        "subject": metric.spec.subject,
        "builtin": metric.builtin,
        "is_active": is_active,
        "description": metric.description,
        "definition": describe.metric_text(metric.spec),
        "spec": metric.spec.model_dump(mode="json", exclude_defaults=True),
    }


def _definition_out(definition: MetricDefinition) -> dict[str, Any]:
    spec = parse_metric(definition.spec)
    metric = CatalogueMetric(definition.key, definition.label, _("Custom"), spec, False, definition.description)
    return _metric_out(metric, is_active=definition.is_active)


@router.get("/metrics", response=list[MetricOut], auth=VIEW)
def list_metrics(
    request: HttpRequest, subject: Literal["account", "end_user"] | None = None, include_inactive: bool = False
) -> list[dict[str, Any]]:
    """The catalogue: built-in metrics, then custom ones (inactive ones too with include_inactive)."""
    found = services.catalogue(subject, include_inactive=include_inactive)
    active = set(services.catalogue(subject)) if include_inactive else set(found)
    return [_metric_out(metric, is_active=key in active) for key, metric in found.items()]


@router.post("/metrics", response={201: MetricOut, 422: ErrorOut}, auth=MANAGE)
def create_metric(request: HttpRequest, payload: MetricIn) -> Status[dict[str, Any]]:
    try:
        definition = services.save_custom_metric(_actor(request), via="api", **payload.dict())
    except SpecError as error:
        return _refused(error)
    return Status(201, _definition_out(definition))


@router.put("/metrics/{key}", response={200: MetricOut, 422: ErrorOut}, auth=MANAGE)
def update_metric(request: HttpRequest, key: str, payload: MetricUpdate) -> Status[dict[str, Any]]:
    """Change a custom metric (built-in ones cannot change). Deactivating one that an active segment uses is
    refused."""
    definition = get_object_or_404(MetricDefinition, key=key)
    data = payload.dict()
    try:
        services.update_custom_metric(_actor(request), definition, via="api", **data)
    except SpecError as error:
        return _refused(error)
    return Status(200, _definition_out(definition))


@router.get("/accounts/{int:account_id}/values", response=AccountValuesOut, auth=VIEW)
def account_values(request: HttpRequest, account_id: int, on: dt.date | None = None) -> dict[str, Any]:
    """An account's metric values: the latest, or those in force on the day `on`."""
    get_object_or_404(Account.objects.only("id"), pk=account_id)
    values = values_on("account", account_id, on)
    labels = {key: str(metric.label) for key, metric in services.catalogue("account", include_inactive=True).items()}
    return {
        "account_id": account_id,
        "on": on,
        "values": [
            {"metric": key, "label": labels.get(key, key), "value": value} for key, value in sorted(values.items())
        ],
    }


@router.get("/segments", response=list[SegmentOut], auth=VIEW)
def list_segments(request: HttpRequest) -> list[Segment]:
    return list(Segment.objects.all())


@router.post("/segments", response={201: SegmentOut, 422: ErrorOut}, auth=MANAGE)
def create_segment(request: HttpRequest, payload: SegmentIn) -> Status[Any]:
    """Define a segment; its members are found by the next recompute or a refresh."""
    try:
        segment = services.save_segment(_actor(request), via="api", **payload.dict())
    except SpecError as error:
        return _refused(error)
    return Status(201, segment)


@router.post("/segments/preview", response={200: PreviewOut, 422: ErrorOut}, auth=MANAGE)
def preview_segment(request: HttpRequest, payload: PreviewIn) -> Status[dict[str, Any]]:
    """How many members these rules select (nothing is stored)."""
    as_of = payload.as_of or timezone.localdate()
    try:
        count = services.preview_count({"subject": payload.subject_type, "rules": payload.rules}, as_of)
    except SpecError as error:
        return _refused(error)
    except BackendError as error:
        raise HttpError(503, f"analytics engine unavailable: {error}") from error
    return Status(200, {"count": count, "as_of": as_of})


@router.get("/segments/{int:segment_id}", response=SegmentOut, auth=VIEW)
def get_segment(request: HttpRequest, segment_id: int) -> Segment:
    return get_object_or_404(Segment, pk=segment_id)


@router.put("/segments/{int:segment_id}", response={200: SegmentOut, 422: ErrorOut}, auth=MANAGE)
def update_segment(request: HttpRequest, segment_id: int, payload: SegmentIn) -> Status[Any]:
    segment = get_object_or_404(Segment, pk=segment_id)
    try:
        segment = services.save_segment(_actor(request), instance=segment, via="api", **payload.dict())
    except SpecError as error:
        return _refused(error)
    return Status(200, segment)


@router.post("/segments/{int:segment_id}/refresh", response={200: RefreshOut, 422: ErrorOut}, auth=MANAGE)
def refresh_segment(request: HttpRequest, segment_id: int) -> Status[dict[str, Any]]:
    """Recompute the members now (from the events copied so far) and record who entered and left."""
    segment = get_object_or_404(Segment, pk=segment_id)
    try:
        services.check_segment({"subject": segment.subject_type, "rules": segment.rules})
        entered, left = services.refresh_segment(segment)
    except SpecError as error:
        return _refused(error)
    except BackendError as error:
        raise HttpError(503, f"analytics engine unavailable: {error}") from error
    return Status(200, {"member_count": segment.member_count, "entered": entered, "left": left})


@router.get("/segments/{int:segment_id}/members", response=MemberPage, auth=VIEW)
def segment_members(request: HttpRequest, segment_id: int, paging: Query[PageIn]) -> dict[str, Any]:
    """The current members by id, with their names (accounts or end users)."""
    segment = get_object_or_404(Segment, pk=segment_id)
    paginator = Paginator(queries.current_members(segment).values_list("subject_id", "entered_at"), paging.page_size)
    page = paginator.get_page(paging.page)
    subject: Subject = "end_user" if segment.subject_type == "end_user" else "account"
    names = queries.subjects_by_id(subject, [row[0] for row in page.object_list])
    results = [
        {
            "subject_id": pk,
            "name": names[pk].name,
            "external_id": names[pk].external_id,
            "exists": names[pk].exists,
            "entered_at": entered,
        }
        for pk, entered in page.object_list
    ]
    return {"count": paginator.count, "page": page.number, "pages": paginator.num_pages, "results": results}


@router.get("/segments/{int:segment_id}/history", response=HistoryPage, auth=VIEW)
def segment_history(request: HttpRequest, segment_id: int, paging: Query[PageIn]) -> dict[str, Any]:
    """Who entered and who left, newest first."""
    segment = get_object_or_404(Segment, pk=segment_id)
    paginator = Paginator(queries.membership_history(segment), paging.page_size)
    page = paginator.get_page(paging.page)
    results = [{"subject_id": pk, "change": change, "at": at} for pk, change, at in page.object_list]
    return {"count": paginator.count, "page": page.number, "pages": paginator.num_pages, "results": results}


@router.get("/runs", response=list[RunOut], auth=VIEW)
def list_runs(request: HttpRequest, limit: int = 20) -> list[AnalyticsRun]:
    return list(AnalyticsRun.objects.all()[: min(max(limit, 1), 200)])


@router.post("/runs", response={201: RunOut, 200: RunOut}, auth=MANAGE)
def start_run(request: HttpRequest, payload: RunIn) -> Status[AnalyticsRun]:
    """Queue a recompute for the worker (201); if one is already queued or running, that one (200)."""
    running = services.active_run()
    if running is not None:
        return Status(200, running)
    return Status(201, services.start_recompute(_actor(request), payload.as_of))


@router.get("/runs/{int:run_id}", response=RunOut, auth=VIEW)
def get_run(request: HttpRequest, run_id: int) -> AnalyticsRun:
    """A run's status, progress (percent, step) and counts: poll it while it runs."""
    return get_object_or_404(AnalyticsRun, pk=run_id)
