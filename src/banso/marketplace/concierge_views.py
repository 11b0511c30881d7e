"""The concierge page: from an inquiry (?inquiry=<number>) or blank, the request read from the customer's text
(editable), the ranked providers, and "hand over" (a reply on the inquiry). Thin: see concierge.py."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.core.models import User
from banso.core.permissions import Capability, requires

from . import concierge, gateway
from .concierge_forms import HandoverForm, RequestForm


def _inquiry(raw: str) -> tuple[int | None, gateway.InquiryRef | None]:
    number = int(raw) if raw.strip().isdigit() else None
    desk = gateway.inquiries()
    if number is None or desk is None:
        return number, None
    return number, desk.get(number)


@requires(Capability.WORK_MARKETPLACE)
def concierge_page(request: HttpRequest) -> HttpResponse:
    number, ref = _inquiry(request.GET.get("inquiry", ""))
    categories, areas = concierge.known_terms()
    data: dict[str, Any] | None = None
    initial: dict[str, Any] = {"inquiry": number, "guests": 1}
    guessed = None
    # The form is bound (and its errors shown) only when the agent submitted it, or when the inquiry's text
    # gave everything a search needs. Otherwise the page opens with what could be read, for the agent to finish.
    if any(name in request.GET for name in RequestForm.base_fields if name != "inquiry"):
        data = request.GET.dict()
    elif ref is not None:
        guessed = concierge.request_for_inquiry(ref, categories=categories, areas=areas)
        initial = {
            "inquiry": ref.number,
            "category": guessed.category,
            "area": guessed.area,
            "date": guessed.day,
            "guests": guessed.guests,
        }
        if guessed.complete:
            data = initial
    form = (
        RequestForm(data, categories=categories, areas=areas)
        if data is not None
        else RequestForm(initial=initial, categories=categories, areas=areas)
    )
    candidates = None
    if data is not None and form.is_valid():
        try:
            candidates = concierge.search(
                form.cleaned_data["category"],
                form.cleaned_data["area"],
                form.cleaned_data["date"],
                form.cleaned_data["guests"],
            )
        except concierge.ConciergeError as error:
            form.add_error(None, f"{error.field}: {error.message}")
    context = {
        "form": form,
        "inquiry": ref,
        "inquiry_number": number,
        "inquiry_missing": number is not None and ref is None,
        "can_hand_over": ref is not None,
        "guessed": guessed,
        "candidates": candidates,
        "day": form.cleaned_data.get("date") if form.is_bound and form.is_valid() else None,
        "category": form.cleaned_data.get("category", "") if form.is_bound and form.is_valid() else "",
    }
    return render(request, "marketplace/concierge.html", context)


def _back(number: int | None) -> HttpResponseBase:
    url = reverse("marketplace:concierge")
    return redirect(f"{url}?{urlencode({'inquiry': number})}" if number else url)


@requires(Capability.WORK_MARKETPLACE)
@require_POST
def handover(request: HttpRequest) -> HttpResponseBase:
    form = HandoverForm(request.POST)
    number = form.data.get("inquiry")
    back_number = int(number) if isinstance(number, str) and number.isdigit() else None
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {errors[0]}")
        return _back(back_number)
    assert isinstance(request.user, User)
    try:
        done = concierge.hand_over(
            form.cleaned_data["inquiry"],
            form.cleaned_data["provider"],
            request.user,
            category=form.cleaned_data["category"],
            day=form.cleaned_data["date"],
        )
    except concierge.ConciergeError as error:
        messages.error(request, f"{error.field}: {error.message}")
        return _back(back_number)
    messages.success(request, _("%(name)s was handed over on the inquiry.") % {"name": done.provider.account.name})
    return redirect(done.inquiry.url)
