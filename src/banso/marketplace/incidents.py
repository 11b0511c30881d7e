"""Provider incidents: recording, confirming, dismissing, and counting them in rolling windows.

Window semantics (every count in the marketplace uses `in_window`): an incident counts for a window of N days
evaluated at `now` when it is confirmed and `now - N days <= occurred_at <= now` — both ends inclusive, exact
to the microsecond, independent of the time zone. An incident recorded for the future does not count yet."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Case, Count, IntegerField, Max, QuerySet, Sum, Value, When
from django.db.models.functions import Cast, Substr
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.accounts.choices import AccountKind
from banso.accounts.models import MANUAL_SOURCE, Account
from banso.core.choices import AuditAction
from banso.core.services import record_change, snapshot

from .models import Booking, Incident, IncidentStatus, IncidentType, Provider, Severity

if TYPE_CHECKING:
    from banso.core.models import User

TOKYO = ZoneInfo("Asia/Tokyo")


def in_window(
    now: dt.datetime,
    window_days: int,
    *,
    incident_types: Iterable[str] = (),
    min_severity: int = 0,
    queryset: QuerySet[Incident] | None = None,
) -> QuerySet[Incident]:
    """Confirmed incidents that occurred in the `window_days` days up to `now` (see the module docstring)."""
    qs = (queryset if queryset is not None else Incident.objects.all()).filter(
        status=IncidentStatus.CONFIRMED,
        occurred_at__gte=now - dt.timedelta(days=window_days),
        occurred_at__lte=now,
    )
    types = list(incident_types)
    if types:
        qs = qs.filter(type__in=types)
    if min_severity:
        qs = qs.filter(severity__gte=min_severity)
    return qs


# Recording and deciding ----------------------------------------------------------------------------------------

NUMBER_PREFIX = "INC-"
FUTURE_SLACK = dt.timedelta(minutes=1)
AUDITED = (
    "number",
    "provider",
    "type",
    "severity",
    "status",
    "occurred_at",
    "summary",
    "evidence",
    "booking",
    "inquiry_number",
    "confirmed_by",
    "confirmed_at",
    "dismissed_reason",
)

# Sent after a confirmation is committed (recorded confirmed, confirmed, or imported confirmed): the rules'
# area evaluates the providers' rules at once. `provider_ids=[...]`, `actor=user | None`.
incident_confirmed = Signal()


class IncidentError(Exception):
    """Refused input; `field` names what was wrong (API: 422 with it, forms: the field's error)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def next_number() -> str:
    """The next incident number ("INC-000001"); called inside the creating transaction (the unique index
    catches a race, see `_create_numbered`)."""
    top = (
        Incident.objects.filter(number__regex=r"^INC-[0-9]+$")
        .annotate(n=Cast(Substr("number", len(NUMBER_PREFIX) + 1), IntegerField()))
        .aggregate(top=Max("n"))["top"]
    )
    return f"{NUMBER_PREFIX}{(top or 0) + 1:06d}"


def _create_numbered(fields: dict[str, Any], attempts: int = 20) -> Incident:
    """Create the incident with the next number; when another transaction took that number meanwhile (the
    unique index refuses it once the other commits), try again with the number after it."""
    for attempt in range(attempts):
        try:
            with transaction.atomic():
                number = next_number()
                # Recorded by hand, an incident's external id in the manual source is its number.
                return Incident.objects.create(number=number, **{"external_id": number, **fields})
        except IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def _announce(provider_ids: Iterable[int], actor: User | None) -> None:
    ids = sorted(set(provider_ids))
    if not ids:
        return
    transaction.on_commit(lambda: incident_confirmed.send(sender=Incident, provider_ids=ids, actor=actor))


def _actor(user: User | None) -> User | None:
    return user if user is not None and user.is_authenticated else None


@transaction.atomic
def record_incident(
    *,
    provider: Account,
    type: str,
    severity: int,
    occurred_at: dt.datetime,
    summary: str,
    evidence: str = "",
    booking: Booking | None = None,
    inquiry_number: int | None = None,
    reported_by: User | None = None,
    confirmed: bool = False,
    via: str = "ui",
    now: dt.datetime | None = None,
) -> Incident:
    """Record a problem against a provider (confirmed at once when `confirmed`, e.g. by an ops manager)."""
    now = now or timezone.now()
    if provider.kind != AccountKind.PROVIDER or not Provider.objects.filter(account_id=provider.pk).exists():
        raise IncidentError("provider", _("%(name)s is not a provider.") % {"name": provider.name})
    if type not in IncidentType.values:
        raise IncidentError("type", _("Choose one of the incident types."))
    if severity not in Severity.values:
        raise IncidentError("severity", _("Choose one of the severities."))
    if occurred_at is None or timezone.is_naive(occurred_at):
        raise IncidentError("occurred_at", _("Give the date and time it happened."))
    if occurred_at > now + FUTURE_SLACK:
        raise IncidentError("occurred_at", _("The incident cannot have happened in the future."))
    summary = (summary or "").strip()
    if not summary:
        raise IncidentError("summary", _("Describe what happened in a line."))
    if len(summary) > Incident._meta.get_field("summary").max_length:  # type: ignore[operator]
        raise IncidentError("summary", _("The summary is too long (300 characters at most)."))
    if booking is not None and booking.provider_id != provider.pk:
        raise IncidentError("booking", _("This booking is not with this provider."))
    user = _actor(reported_by)
    fields: dict[str, Any] = {
        "source": MANUAL_SOURCE,
        "provider": provider,
        "type": type,
        "severity": severity,
        "occurred_at": occurred_at,
        "summary": summary,
        "evidence": evidence or "",
        "booking": booking,
        "inquiry_number": inquiry_number,
        "reported_by": user,
    }
    if confirmed:
        fields.update(status=IncidentStatus.CONFIRMED, confirmed_by=user, confirmed_at=now)
    incident = _create_numbered(fields)
    record_change(
        actor=user,
        obj=incident,
        action=AuditAction.CREATE,
        before=None,
        after=snapshot(incident, AUDITED),
        account_id=provider.pk,
        via=via,
    )
    if confirmed:
        _announce([provider.pk], user)
    return incident


def _decide(incident: Incident, actor: User | None, via: str, change: Callable[[Incident], None]) -> Incident:
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    before = snapshot(locked, AUDITED)
    change(locked)
    locked.updated_at = timezone.now()
    locked.save()
    record_change(
        actor=_actor(actor),
        obj=locked,
        action=AuditAction.UPDATE,
        before=before,
        after=snapshot(locked, AUDITED),
        account_id=locked.provider_id,
        via=via,
    )
    for attr in ("status", "confirmed_by_id", "confirmed_at", "dismissed_reason", "updated_at"):
        setattr(incident, attr, getattr(locked, attr))
    return incident


@transaction.atomic
def confirm(incident: Incident, actor: User | None, *, via: str = "ui", now: dt.datetime | None = None) -> Incident:
    """Confirm a reported incident: from now on it counts toward the provider's rules."""
    if incident.status == IncidentStatus.CONFIRMED:
        raise IncidentError("status", _("This incident is already confirmed."))

    def change(obj: Incident) -> None:
        if obj.status == IncidentStatus.CONFIRMED:
            raise IncidentError("status", _("This incident is already confirmed."))
        obj.status = IncidentStatus.CONFIRMED
        obj.confirmed_by = _actor(actor)
        obj.confirmed_at = now or timezone.now()
        obj.dismissed_reason = ""

    _decide(incident, actor, via, change)
    _announce([incident.provider_id], _actor(actor))
    return incident


@transaction.atomic
def dismiss(incident: Incident, actor: User | None, reason: str, *, via: str = "ui") -> Incident:
    """Dismiss an incident (not the provider's fault, not proven): it never counts. A reason is required."""
    reason = (reason or "").strip()
    if not reason:
        raise IncidentError("reason", _("Say why the incident is dismissed."))
    if len(reason) > Incident._meta.get_field("dismissed_reason").max_length:  # type: ignore[operator]
        raise IncidentError("reason", _("The reason is too long (300 characters at most)."))

    def change(obj: Incident) -> None:
        if obj.status == IncidentStatus.DISMISSED:
            raise IncidentError("status", _("This incident is already dismissed."))
        obj.status = IncidentStatus.DISMISSED
        obj.dismissed_reason = reason
        obj.confirmed_by = None
        obj.confirmed_at = None

    return _decide(incident, actor, via, change)


@transaction.atomic
def reopen(incident: Incident, actor: User | None, *, via: str = "ui") -> Incident:
    """Back to reported, only from dismissed (a confirmed incident may have fired rules already)."""

    def change(obj: Incident) -> None:
        if obj.status != IncidentStatus.DISMISSED:
            raise IncidentError("status", _("Only a dismissed incident can be reopened."))
        obj.status = IncidentStatus.REPORTED
        obj.dismissed_reason = ""

    return _decide(incident, actor, via, change)


# Counting ----------------------------------------------------------------------------------------------------

WINDOWS = (30, 90, 365)


def window_counts(
    provider_ids: Iterable[int], now: dt.datetime, windows: Iterable[int] = WINDOWS
) -> dict[int, dict[int, dict[str, int]]]:
    """{provider id: {window days: {"count": confirmed incidents, "points": their severity weights}}} for every
    provider asked (zeros where none), one aggregate query per window."""
    ids = list(provider_ids)
    days = list(windows)
    out: dict[int, dict[int, dict[str, int]]] = {pid: {d: {"count": 0, "points": 0} for d in days} for pid in ids}
    if not ids:
        return out
    for window in days:
        rows = (
            in_window(now, window, queryset=Incident.objects.filter(provider_id__in=ids))
            .order_by()
            .values("provider_id")
            .annotate(count=Count("id"), points=Sum("severity"))
        )
        for row in rows:
            out[row["provider_id"]][window] = {"count": row["count"], "points": row["points"] or 0}
    return out


def counts_by_type(
    provider_id: int, now: dt.datetime, windows: Iterable[int] = WINDOWS
) -> dict[int, dict[str, dict[str, int]]]:
    """{window days: {type: {"count", "points"}}} of one provider's confirmed incidents (types with none left
    out)."""
    out: dict[int, dict[str, dict[str, int]]] = {}
    for window in windows:
        rows = (
            in_window(now, window, queryset=Incident.objects.filter(provider_id=provider_id))
            .order_by()
            .values("type")
            .annotate(count=Count("id"), points=Sum("severity"))
        )
        out[window] = {r["type"]: {"count": r["count"], "points": r["points"] or 0} for r in rows}
    return out


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def monthly_history(provider: Account, months: int = 12, now: dt.datetime | None = None) -> dict[str, Any]:
    """Confirmed incidents per Tokyo month and type over the last `months` months (this month last):
    {"months": ["2026-01", …], "types": {type: [count per month]}, "points": [per month]}."""
    now = now or timezone.now()
    this_month = _month_start(now.astimezone(TOKYO).date())
    first = _add_months(this_month, -(months - 1))
    labels = [f"{_add_months(first, i):%Y-%m}" for i in range(months)]
    start = dt.datetime.combine(first, dt.time(), tzinfo=TOKYO)
    types: dict[str, list[int]] = {}
    points = [0] * months
    rows = Incident.objects.filter(
        provider_id=provider.pk, status=IncidentStatus.CONFIRMED, occurred_at__gte=start, occurred_at__lte=now
    ).values_list("type", "severity", "occurred_at")
    for kind, severity, occurred in rows:
        local = occurred.astimezone(TOKYO).date()
        index = (local.year - first.year) * 12 + local.month - first.month
        if 0 <= index < months:
            types.setdefault(kind, [0] * months)[index] += 1
            points[index] += severity
    return {"months": labels, "types": types, "points": points}


def filter_incidents(data: dict[str, Any]) -> QuerySet[Incident]:
    """Incidents matching cleaned filter values, those awaiting confirmation first, then newest first."""
    qs = Incident.objects.select_related("provider", "booking")
    if data.get("status"):
        qs = qs.filter(status=data["status"])
    if data.get("type"):
        qs = qs.filter(type=data["type"])
    if data.get("severity"):
        qs = qs.filter(severity=data["severity"])
    if data.get("provider"):
        qs = qs.filter(provider_id=data["provider"])
    if data.get("start"):
        qs = qs.filter(occurred_at__gte=dt.datetime.combine(data["start"], dt.time(), tzinfo=TOKYO))
    if data.get("end"):
        qs = qs.filter(occurred_at__lt=dt.datetime.combine(data["end"] + dt.timedelta(days=1), dt.time(), tzinfo=TOKYO))
    awaiting = Case(When(status=IncidentStatus.REPORTED, then=Value(0)), default=Value(1), output_field=IntegerField())
    return qs.annotate(awaiting=awaiting).order_by("awaiting", "-occurred_at", "-id")
