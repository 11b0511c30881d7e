"""Reconciling ASP results with the media's own events, per offer and Tokyo month: clicks, results by status,
approval rate, rewards, CVR, cashback owed to users (and per user, for the payout team), results we cannot trace
to a click of ours, and clicks past the ASP's window that never produced a result.

Events are read from the app database (activity.Event) rather than the analytics lake: reconciliation matches
individual click ids of one month against the results just imported, must see events the moment they are
stored (the lake copies them on its next sync), and its queries are narrow (one month, two event kinds, click
ids in chunks). The whole-population scans the lake is built for (segments over hundreds of millions of events)
are not what this needs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import CharField, Count, Max, Min, Q, QuerySet, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from banso.activity.models import Event
from banso.core import xlsx
from banso.core.business_hours import TOKYO

from .conversions import CLICK_KIND, LOOKUP_CHUNK, VISIT_KIND, click_events, month_bounds
from .models import Conversion, ConversionStatus, Offer

# Clicks older than this with no result are counted as expired (ASPs credit results within about 30 days).
CLICK_WINDOW_DAYS = 30
UNMATCHED_SHOWN = 200


@dataclass
class OfferMonth:
    """One offer's figures for one month (results by the month they occurred in, Tokyo)."""

    offer: Offer
    month: dt.date
    clicks: int = 0
    visits: int = 0
    visitors: int = 0
    pending: int = 0
    approved: int = 0
    rejected: int = 0
    reward_pending: int = 0
    reward_approved: int = 0
    reward_rejected: int = 0
    order_amount: int = 0  # of results not rejected
    cashback_approved: int = 0
    cashback_owed: int = 0  # approved, not yet paid
    unmatched: int = 0
    expired_clicks: int = 0
    unmatched_results: list[Conversion] = field(default_factory=list)

    @property
    def conversions(self) -> int:
        return self.pending + self.approved + self.rejected

    @property
    def approval_rate(self) -> float | None:
        """確定 / (確定 + 否認): decided results only."""
        decided = self.approved + self.rejected
        return self.approved / decided if decided else None

    @property
    def cvr(self) -> float | None:
        return self.conversions / self.clicks if self.clicks else None

    @property
    def approval_percent(self) -> float | None:
        rate = self.approval_rate
        return None if rate is None else round(rate * 100, 1)

    @property
    def cvr_percent(self) -> float | None:
        rate = self.cvr
        return None if rate is None else round(rate * 100, 2)

    @property
    def reward_total(self) -> int:
        return self.reward_pending + self.reward_approved + self.reward_rejected

    def as_dict(self) -> dict[str, Any]:
        return {
            "offer": self.offer.pk,
            "offer_name": self.offer.name,
            "asp": self.offer.asp.code,
            "asp_offer_id": self.offer.asp_offer_id,
            "month": self.month.strftime("%Y-%m"),
            "clicks": self.clicks,
            "visits": self.visits,
            "visitors": self.visitors,
            "conversions": self.conversions,
            "pending": self.pending,
            "approved": self.approved,
            "rejected": self.rejected,
            "approval_rate": self.approval_rate,
            "cvr": self.cvr,
            "reward_pending": self.reward_pending,
            "reward_approved": self.reward_approved,
            "reward_rejected": self.reward_rejected,
            "order_amount": self.order_amount,
            "cashback_approved": self.cashback_approved,
            "cashback_owed": self.cashback_owed,
            "unmatched": self.unmatched,
            "expired_clicks": self.expired_clicks,
        }


def reconcile_month(
    month: dt.date, *, offers: Sequence[int] | None = None, now: dt.datetime | None = None
) -> list[OfferMonth]:
    """Every offer with results or clicks in `month` (or only `offers`), ordered by name."""
    start, end = month_bounds(month)
    now = now or timezone.now()
    results = Conversion.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    clicks = Event.objects.filter(kind=CLICK_KIND, occurred_at__gte=start, occurred_at__lt=end).annotate(
        offer=KeyTextTransform("offer", "properties")
    )
    if offers is not None:
        results = results.filter(offer_id__in=list(offers))
        ids = list(offers)
        # Offer ids are JSON numbers in click events; a producer writing them as text is matched too.
        clicks = clicks.filter(Q(properties__offer__in=ids) | Q(properties__offer__in=[str(pk) for pk in ids]))
    by_status = (
        results.order_by()
        .values("offer_id", "status")
        .annotate(n=Count("pk"), reward=Sum("reward"), order=Sum("order_amount"), cashback=Sum("cashback"))
    )
    owed = (
        results.filter(status=ConversionStatus.APPROVED, cashback_paid_at__isnull=True)
        .order_by()
        .values("offer_id")
        .annotate(owed=Sum("cashback"))
    )
    click_counts: dict[int, int] = {}
    for key, n in clicks.order_by().values_list("offer").annotate(n=Count("pk")):
        pk = _int(key)
        if pk is not None:
            click_counts[pk] = click_counts.get(pk, 0) + n

    wanted = {row["offer_id"] for row in by_status} | set(click_counts)
    if offers is not None:
        wanted &= set(offers)
    offer_objs = {o.pk: o for o in Offer.objects.filter(pk__in=wanted).select_related("asp", "advertiser")}
    figures = {pk: OfferMonth(offer=o, month=month, clicks=click_counts.get(pk, 0)) for pk, o in offer_objs.items()}
    for row in by_status:
        fig = figures.get(row["offer_id"])
        if fig is None:
            continue
        status, n, reward = row["status"], row["n"], int(row["reward"] or 0)
        if status == ConversionStatus.PENDING:
            fig.pending, fig.reward_pending = n, reward
        elif status == ConversionStatus.APPROVED:
            fig.approved, fig.reward_approved = n, reward
            fig.cashback_approved = int(row["cashback"] or 0)
        else:
            fig.rejected, fig.reward_rejected = n, reward
        if status != ConversionStatus.REJECTED:
            fig.order_amount += int(row["order"] or 0)
    for row in owed:
        if row["offer_id"] in figures:
            figures[row["offer_id"]].cashback_owed = int(row["owed"] or 0)

    _visits(figures, start, end)
    _unmatched(figures, results)
    _expired(figures, clicks, now)
    return sorted(figures.values(), key=lambda f: (f.offer.name, f.offer.pk))


def reconcile_offer(offer: Offer, month: dt.date, *, now: dt.datetime | None = None) -> OfferMonth:
    found = reconcile_month(month, offers=[offer.pk], now=now)
    return found[0] if found else OfferMonth(offer=offer, month=month)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _visits(figures: dict[int, OfferMonth], start: dt.datetime, end: dt.datetime) -> None:
    """Visits to the advertiser's site in the month (an advertiser with several offers shows them on each)."""
    advertisers = {f.offer.advertiser_id for f in figures.values()}
    if not advertisers:
        return
    rows = (
        Event.objects.filter(kind=VISIT_KIND, account_id__in=advertisers, occurred_at__gte=start, occurred_at__lt=end)
        .order_by()
        .values("account_id")
        .annotate(n=Count("pk"), users=Count("end_user_id", distinct=True))
    )
    per = {row["account_id"]: (row["n"], row["users"]) for row in rows}
    for fig in figures.values():
        fig.visits, fig.visitors = per.get(fig.offer.advertiser_id, (0, 0))


def traced_clicks(pairs: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
    """Of (advertiser id, click id) pairs, those with an offer_click event of ours (any time)."""
    wanted = set(pairs)
    ids = sorted({click for _adv, click in wanted})
    found: set[tuple[int, str]] = set()
    for start in range(0, len(ids), LOOKUP_CHUNK):
        events = click_events(ids[start : start + LOOKUP_CHUNK])
        for account_id, click in events.values_list("account_id", "click"):  # type: ignore[misc]  # annotation
            if (account_id, click) in wanted:
                found.add((account_id, click))
    return found


def _unmatched(figures: dict[int, OfferMonth], results: Any) -> None:
    """Results the ASP credited whose click id (or lack of one) leads to no click of ours."""
    rows = list(
        results.filter(offer_id__in=list(figures))
        .order_by("occurred_at", "pk")
        .values_list("pk", "offer_id", "click_id")
    )
    advertiser = {pk: f.offer.advertiser_id for pk, f in figures.items()}
    traced = traced_clicks((advertiser[offer_id], click) for _pk, offer_id, click in rows if click)
    lost: dict[int, list[int]] = {}
    for pk, offer_id, click in rows:
        if not click or (advertiser[offer_id], click) not in traced:
            lost.setdefault(offer_id, []).append(pk)
    shown = {pk for pks in lost.values() for pk in pks[:UNMATCHED_SHOWN]}
    objs = {c.pk: c for c in Conversion.objects.filter(pk__in=shown).select_related("end_user")}
    for offer_id, pks in lost.items():
        figures[offer_id].unmatched = len(pks)
        figures[offer_id].unmatched_results = [objs[pk] for pk in pks[:UNMATCHED_SHOWN]]


def _expired(figures: dict[int, OfferMonth], clicks: Any, now: dt.datetime) -> None:
    """The month's clicks older than the window with no result carrying their click id."""
    cutoff = now - dt.timedelta(days=CLICK_WINDOW_DAYS)
    resulted = Conversion.objects.exclude(click_id="").values("click_id")
    rows = (
        clicks.filter(occurred_at__lt=cutoff)
        .annotate(click=Cast(KeyTextTransform("click_id", "properties"), CharField()))
        .exclude(Q(click__in=resulted))
        .order_by()
        .values_list("offer")
        .annotate(n=Count("pk"))
    )
    for key, n in rows:
        pk = _int(key)
        if pk is not None and pk in figures:
            figures[pk].expired_clicks += n


@dataclass
class UserOwed:
    end_user_id: int | None
    external_id: str
    name: str
    email: str
    results: int
    owed: int
    oldest: dt.datetime | None
    newest: dt.datetime | None


def owed_results(
    *, month: dt.date | None = None, offer: int | None = None, end_user: int | None = None
) -> QuerySet[Conversion]:
    """Approved results whose cashback is not paid yet (occurred in `month`, of `offer`, of `end_user`)."""
    qs = Conversion.objects.filter(status=ConversionStatus.APPROVED, cashback_paid_at__isnull=True, cashback__gt=0)
    if month is not None:
        start, end = month_bounds(month)
        qs = qs.filter(occurred_at__gte=start, occurred_at__lt=end)
    if offer is not None:
        qs = qs.filter(offer_id=offer)
    if end_user is not None:
        qs = qs.filter(end_user_id=end_user)
    return qs


def cashback_owed(*, month: dt.date | None = None, offer: int | None = None) -> list[UserOwed]:
    """Per user, the cashback of approved results not yet paid (largest first); results that reached no user
    come last as one line without a user."""
    rows = (
        owed_results(month=month, offer=offer)
        .order_by()
        .values("end_user_id", "end_user__external_id", "end_user__name", "end_user__email")
        .annotate(results=Count("pk"), owed=Sum("cashback"), oldest=Min("decided_at"), newest=Max("decided_at"))
    )
    out = [
        UserOwed(
            end_user_id=row["end_user_id"],
            external_id=row["end_user__external_id"] or "",
            name=row["end_user__name"] or "",
            email=row["end_user__email"] or "",
            results=row["results"],
            owed=int(row["owed"] or 0),
            oldest=row["oldest"],
            newest=row["newest"],
        )
        for row in rows
    ]
    return sorted(out, key=lambda u: (u.end_user_id is None, -u.owed, u.external_id))


def _local(value: dt.datetime | None) -> str:
    return value.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M") if value else ""


# The payout team's export (CSV and XLSX): (header, number format, value of a UserOwed).
OWED_COLUMNS: list[tuple[str, str | None, Any]] = [
    ("user_id", None, lambda u: u.external_id),
    ("name", None, lambda u: u.name),
    ("email", None, lambda u: u.email),
    ("results", xlsx.COUNT, lambda u: u.results),
    ("cashback_owed", xlsx.YEN, lambda u: u.owed),
    ("oldest_decided_at", None, lambda u: _local(u.oldest)),
    ("newest_decided_at", None, lambda u: _local(u.newest)),
]
