"""The bookings pages: the filtered list, one booking, and recording a refund (thin: see bookings.py)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banso.core.models import User
from banso.core.paging import IdFirstList
from banso.core.permissions import Capability, has_capability, requires

from . import bookings
from .bookings_forms import BookingFilterForm, RefundForm
from .models import Booking

PER_PAGE = 50


@requires(Capability.VIEW_ACCOUNTS)
def booking_list(request: HttpRequest) -> HttpResponse:
    form = BookingFilterForm(request.GET or None)
    error = None
    try:
        rows = bookings.filter_bookings(request.GET)
    except bookings.BookingError as refused:
        error = refused
        rows = Booking.objects.none()
    page = Paginator(IdFirstList(bookings.with_relations(rows)), PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "error": error,
        "page": page,
        "can_import": has_capability(request.user, Capability.IMPORT_DATA),
    }
    return render(request, "marketplace/bookings.html", context, status=400 if error else 200)


@requires(Capability.VIEW_ACCOUNTS)
def booking_detail(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(Booking, pk=pk)
    detail = bookings.booking_detail(pk)
    context = {
        "booking": detail.booking,
        "incidents": detail.incidents,
        "inquiries": detail.inquiries,
        "refund_form": RefundForm(initial={"amount": _refund_suggestion(detail.booking)}),
        "can_refund": has_capability(request.user, Capability.MANAGE_MARKETPLACE),
        "can_work": has_capability(request.user, Capability.WORK_MARKETPLACE),
    }
    return render(request, "marketplace/booking.html", context)


def _refund_suggestion(booking: Booking) -> int:
    """What is still owed when nothing says otherwise: the amount less the cancellation fee and earlier refunds."""
    return max(booking.amount - booking.cancellation_fee - booking.refunded_amount, 0)


@requires(Capability.MANAGE_MARKETPLACE)
@require_POST
def booking_refund(request: HttpRequest, pk: int) -> HttpResponseBase:
    booking = get_object_or_404(Booking, pk=pk)
    form = RefundForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{form.fields[field].label if field in form.fields else field}: {errors[0]}")
        return redirect("marketplace:booking", pk=pk)
    actor = request.user if isinstance(request.user, User) else None
    try:
        bookings.record_refund(booking, form.cleaned_data["amount"], actor=actor)
    except bookings.BookingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The refund was recorded."))
    return redirect("marketplace:booking", pk=pk)
