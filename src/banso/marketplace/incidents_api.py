"""The incidents part of the marketplace API (mounted under /api/marketplace/incidents): list with filters,
record, read, confirm, dismiss, reopen. Times are ISO 8601 (an offset is expected; without one, Tokyo time).
Bad input answers 422 naming the field."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from banso.accounts.models import Account
from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused
from banso.core.models import User
from banso.core.permissions import Capability, has_capability

from . import incidents
from .models import Booking, Incident, IncidentStatus, IncidentType, Severity

router = Router(tags=["marketplace"])
VIEW = role(Capability.VIEW_ACCOUNTS)
WORK = role(Capability.WORK_MARKETPLACE)
MANAGE = role(Capability.MANAGE_MARKETPLACE)
MAX_LIMIT = 500
TOKYO = ZoneInfo("Asia/Tokyo")


class IncidentOut(Schema):
    number: str
    provider_id: int
    provider_name: str
    type: str
    severity: int
    status: str
    occurred_at: dt.datetime
    summary: str
    evidence: str
    booking_id: int | None
    inquiry_number: int | None
    reported_by: str | None
    confirmed_by: str | None
    confirmed_at: dt.datetime | None
    dismissed_reason: str
    source: str
    external_id: str


class IncidentPageOut(Schema):
    count: int
    offset: int
    items: list[IncidentOut]


class IncidentIn(Schema):
    provider_id: int
    type: str
    severity: int = Severity.MEDIUM
    occurred_at: dt.datetime
    summary: str
    evidence: str = ""
    booking_id: int | None = None
    inquiry_number: int | None = None
    confirmed: bool = False


class DismissIn(Schema):
    reason: str


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _out(incident: Incident) -> dict[str, Any]:
    return {
        "number": incident.number,
        "provider_id": incident.provider_id,
        "provider_name": incident.provider.name,
        "type": incident.type,
        "severity": incident.severity,
        "status": incident.status,
        "occurred_at": incident.occurred_at,
        "summary": incident.summary,
        "evidence": incident.evidence,
        "booking_id": incident.booking_id,
        "inquiry_number": incident.inquiry_number,
        "reported_by": str(incident.reported_by) if incident.reported_by_id else None,
        "confirmed_by": str(incident.confirmed_by) if incident.confirmed_by_id else None,
        "confirmed_at": incident.confirmed_at,
        "dismissed_reason": incident.dismissed_reason,
        "source": incident.source,
        "external_id": incident.external_id,
    }


def _one(number: str) -> Incident:
    return get_object_or_404(Incident.objects.select_related("provider", "reported_by", "confirmed_by"), number=number)


@router.get("", response={200: IncidentPageOut, 422: ErrorOut}, auth=VIEW)
def list_incidents(
    request: HttpRequest,
    status: str = "",
    type: str = "",
    severity: int | None = None,
    provider_id: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Any:
    """Incidents, those awaiting confirmation first, then newest first; `start`..`end` are inclusive Tokyo
    dates of `occurred_at`."""
    errors = []
    if status and status not in IncidentStatus.values:
        errors.append(("status", _("One of: %(choices)s") % {"choices": ", ".join(IncidentStatus.values)}))
    if type and type not in IncidentType.values:
        errors.append(("type", _("One of: %(choices)s") % {"choices": ", ".join(IncidentType.values)}))
    if severity is not None and severity not in Severity.values:
        errors.append(("severity", _("One of: %(choices)s") % {"choices": "1, 2, 3, 5"}))
    if start and end and end < start:
        errors.append(("end", _("The end date is before the start date.")))
    if offset < 0:
        errors.append(("offset", _("Must be 0 or more.")))
    if errors:
        return refused(errors)
    qs = incidents.filter_incidents(
        {"status": status, "type": type, "severity": severity, "provider": provider_id, "start": start, "end": end}
    ).select_related("reported_by", "confirmed_by")
    size = max(1, min(limit, MAX_LIMIT))
    return Status(200, {"count": qs.count(), "offset": offset, "items": [_out(i) for i in qs[offset : offset + size]]})


@router.post("", response={201: IncidentOut, 422: ErrorOut}, auth=WORK)
def create_incident(request: HttpRequest, payload: IncidentIn) -> Any:
    """Record an incident against a provider; `confirmed` needs the MANAGE_MARKETPLACE capability."""
    if payload.confirmed and not has_capability(request.user, Capability.MANAGE_MARKETPLACE):
        return refused([("confirmed", _("Only ops managers and administrators can confirm incidents."))])
    provider = Account.objects.filter(pk=payload.provider_id).first()
    if provider is None:
        return refused([("provider_id", _("No such record: %(value)s") % {"value": payload.provider_id})])
    booking = None
    if payload.booking_id is not None:
        booking = Booking.objects.filter(pk=payload.booking_id).first()
        if booking is None:
            return refused([("booking_id", _("No such record: %(value)s") % {"value": payload.booking_id})])
    occurred = payload.occurred_at
    if occurred.tzinfo is None:
        occurred = occurred.replace(tzinfo=TOKYO)
    try:
        incident = incidents.record_incident(
            provider=provider,
            type=payload.type,
            severity=payload.severity,
            occurred_at=occurred,
            summary=payload.summary,
            evidence=payload.evidence,
            booking=booking,
            inquiry_number=payload.inquiry_number,
            reported_by=_actor(request),
            confirmed=payload.confirmed,
            via="api",
        )
    except incidents.IncidentError as error:
        field = {"provider": "provider_id", "booking": "booking_id"}.get(error.field, error.field)
        return refused([(field, error.message)])
    return Status(201, _out(_one(incident.number)))


@router.get("/{number}", response=IncidentOut, auth=VIEW)
def get_incident(request: HttpRequest, number: str) -> Any:
    return _out(_one(number))


@router.post("/{number}/confirm", response={200: IncidentOut, 422: ErrorOut}, auth=MANAGE)
def confirm_incident(request: HttpRequest, number: str) -> Any:
    incident = _one(number)
    try:
        incidents.confirm(incident, _actor(request), via="api")
    except incidents.IncidentError as error:
        return refused([(error.field, error.message)])
    return Status(200, _out(_one(number)))


@router.post("/{number}/dismiss", response={200: IncidentOut, 422: ErrorOut}, auth=MANAGE)
def dismiss_incident(request: HttpRequest, number: str, payload: DismissIn) -> Any:
    incident = _one(number)
    try:
        incidents.dismiss(incident, _actor(request), payload.reason, via="api")
    except incidents.IncidentError as error:
        return refused([(error.field, error.message)])
    return Status(200, _out(_one(number)))


@router.post("/{number}/reopen", response={200: IncidentOut, 422: ErrorOut}, auth=MANAGE)
def reopen_incident(request: HttpRequest, number: str) -> Any:
    incident = _one(number)
    try:
        incidents.reopen(incident, _actor(request), via="api")
    except incidents.IncidentError as error:
        return refused([(error.field, error.message)])
    return Status(200, _out(_one(number)))
