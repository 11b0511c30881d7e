"""Pages of the offers area: the offer list and page (reward now, special rates, switches, checklist, status,
audit), the offer, special-rate and ASP forms, the campaign calendar and the month-turn view, and the
"apply due switches now" button. Every change goes through offers/rates services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.accounts.services import parse_month
from banso.core.business_hours import TOKYO
from banso.core.calendar import month_start
from banso.core.models import AuditEntry, User
from banso.core.paging import IdFirstList
from banso.core.permissions import Capability, has_capability, requires

from . import offers, rates
from .models import Asp, Offer, OfferStatus, SpecialRate, SpecialRateStatus
from .offers_forms import AspForm, OfferFilterForm, OfferForm, RateForm, service_errors

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


def _month(request: HttpRequest) -> dt.date:
    """`?month=YYYY-MM`, else this Tokyo month; a malformed value is a 404."""
    text = request.GET.get("month")
    if not text:
        return timezone.now().astimezone(TOKYO).date().replace(day=1)
    try:
        return parse_month(text)[0]
    except ValueError:
        raise Http404(_("Not a month (YYYY-MM): %(value)s") % {"value": text}) from None


# Offers ------------------------------------------------------------------------------------------------------


@requires(Capability.VIEW_ACCOUNTS)
def offer_list(request: HttpRequest) -> HttpResponse:
    form = OfferFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = offers.search(
        status=filters.get("status", ""),
        category=filters.get("category", ""),
        asp=filters.get("asp", ""),
        advertiser=filters.get("advertiser", ""),
        q=filters.get("q", ""),
    )
    page = Paginator(IdFirstList(qs), PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    rows = [{"offer": o, "reward": offers.current_reward_text(o), "base": offers.base_reward_text(o)} for o in page]
    return render(
        request,
        "campaigns/offers.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": params.urlencode(),
            "can_edit": has_capability(request.user, Capability.WORK_CAMPAIGNS),
        },
    )


@requires(Capability.VIEW_ACCOUNTS)
def offer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    offer = get_object_or_404(Offer.objects.select_related("advertiser", "asp", "owner"), pk=pk)
    special_rates = list(offer.special_rates.order_by("-starts_at", "-id"))
    rate_ids = [str(r.pk) for r in special_rates]
    audit = AuditEntry.objects.filter(
        Q(object_type="campaigns.offer", object_id=str(offer.pk))
        | Q(object_type="campaigns.specialrate", object_id__in=rate_ids)
    ).select_related("actor")[:50]
    now = timezone.now()
    return render(
        request,
        "campaigns/offer.html",
        {
            "offer": offer,
            "reward": offers.current_reward_text(offer),
            "base": offers.base_reward_text(offer),
            "rates": [
                {
                    "rate": r,
                    "reward": rates.rate_reward_text(r),
                    "editable": r.status in (SpecialRateStatus.SCHEDULED, SpecialRateStatus.ACTIVE),
                    "cancellable": r.status == SpecialRateStatus.SCHEDULED,
                }
                for r in special_rates
            ],
            "switches": offer.switches.select_related("special_rate", "applied_by")[:50],
            "checklist": offers.checklist_rows(offer),
            "next_statuses": [(s, OfferStatus(s).label) for s in offers.allowed_statuses(offer)],
            "audit": audit,
            "conflicts": rates.conflicts(offer=offer, since=now),
            "gaps": rates.gaps(offer, since=now),
            "forecast_link": f"{reverse('campaigns:forecast_new')}?offer={offer.pk}",
            "can_edit": has_capability(request.user, Capability.WORK_CAMPAIGNS),
        },
    )


def _offer_initial(offer: Offer) -> dict[str, Any]:
    return {
        "advertiser": offer.advertiser_id,
        "asp": offer.asp_id,
        "asp_offer_id": offer.asp_offer_id,
        "name": offer.name,
        "category": offer.category,
        "landing_url": offer.landing_url,
        "conditions": offer.conditions,
        "base_reward_type": offer.base_reward_type,
        "base_rate": offer.base_rate if offer.base_rate is not None else "",
        "base_amount": offer.base_amount if offer.base_amount is not None else "",
        "cashback_share": offer.cashback_share,
        "owner": offer.owner_id,
    }


def _offer_form_page(request: HttpRequest, offer: Offer | None) -> HttpResponse:
    if request.method == "POST":
        form = OfferForm(request.POST)
        if form.is_valid():
            try:
                saved = offers.save_offer(offer, form.offer_data(), actor=_user(request))
            except offers.OfferError as error:
                service_errors(form, error.field, error.message)
            else:
                messages.success(request, _("Offer saved."))
                return redirect("campaigns:offer", pk=saved.pk)
    else:
        form = OfferForm(initial=_offer_initial(offer) if offer else None)
    return render(request, "campaigns/offer_form.html", {"form": form, "offer": offer})


@requires(Capability.WORK_CAMPAIGNS)
def offer_new(request: HttpRequest) -> HttpResponse:
    return _offer_form_page(request, None)


@requires(Capability.WORK_CAMPAIGNS)
def offer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _offer_form_page(request, get_object_or_404(Offer, pk=pk))


@requires(Capability.WORK_CAMPAIGNS)
@require_POST
def offer_status(request: HttpRequest, pk: int) -> HttpResponse:
    offer = get_object_or_404(Offer, pk=pk)
    try:
        offers.set_status(offer, request.POST.get("status", ""), actor=_user(request))
    except offers.OfferError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Status changed."))
    return redirect("campaigns:offer", pk=pk)


@requires(Capability.WORK_CAMPAIGNS)
@require_POST
def offer_tick(request: HttpRequest, pk: int) -> HttpResponse:
    offer = get_object_or_404(Offer, pk=pk)
    try:
        offers.tick(offer, request.POST.get("item", ""), request.POST.get("done") != "0", actor=_user(request))
    except offers.OfferError as error:
        messages.error(request, error.message)
    return redirect(f"{reverse('campaigns:offer', args=[pk])}#checklist")


# Special rates -----------------------------------------------------------------------------------------------


def _rate_form_page(request: HttpRequest, rate: SpecialRate | None, offer: Offer) -> HttpResponse:
    if request.method == "POST":
        form = RateForm(request.POST)
        if rate is not None and rate.status == SpecialRateStatus.ACTIVE:
            # Fields of a rate in force are shown but only the end and note can change.
            for name in ("starts_at", "reward_type", "rate", "amount"):
                form.fields[name].required = False
        if form.is_valid():
            data = {
                k: v for k, v in form.cleaned_data.items() if v not in (None, "") or k in ("note", "rate", "amount")
            }
            if rate is not None and rate.status == SpecialRateStatus.ACTIVE:
                data = {k: data[k] for k in ("ends_at", "note") if k in data}
            try:
                saved = rates.save_rate(rate, data, offer=offer, actor=_user(request))
            except offers.OfferError as error:
                service_errors(form, error.field, error.message)
            else:
                messages.success(request, _("Special rate saved."))
                return redirect(f"{reverse('campaigns:offer', args=[saved.offer_id])}#rates")
    elif rate is not None:
        form = RateForm(
            initial={
                "starts_at": rate.starts_at.astimezone(TOKYO),
                "ends_at": rate.ends_at.astimezone(TOKYO),
                "reward_type": rate.reward_type,
                "rate": rate.rate if rate.rate is not None else "",
                "amount": rate.amount if rate.amount is not None else "",
                "note": rate.note,
            }
        )
    else:
        first = month_start(timezone.now().astimezone(TOKYO).date(), 1)
        form = RateForm(
            initial={
                "starts_at": dt.datetime.combine(first, dt.time()),
                "ends_at": dt.datetime.combine(month_start(first, 1), dt.time()),
                "reward_type": offer.base_reward_type,
            }
        )
    return render(request, "campaigns/rate_form.html", {"form": form, "offer": offer, "rate": rate})


@requires(Capability.WORK_CAMPAIGNS)
def rate_new(request: HttpRequest) -> HttpResponse:
    offer_id = request.GET.get("offer", "")
    if not offer_id.isdigit():
        raise Http404(_("Choose the offer from its page."))
    return _rate_form_page(request, None, get_object_or_404(Offer, pk=int(offer_id)))


@requires(Capability.WORK_CAMPAIGNS)
def rate_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rate = get_object_or_404(SpecialRate.objects.select_related("offer"), pk=pk)
    return _rate_form_page(request, rate, rate.offer)


@requires(Capability.WORK_CAMPAIGNS)
@require_POST
def rate_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    rate = get_object_or_404(SpecialRate, pk=pk)
    try:
        rates.cancel_rate(rate, actor=_user(request))
    except offers.OfferError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Special rate cancelled."))
    return redirect(f"{reverse('campaigns:offer', args=[rate.offer_id])}#rates")


# Calendar ----------------------------------------------------------------------------------------------------


@requires(Capability.VIEW_ACCOUNTS)
def calendar(request: HttpRequest) -> HttpResponse:
    month = _month(request)
    switches = rates.calendar(month.year, month.month)
    now = timezone.now()
    return render(
        request,
        "campaigns/calendar.html",
        {
            "month": month,
            "previous": month_start(month, -1),
            "next": month_start(month, 1),
            "weeks": rates.calendar_weeks(month.year, month.month, switches),
            "switches": switches,
            "turn_into": month_start(month, 1),
            "conflicts": rates.conflicts(since=now),
            "gaps": rates.gaps(since=now),
            "due": rates.due(now),
            "can_apply": has_capability(request.user, Capability.SEND_CAMPAIGNS),
        },
    )


@requires(Capability.VIEW_ACCOUNTS)
def month_turn(request: HttpRequest) -> HttpResponse:
    """`?month=YYYY-MM`: the turn into that month (12/31 24:00 → 1/1 00:00 for 2027-01)."""
    month = _month(request)
    turn = rates.month_turn(month.year, month.month)
    return render(
        request,
        "campaigns/calendar_turn.html",
        {
            "month": month,
            "turn": turn,
            "previous": month_start(month, -1),
            "next": month_start(month, 1),
            "conflicts": rates.conflicts(since=turn.boundary - dt.timedelta(days=1)),
            "gaps": rates.gaps(since=turn.boundary - dt.timedelta(days=1)),
        },
    )


@requires(Capability.SEND_CAMPAIGNS)
@require_POST
def switches_apply(request: HttpRequest) -> HttpResponse:
    applied = rates.apply_due(timezone.now(), actor=_user(request), via="ui")
    messages.success(request, _("%(count)s switches applied.") % {"count": len(applied)})
    target = request.POST.get("next", "")
    # Only back to a page of this module (never an address from outside).
    return redirect(target if target.startswith("/campaigns/") else "campaigns:calendar")


# ASPs --------------------------------------------------------------------------------------------------------


@requires(Capability.VIEW_ACCOUNTS)
def asp_list(request: HttpRequest) -> HttpResponse:
    from django.db.models import Count

    return render(
        request,
        "campaigns/offer_asps.html",
        {
            "asps": Asp.objects.annotate(offer_count=Count("offers")).order_by("name"),
            "can_edit": has_capability(request.user, Capability.WORK_CAMPAIGNS),
            "form": AspForm(),
        },
    )


def _asp_form_page(request: HttpRequest, asp: Asp | None) -> HttpResponse:
    if request.method == "POST":
        form = AspForm(request.POST)
        if form.is_valid():
            try:
                offers.save_asp(asp, form.cleaned_data, actor=_user(request))
            except offers.OfferError as error:
                service_errors(form, error.field, error.message)
            else:
                messages.success(request, _("ASP saved."))
                return redirect("campaigns:asps")
    else:
        form = AspForm(
            initial={"code": asp.code, "name": asp.name, "report_format": asp.report_format, "notes": asp.notes}
            if asp
            else None
        )
    return render(request, "campaigns/offer_asp_form.html", {"form": form, "asp": asp})


@requires(Capability.WORK_CAMPAIGNS)
def asp_new(request: HttpRequest) -> HttpResponse:
    return _asp_form_page(request, None)


@requires(Capability.WORK_CAMPAIGNS)
def asp_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _asp_form_page(request, get_object_or_404(Asp, pk=pk))
