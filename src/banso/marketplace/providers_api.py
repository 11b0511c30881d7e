"""The providers part of the marketplace API (mounted under /api/marketplace/providers): the list with
filters, one provider with its incident counts, and its status (PATCH, told to the booking platform). Bad
input answers 422 naming the field."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from banso.api.auth import role
from banso.api.schemas import ErrorOut, refused
from banso.core.models import User
from banso.core.permissions import Capability

from . import incidents, providers
from .models import Provider, ProviderService, ProviderStatus

router = Router(tags=["marketplace"])
VIEW = role(Capability.VIEW_ACCOUNTS)
MANAGE = role(Capability.MANAGE_MARKETPLACE)
MAX_LIMIT = 500


class ServiceOut(Schema):
    category: str
    area: str


class WindowOut(Schema):
    days: int
    count: int
    points: int


class ProviderOut(Schema):
    id: int
    external_id: str
    source: str
    name: str
    status: str
    status_changed_at: dt.datetime | None
    status_reason: str
    rating: Decimal | None
    review_count: int
    daily_capacity: int
    email: str
    booking_url: str
    services: list[ServiceOut]
    incidents_90_days: int
    points_90_days: int


class ProviderDetailOut(ProviderOut):
    windows: list[WindowOut]
    bookings: dict[str, Any]


class ProviderPageOut(Schema):
    count: int
    offset: int
    items: list[ProviderOut]


class StatusIn(Schema):
    status: str
    reason: str = ""


def _out(provider: Provider, services: list[dict[str, str]], count: int, points: int) -> dict[str, Any]:
    account = provider.account
    return {
        "id": provider.pk,
        "external_id": account.external_id,
        "source": account.source,
        "name": account.name,
        "status": provider.status,
        "status_changed_at": provider.status_changed_at,
        "status_reason": provider.status_reason,
        "rating": provider.rating,
        "review_count": provider.review_count,
        "daily_capacity": provider.daily_capacity,
        "email": provider.email,
        "booking_url": provider.booking_url,
        "services": services,
        "incidents_90_days": count,
        "points_90_days": points,
    }


def _services(ids: list[int]) -> dict[int, list[dict[str, str]]]:
    out: dict[int, list[dict[str, str]]] = {pid: [] for pid in ids}
    for pid, category, area in (
        ProviderService.objects.filter(provider_id__in=ids)
        .order_by("category", "area")
        .values_list("provider_id", "category", "area")
    ):
        out[pid].append({"category": category, "area": area})
    return out


@router.get("", response={200: ProviderPageOut, 422: ErrorOut}, auth=VIEW)
def list_providers(
    request: HttpRequest,
    status: str = "",
    category: str = "",
    area: str = "",
    name: str = "",
    sort: str = "name",
    offset: int = 0,
    limit: int = 50,
) -> Any:
    """Providers; `sort` is name (reading), points (confirmed incidents' severity in 90 days, most first) or
    rating (best first)."""
    errors = []
    if status and status not in ProviderStatus.values:
        errors.append(("status", _("One of: %(choices)s") % {"choices": ", ".join(ProviderStatus.values)}))
    if sort not in providers.SORTS:
        errors.append(("sort", _("One of: %(choices)s") % {"choices": ", ".join(providers.SORTS)}))
    if offset < 0:
        errors.append(("offset", _("Must be 0 or more.")))
    if errors:
        return refused(errors)
    qs = providers.search(status=status, category=category, area=area, name=name, sort=sort)
    size = max(1, min(limit, MAX_LIMIT))
    page = list(qs[offset : offset + size])
    services = _services([p.pk for p in page])
    items = [_out(p, services[p.pk], p.count_90, p.points_90) for p in page]  # type: ignore[attr-defined]
    return Status(200, {"count": qs.count(), "offset": offset, "items": items})


def _detail(pk: int) -> dict[str, Any]:
    provider = get_object_or_404(Provider.objects.select_related("account"), pk=pk)
    now = timezone.now()
    counts = incidents.window_counts([provider.pk], now)[provider.pk]
    out = _out(provider, _services([provider.pk])[provider.pk], counts[90]["count"], counts[90]["points"])
    out["windows"] = [{"days": days, **counts[days]} for days in incidents.WINDOWS]
    out["bookings"] = providers.booking_summary(provider.pk, now)
    return out


@router.get("/{int:pk}", response=ProviderDetailOut, auth=VIEW)
def get_provider(request: HttpRequest, pk: int) -> Any:
    """One provider (by its account id) with confirmed incidents in 30/90/365 days and its bookings summary."""
    return _detail(pk)


@router.patch("/{int:pk}", response={200: ProviderDetailOut, 422: ErrorOut}, auth=MANAGE)
def patch_provider(request: HttpRequest, pk: int, payload: StatusIn) -> Any:
    """Change the provider's status (active, warned, on_hold, suspended) with a reason."""
    provider = get_object_or_404(Provider.objects.select_related("account"), pk=pk)
    assert isinstance(request.user, User)
    try:
        providers.set_status(provider, payload.status, actor=request.user, reason=payload.reason, via="api")
    except providers.ProviderError as error:
        return refused([(error.field, error.message)])
    return Status(200, _detail(pk))
