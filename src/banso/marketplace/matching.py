"""Which providers could serve a request instead: same service category and area, taking bookings, free on the
day, ranked by rating and recent incidents. Used by rules (alternatives offered to customers of a provider that
reached a threshold) and by the concierge (an agent finds providers for an inquiry).

Ranking: a Bayesian average of the rating (few reviews pull toward the mean of all rated providers, so one
5-star review does not outrank 200 reviews at 4.8), minus 0.25 per severity point of confirmed incidents in the
last 90 days; ties go to the provider with more free slots that day, then the lower id (stable).

Availability is counted in bookings, not guests: a provider's free slots on a Tokyo day are its
`daily_capacity` minus its booked (not cancelled, not completed) bookings scheduled that day, and a request
for several guests needs one slot, as one booking does. A booking at 23:30 JST belongs to that day.

Allocation (`alternatives_for`): the bookings are served greedily in order of scheduled time (then id), and
each offer of a candidate uses one of its free slots on that day, so a candidate is never offered for more
bookings of one day than it has free slots; a later booking of that day gets the next-best providers. The
`free_slots` a candidate shows is what was left of that day when it was offered.

Every function here runs a fixed number of queries (four) whatever the number of bookings or providers: the
candidate services, the booked counts per provider and day, incident points and the mean rating."""

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


@dataclass(frozen=True, slots=True)
class _Ranked:
    """What ranking reads of a provider (its profile and account name)."""

    account_id: int
    name: str
    rating: Decimal | None
    review_count: int
    daily_capacity: int
    booking_url: str


def booking_link(provider: Provider | _Ranked, category: str, day: dt.date | None) -> str:
    url = provider.booking_url
    if not url:
        return ""
    return url.replace("{category}", category).replace("{date}", day.isoformat() if day else "")


def _rank(
    pairs: set[tuple[str, str]], days: set[dt.date], now: dt.datetime
) -> tuple[dict[tuple[str, str], list[_Ranked]], dict[tuple[int, dt.date], int], dict[int, int], Decimal]:
    """Candidates per (category, area), their booked counts on the days asked, their incident points."""
    by_pair: dict[tuple[str, str], list[_Ranked]] = defaultdict(list)
    if not pairs:
        return by_pair, {}, {}, DEFAULT_MEAN
    services = ProviderService.objects.filter(
        category__in={c for c, _a in pairs},
        area__in={a for _c, a in pairs},
        provider__status__in=TAKING_BOOKINGS,
    )
    # Plain rows, one light record per provider: model instances for every service (with its provider and
    # account) cost 30 s of the benchmark's 50,000 providers (83,000 services) alone.
    providers: dict[int, _Ranked] = {}
    rows = services.order_by("provider_id", "id").values_list(
        "category",
        "area",
        "provider_id",
        "provider__account__name",
        "provider__rating",
        "provider__review_count",
        "provider__daily_capacity",
        "provider__booking_url",
    )
    for category, area, pid, name, rating, reviews, capacity, url in rows:
        if (category, area) in pairs:
            ranked = providers.get(pid)
            if ranked is None:
                ranked = providers[pid] = _Ranked(pid, name, rating, reviews, capacity, url)
            by_pair[(category, area)].append(ranked)
    if not providers:
        return by_pair, {}, {}, DEFAULT_MEAN
    # The same services as a subquery (not a list of ids): thousands of candidates stay one parameter set.
    candidate_ids = services.values("provider_id")
    booked = _booked_per_day(candidate_ids, days) if days else {}
    points = dict(
        in_window(now, INCIDENT_WINDOW_DAYS)
        .filter(provider_id__in=candidate_ids)
        .order_by()
        .values_list("provider_id")
        .annotate(p=Sum("severity"))
    )
    return by_pair, booked, points, _mean_rating()


def _booked_per_day(provider_ids: Any, days: set[dt.date]) -> dict[tuple[int, dt.date], int]:
    start, end = _day_bounds(min(days), max(days))
    rows = (
        Booking.objects.filter(
            provider_id__in=provider_ids, status=BookingStatus.BOOKED, scheduled_at__gte=start, scheduled_at__lt=end
        )
        .annotate(day=TruncDate("scheduled_at", tzinfo=TOKYO))
        .order_by()
        .values_list("provider_id", "day")
        .annotate(n=Count("id"))
    )
    return {(pid, day): n for pid, day, n in rows if day in days}


def _candidates(
    providers: Sequence[_Ranked],
    category: str,
    day: dt.date,
    booked: dict[tuple[int, dt.date], int],
    points: dict[int, int],
    mean: Decimal,
    exclude: set[int],
    limit: int,
) -> list[Candidate]:
    """Providers of one (category, area) with a free slot on `day`, best first; `booked` counts the day's
    bookings (and, in `alternatives_for`, the offers already made that day)."""
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
                name=p.name,
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
    """For each booking, up to `limit` other providers for its category, area and Tokyo day, never offering
    a provider for more bookings of one day than it has free slots (greedy, earliest booking first: see the
    module docstring). Set-based: the same few queries whatever the number of bookings."""
    now = now or timezone.now()
    excluded = set(exclude)
    pairs = {(b.category, b.area) for b in bookings}
    days = {tokyo_day(b.scheduled_at) for b in bookings}
    by_pair, booked, points, mean = _rank(pairs, days, now)
    taken = dict(booked)  # booked bookings plus the offers made so far, per (provider, day)
    result: dict[int, list[Candidate]] = {}
    for b in sorted(bookings, key=lambda b: (b.scheduled_at, b.pk)):
        day = tokyo_day(b.scheduled_at)
        offered = _candidates(
            by_pair.get((b.category, b.area), []),
            b.category,
            day,
            taken,
            points,
            mean,
            excluded | {b.provider_id},
            limit,
        )
        for c in offered:
            taken[(c.provider_id, day)] = taken.get((c.provider_id, day), 0) + 1
        result[b.pk] = offered
    return {b.pk: result[b.pk] for b in bookings}
