"""Provider pages: the list (filters, sorted by incident points) and each provider's quality page: status and
its change, profile and services, confirmed incidents in 30/90/365 days by type, monthly history, incidents,
rule firings and the bookings summary."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.core import charts
from banso.core.paging import IdFirstList
from banso.core.permissions import Capability, has_capability, requires

from . import incidents, providers
from .models import Firing, Incident, IncidentType, Provider, Severity
from .providers_forms import ProviderFilterForm, StatusForm

PER_PAGE = 50
RECENT_INCIDENTS = 50


@requires(Capability.VIEW_ACCOUNTS)
def provider_list(request: HttpRequest) -> HttpResponse:
    form = ProviderFilterForm(request.GET or None)
    data: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    qs = providers.search(
        status=data.get("status") or "",
        category=data.get("category") or "",
        area=data.get("area") or "",
        name=data.get("name") or "",
        sort=data.get("sort") or "name",
    )
    page = Paginator(IdFirstList(qs), PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "marketplace/providers.html", {"form": form, "page": page, "query": query.urlencode()})


def _type_rows(provider_id: int, now: Any) -> list[dict[str, Any]]:
    by_type = incidents.counts_by_type(provider_id, now)
    rows = []
    for value, label in IncidentType.choices:
        cells = [by_type[w].get(value, {"count": 0, "points": 0}) for w in incidents.WINDOWS]
        if any(c["count"] for c in cells):
            rows.append({"type": value, "label": label, "cells": cells})
    return rows


@requires(Capability.VIEW_ACCOUNTS)
def provider_detail(request: HttpRequest, pk: int) -> HttpResponse:
    provider = get_object_or_404(Provider.objects.select_related("account"), pk=pk)
    now = timezone.now()
    totals = incidents.window_counts([provider.pk], now)[provider.pk]
    history = incidents.monthly_history(provider.account, 12, now)
    labels = dict(IncidentType.choices)
    chart = charts.bar_chart(
        history["months"],
        [
            charts.series(str(labels.get(kind, kind)), counts, index)
            for index, (kind, counts) in enumerate(sorted(history["types"].items()))
        ],
        y_title=_("Confirmed incidents"),
        stacked=True,
    )
    can_manage = has_capability(request.user, Capability.MANAGE_MARKETPLACE)
    return render(
        request,
        "marketplace/provider.html",
        {
            "provider": provider,
            "account": provider.account,
            "services": provider.services.order_by("category", "area"),
            "windows": incidents.WINDOWS,
            "totals": [totals[w] for w in incidents.WINDOWS],
            "type_rows": _type_rows(provider.pk, now),
            "chart": chart,
            "history_rows": list(zip(history["months"], history["points"], strict=True)),
            "incidents": Incident.objects.filter(provider_id=provider.pk).order_by("-occurred_at", "-id")[
                :RECENT_INCIDENTS
            ],
            "firings": Firing.objects.filter(provider_id=provider.pk).select_related("rule")[:50],
            "bookings": providers.booking_summary(provider.pk, now),
            "can_manage": can_manage,
            "can_record": has_capability(request.user, Capability.WORK_MARKETPLACE),
            "status_form": StatusForm(initial={"status": provider.status}) if can_manage else None,
            "severities": Severity.choices,
        },
    )


@requires(Capability.MANAGE_MARKETPLACE)
@require_POST
def provider_status(request: HttpRequest, pk: int) -> HttpResponse:
    provider = get_object_or_404(Provider.objects.select_related("account"), pk=pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}: {' '.join(str(e) for e in errors)}")
    else:
        try:
            changed = providers.set_status(
                provider,
                form.cleaned_data["status"],
                actor=request.user,  # type: ignore[arg-type]
                reason=form.cleaned_data["reason"],
            )
        except providers.ProviderError as error:
            messages.error(request, error.message)
        else:
            if changed:
                messages.success(
                    request, _("Status changed to %(status)s.") % {"status": provider.get_status_display()}
                )
            else:
                messages.info(
                    request, _("The status was already %(status)s.") % {"status": provider.get_status_display()}
                )
    return HttpResponseRedirect(reverse("marketplace:provider", args=[provider.pk]))
