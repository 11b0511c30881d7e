"""Incident pages: the list (awaiting confirmation first), recording one (prefilled from an inquiry or a
booking), and an incident's page with its decision, booking, inquiry, audit trail and the firings that used it."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.accounts.models import Account
from banso.core.models import AuditEntry
from banso.core.paging import IdFirstList
from banso.core.permissions import Capability, has_capability, requires

from . import gateway, incidents
from .incidents_forms import DismissForm, IncidentFilterForm, IncidentForm
from .models import Booking, FiringIncident, Incident, IncidentStatus, Provider

TOKYO = ZoneInfo("Asia/Tokyo")
PER_PAGE = 50
PROVIDER_CHOICES_MAX = 500


@requires(Capability.VIEW_ACCOUNTS)
def incident_list(request: HttpRequest) -> HttpResponse:
    form = IncidentFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    page = Paginator(IdFirstList(incidents.filter_incidents(data)), PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "marketplace/incidents.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "awaiting": Incident.objects.filter(status=IncidentStatus.REPORTED).count(),
            "can_record": has_capability(request.user, Capability.WORK_MARKETPLACE),
        },
    )


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@requires(Capability.WORK_MARKETPLACE)
def incident_new(request: HttpRequest) -> HttpResponse:
    can_confirm = has_capability(request.user, Capability.MANAGE_MARKETPLACE)
    inquiry_number = _int(request.POST.get("inquiry") if request.method == "POST" else request.GET.get("inquiry"))
    inquiries = gateway.inquiries()
    inquiry = inquiries.get(inquiry_number) if inquiries is not None and inquiry_number else None
    if request.method == "POST":
        form = IncidentForm(request.POST, can_confirm=can_confirm)
        if form.is_valid():
            data = form.cleaned_data
            try:
                incident = _record(request, data, can_confirm)
            except incidents.IncidentError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, _("Incident %(number)s recorded.") % {"number": incident.number})
                return redirect("marketplace:incident", incident.number)
    else:
        initial: dict[str, Any] = {
            "provider": _int(request.GET.get("provider")),
            "booking": _int(request.GET.get("booking")),
            "inquiry": inquiry_number,
        }
        if inquiry is not None and initial["booking"] is None and inquiry.booking_id:
            initial["booking"] = inquiry.booking_id
        if initial["booking"] and initial["provider"] is None:
            initial["provider"] = (
                Booking.objects.filter(pk=initial["booking"]).values_list("provider_id", flat=True).first()
            )
        form = IncidentForm(initial=initial, can_confirm=can_confirm)
    provider_id = _int(str(form["provider"].value() or ""))
    return render(
        request,
        "marketplace/incident_new.html",
        {
            "form": form,
            "inquiry": inquiry,
            "provider": Account.objects.filter(pk=provider_id).first() if provider_id else None,
            "providers": Provider.objects.select_related("account").order_by("account__name_kana")[
                :PROVIDER_CHOICES_MAX
            ],
        },
    )


def _record(request: HttpRequest, data: dict[str, Any], can_confirm: bool) -> Incident:
    provider = Account.objects.filter(pk=data["provider"]).first()
    if provider is None:
        raise incidents.IncidentError("provider", _("No provider with this id."))
    booking = None
    if data.get("booking"):
        booking = Booking.objects.filter(pk=data["booking"]).first()
        if booking is None:
            raise incidents.IncidentError("booking", _("No booking with this id."))
    return incidents.record_incident(
        provider=provider,
        type=data["type"],
        severity=data["severity"],
        occurred_at=data["occurred_at"],
        summary=data["summary"],
        evidence=data.get("evidence", ""),
        booking=booking,
        inquiry_number=data.get("inquiry"),
        reported_by=request.user,  # type: ignore[arg-type]
        confirmed=bool(can_confirm and data.get("confirmed")),
    )


@requires(Capability.VIEW_ACCOUNTS)
def incident_detail(request: HttpRequest, number: str) -> HttpResponse:
    incident = get_object_or_404(
        Incident.objects.select_related("provider", "booking", "booking__end_user", "reported_by", "confirmed_by"),
        number=number,
    )
    inquiries = gateway.inquiries()
    inquiry = inquiries.get(incident.inquiry_number) if inquiries is not None and incident.inquiry_number else None
    audit = AuditEntry.objects.filter(
        object_type=Incident._meta.label_lower, object_id=str(incident.pk)
    ).select_related("actor")
    links = FiringIncident.objects.filter(incident=incident).select_related("firing", "firing__rule")
    return render(
        request,
        "marketplace/incident.html",
        {
            "incident": incident,
            "inquiry": inquiry,
            "audit": audit.order_by("-at", "-id"),
            "firings": [link.firing for link in links],
            "can_manage": has_capability(request.user, Capability.MANAGE_MARKETPLACE),
            "dismiss_form": DismissForm(),
        },
    )


def _decided(request: HttpRequest, incident: Incident, action: str) -> HttpResponseRedirect:
    try:
        if action == "confirm":
            incidents.confirm(incident, request.user)  # type: ignore[arg-type]
            messages.success(request, _("Incident confirmed."))
        elif action == "dismiss":
            incidents.dismiss(incident, request.user, request.POST.get("reason", ""))  # type: ignore[arg-type]
            messages.success(request, _("Incident dismissed."))
        else:
            incidents.reopen(incident, request.user)  # type: ignore[arg-type]
            messages.success(request, _("Incident reopened."))
    except incidents.IncidentError as error:
        messages.error(request, error.message)
    return HttpResponseRedirect(reverse("marketplace:incident", args=[incident.number]))


@requires(Capability.MANAGE_MARKETPLACE)
@require_POST
def incident_confirm(request: HttpRequest, number: str) -> HttpResponse:
    return _decided(request, get_object_or_404(Incident, number=number), "confirm")


@requires(Capability.MANAGE_MARKETPLACE)
@require_POST
def incident_dismiss(request: HttpRequest, number: str) -> HttpResponse:
    return _decided(request, get_object_or_404(Incident, number=number), "dismiss")


@requires(Capability.MANAGE_MARKETPLACE)
@require_POST
def incident_reopen(request: HttpRequest, number: str) -> HttpResponse:
    return _decided(request, get_object_or_404(Incident, number=number), "reopen")
