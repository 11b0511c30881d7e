"""Which providers could serve a request instead: same service category and area, taking bookings, free on the
day, ranked by rating and recent incidents. Used by rules (alternatives offered to customers of a provider that
reached a threshold) and by the concierge (an agent finds providers for an inquiry).

Ranking: a Bayesian average of the rating (few reviews pull toward the mean of all rated providers, so one
5-star review does not outrank 200 reviews at 4.8), minus 0.25 per severity point of confirmed incidents in the
last 90 days; ties go to the provider with more free slots that day, then the lower id (stable)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Avg, Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from .incidents import in_window
from .models import Booking, BookingStatus, Provider, ProviderService, ProviderStatus

TOKYO = ZoneInfo("Asia/Tokyo")
PRIOR_REVIEWS = 10
DEFAULT_MEAN = Decimal("3.5")
INCIDENT_PENALTY = 0.25
INCIDENT_WINDOW_DAYS = 90
TAKING_BOOKINGS = (ProviderStatus.ACTIVE, ProviderStatus.WARNED)


@dataclass(frozen=True)
class Candidate:
    provider_id: int
    name: str
    rating: str  # Decimal as text ("4.60"), "" when unrated: the plan is stored as JSON
    review_count: int
    free_slots: int
    incident_points: int
    score: float
    booking_url: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def tokyo_day(at: dt.datetime) -> dt.date:
    return timezone.localtime(at, TOKYO).date()


def _day_bounds(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(first, dt.time(), tzinfo=TOKYO)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=TOKYO)
    return start, end


def booked_per_day(provider_ids: Iterable[int], first: dt.date, last: dt.date) -> dict[tuple[int, dt.date], int]:
    """Booked (not cancelled, not done) bookings per (provider, Tokyo day) between two days inclusive."""
    ids = list(provider_ids)
    if not ids:
        return {}
    start, end = _day_bounds(first, last)
    rows = (
        Booking.objects.filter(
            provider_id__in=ids, status=BookingStatus.BOOKED, scheduled_at__gte=start, scheduled_at__lt=end
        )
        .annotate(day=TruncDate("scheduled_at", tzinfo=TOKYO))
        .values_list("provider_id", "day")
        .annotate(n=Count("id"))
    )
    return {(pid, day): n for pid, day, n in rows}


def _mean_rating() -> Decimal:
    mean = Provider.objects.filter(rating__isnull=False).aggregate(m=Avg("rating"))["m"]
    return Decimal(str(mean)) if mean is not None else DEFAULT_MEAN


def _score(rating: Decimal | None, reviews: int, mean: Decimal, incident_points: int) -> float:
    r = rating if rating is not None else mean
    bayes = (r * reviews + mean * PRIOR_REVIEWS) / (reviews + PRIOR_REVIEWS)
    return round(float(bayes) - INCIDENT_PENALTY * incident_points, 4)


def booking_link(provider: Provider, category: str, day: dt.date | None) -> str:
    url = provider.booking_url
    if not url:
        return ""
    return url.replace("{category}", category).replace("{date}", day.isoformat() if day else "")


def _rank(
    pairs: set[tuple[str, str]], days: set[dt.date], now: dt.datetime
) -> tuple[dict[tuple[str, str], list[Provider]], dict[tuple[int, dt.date], int], dict[int, int], Decimal]:
    """Candidates per (category, area), their booked counts on the days asked, their incident points."""
    by_pair: dict[tuple[str, str], list[Provider]] = defaultdict(list)
    if not pairs:
        return by_pair, {}, {}, DEFAULT_MEAN
    categories = {c for c, _a in pairs}
    rows = (
        ProviderService.objects.filter(category__in=categories, provider__status__in=TAKING_BOOKINGS)
        .select_related("provider__account")
        .order_by("provider_id")
    )
    providers: dict[int, Provider] = {}
    for service in rows:
        if (service.category, service.area) in pairs:
            by_pair[(service.category, service.area)].append(service.provider)
            providers[service.provider_id] = service.provider
    booked = booked_per_day(providers, min(days), max(days)) if days else {}
    points = dict(
        in_window(now, INCIDENT_WINDOW_DAYS)
        .filter(provider_id__in=list(providers))
        .values_list("provider_id")
        .annotate(p=Sum("severity"))
    )
    return by_pair, booked, points, _mean_rating()


def _candidates(
    providers: Sequence[Provider],
    category: str,
    day: dt.date,
    booked: dict[tuple[int, dt.date], int],
    points: dict[int, int],
    mean: Decimal,
    exclude: set[int],
    limit: int,
) -> list[Candidate]:
    found = []
    for p in providers:
        pid = p.account_id
        free = p.daily_capacity - booked.get((pid, day), 0)
        if pid in exclude or free <= 0:
            continue
        pts = points.get(pid, 0)
        found.append(
            Candidate(
                provider_id=pid,
                name=p.account.name,
                rating=str(p.rating) if p.rating is not None else "",
                review_count=p.review_count,
                free_slots=free,
                incident_points=pts,
                score=_score(p.rating, p.review_count, mean, pts),
                booking_url=booking_link(p, category, day),
            )
        )
    found.sort(key=lambda c: (-c.score, -c.free_slots, c.provider_id))
    return found[:limit]


def rank_providers(
    category: str,
    area: str,
    day: dt.date,
    *,
    limit: int = 10,
    exclude: Iterable[int] = (),
    now: dt.datetime | None = None,
) -> list[Candidate]:
    """Providers serving `category` in `area` with a free slot on `day` (Tokyo), best first."""
    now = now or timezone.now()
    by_pair, booked, points, mean = _rank({(category, area)}, {day}, now)
    return _candidates(by_pair.get((category, area), []), category, day, booked, points, mean, set(exclude), limit)


def alternatives_for(
    bookings: Sequence[Booking], *, limit: int = 3, exclude: Iterable[int] = (), now: dt.datetime | None = None
) -> dict[int, list[Candidate]]:
    """For each booking, up to `limit` other providers for its category, area and Tokyo day (set-based: a
    handful of queries whatever the number of bookings)."""
    now = now or timezone.now()
    excluded = set(exclude)
    pairs = {(b.category, b.area) for b in bookings}
    days = {tokyo_day(b.scheduled_at) for b in bookings}
    by_pair, booked, points, mean = _rank(pairs, days, now)
    return {
        b.pk: _candidates(
            by_pair.get((b.category, b.area), []),
            b.category,
            tokyo_day(b.scheduled_at),
            booked,
            points,
            mean,
            excluded | {b.provider_id},
            limit,
        )
        for b in bookings
    }
