"""The marketplace card on a provider's Account 360: status, rating, upcoming bookings (count and the next few),
confirmed incidents of the last 90 days (count and severity points), links to the quality page and the bookings.

Other kinds of account get no card and cost no query; a provider costs two (the profile with its counts as
subqueries, then the next bookings)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from banso.accounts.choices import AccountKind
from banso.accounts.models import Account

from .incidents import in_window
from .models import Booking, BookingStatus, Provider

INCIDENT_WINDOW_DAYS = 90
NEXT_BOOKINGS = 5


def _scalar(qs: Any, aggregate: Any) -> Coalesce:
    return Coalesce(
        Subquery(
            qs.order_by().values("provider_id").annotate(v=aggregate).values("v")[:1], output_field=IntegerField()
        ),
        0,
    )


def account_card(account: Account) -> dict[str, Any]:
    if account.kind != AccountKind.PROVIDER:
        return {}
    now = timezone.now()
    upcoming = Booking.objects.filter(
        provider_id=OuterRef("account_id"), status=BookingStatus.BOOKED, scheduled_at__gte=now
    )
    incidents = in_window(now, INCIDENT_WINDOW_DAYS).filter(provider_id=OuterRef("account_id"))
    profile = (
        Provider.objects.filter(account_id=account.pk)
        .annotate(
            upcoming_count=_scalar(upcoming, Count("id")),
            incident_count=_scalar(incidents, Count("id")),
            incident_points=_scalar(incidents, Sum("severity")),
        )
        .first()
    )
    if profile is None:
        return {"account": account, "provider": None}
    next_bookings = list(
        Booking.objects.filter(provider_id=account.pk, status=BookingStatus.BOOKED, scheduled_at__gte=now)
        .select_related("end_user")
        .order_by("scheduled_at", "id")[:NEXT_BOOKINGS]
        if profile.upcoming_count
        else []
    )
    return {
        "account": account,
        "provider": profile,
        "upcoming_count": profile.upcoming_count,
        "next_bookings": next_bookings,
        "incident_count": profile.incident_count,
        "incident_points": profile.incident_points,
        "window_days": INCIDENT_WINDOW_DAYS,
    }


def register() -> None:
    from banso.accounts.panels import AccountPanel, register_account_panel
    from banso.core.permissions import Capability

    register_account_panel(AccountPanel("marketplace/_account_card.html", Capability.VIEW_ACCOUNTS, account_card))
