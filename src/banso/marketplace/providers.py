"""Providers (出店者): their status (active, warned, bookings on hold, suspended) and the lists and searches of
them. A status change is audited and, when the booking platform's webhook is configured, told to it through
the outbox so the platform stops (or resumes) taking bookings."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.accounts.choices import AccountKind
from banso.accounts.models import Account
from banso.core.choices import AuditAction
from banso.core.services import change_entry, record_changes_bulk, snapshot
from banso.core.text import search_key
from banso.playbooks.outbox import enqueue_webhook

from .incidents import IncidentError, in_window
from .models import Booking, BookingStatus, Incident, Provider, ProviderStatus

if TYPE_CHECKING:
    from banso.core.models import User

AUDITED = ("status", "status_changed_at", "status_reason")
SORTS = ("name", "points", "rating")


class ProviderError(IncidentError):
    """Refused input about a provider; `field` names what was wrong."""


def _check(status: str, reason: str) -> str:
    if status not in ProviderStatus.values:
        raise ProviderError("status", _("Choose one of the provider statuses."))
    reason = (reason or "").strip()
    if len(reason) > 300:
        raise ProviderError("reason", _("The reason is too long (300 characters at most)."))
    return reason


@transaction.atomic
def set_statuses(
    changes: Mapping[int, tuple[str, str]],
    *,
    actor: User | None,
    via: str = "ui",
    now: dt.datetime | None = None,
) -> list[int]:
    """Change the statuses of many providers at once ({provider id: (status, reason)}): one UPDATE per
    (status, reason), the audit entries in one insert, the platform told of each. Returns the ids changed."""
    checked = {pid: (status, _check(status, reason)) for pid, (status, reason) in changes.items()}
    now = now or timezone.now()
    locked = Provider.objects.select_for_update().select_related("account").in_bulk(list(checked))
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    entries = []
    url = settings.MARKETPLACE_PLATFORM_WEBHOOK_URL
    for pid, (status, reason) in checked.items():
        provider = locked.get(pid)
        if provider is None or provider.status == status:
            continue
        before = snapshot(provider, AUDITED)
        provider.status, provider.status_changed_at, provider.status_reason = status, now, reason
        groups[(status, reason)].append(pid)
        entry = change_entry(
            actor=actor,
            obj=provider,
            action=AuditAction.UPDATE,
            before=before,
            after=snapshot(provider, AUDITED),
            account_id=pid,
            via=via,
        )
        if entry is not None:
            entries.append(entry)
        if url:
            enqueue_webhook(
                url,
                {
                    "event": "provider.status",
                    "provider": provider.account.external_id,
                    "status": status,
                    "takes_bookings": provider.takes_bookings,
                    "changed_at": now.isoformat(),
                },
                source="marketplace",
                dedupe_key=f"provider-status-{pid}-{now:%Y%m%d%H%M%S%f}",
                account=provider.account,
            )
    for (status, reason), ids in groups.items():
        Provider.objects.filter(pk__in=ids).update(status=status, status_changed_at=now, status_reason=reason)
    record_changes_bulk(entries)
    return [pid for ids in groups.values() for pid in ids]


def set_status(
    provider: Provider,
    status: str,
    *,
    actor: User | None,
    reason: str,
    via: str = "ui",
    now: dt.datetime | None = None,
) -> bool:
    """Change the provider's status (audited; the platform is told). Returns whether anything changed."""
    now = now or timezone.now()
    reason = _check(status, reason)
    if not set_statuses({provider.pk: (status, reason)}, actor=actor, via=via, now=now):
        return False
    provider.status, provider.status_changed_at, provider.status_reason = status, now, reason
    return True


def ensure_profile(account: Account) -> Provider:
    """The provider profile of a provider account, created with defaults when missing."""
    if account.kind != AccountKind.PROVIDER:
        raise ProviderError("provider", _("%(name)s is not a provider.") % {"name": account.name})
    provider, _created = Provider.objects.get_or_create(account=account)
    return provider


def search(
    *,
    status: str = "",
    category: str = "",
    area: str = "",
    name: str = "",
    sort: str = "name",
    now: dt.datetime | None = None,
) -> QuerySet[Provider]:
    """Providers matching the filters, each annotated with `points_90` and `count_90` (confirmed incidents of
    the last 90 days); sorted by name (reading), incident points (most first) or rating (best first)."""
    now = now or timezone.now()
    qs = Provider.objects.select_related("account")
    if status:
        qs = qs.filter(status=status)
    if category:
        qs = qs.filter(services__category=category)
    if area:
        qs = qs.filter(services__area=area)
    if category or area:
        qs = qs.distinct()
    key = search_key(name) if name else ""
    if key:
        qs = qs.filter(account__search_text__contains=key)
    window = (
        in_window(now, 90, queryset=Incident.objects.filter(provider_id=OuterRef("account_id")))
        .order_by()
        .values("provider_id")
    )
    qs = qs.annotate(
        points_90=Coalesce(
            Subquery(window.annotate(p=Sum("severity")).values("p")[:1], output_field=IntegerField()), Value(0)
        ),
        count_90=Coalesce(
            Subquery(window.annotate(c=Count("id")).values("c")[:1], output_field=IntegerField()), Value(0)
        ),
    )
    if sort == "points":
        return qs.order_by("-points_90", "account__name_kana", "account_id")
    if sort == "rating":
        return qs.order_by(F("rating").desc(nulls_last=True), "account__name_kana", "account_id")
    return qs.order_by("account__name_kana", "account__name", "account_id")


def booking_summary(provider_id: int, now: dt.datetime | None = None, days: int = 90) -> dict[str, Any]:
    """Upcoming bookings, and the last `days` days' bookings by status (scheduled in the window), with the
    no-show and cancellation rates as percentages of those bookings (None when there were none)."""
    now = now or timezone.now()
    qs = Booking.objects.filter(provider_id=provider_id)
    upcoming = qs.filter(status=BookingStatus.BOOKED, scheduled_at__gte=now).count()
    past = dict(
        qs.filter(scheduled_at__gte=now - dt.timedelta(days=days), scheduled_at__lte=now)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    total = sum(past.values())

    def rate(status: str) -> float | None:
        return round(100 * past.get(status, 0) / total, 1) if total else None

    return {
        "upcoming": upcoming,
        "days": days,
        "total": total,
        "completed": past.get(BookingStatus.COMPLETED, 0),
        "no_show": past.get(BookingStatus.NO_SHOW, 0),
        "cancelled": past.get(BookingStatus.CANCELLED, 0),
        "no_show_rate": rate(BookingStatus.NO_SHOW),
        "cancellation_rate": rate(BookingStatus.CANCELLED),
    }
