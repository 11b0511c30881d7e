"""Special rates (特別単価): negotiated rewards for half-open periods [starts_at, ends_at), checked against each
other per offer; the campaign calendar of their switches (every start and end instant, Tokyo months), the
month-turn view, overlap and gap detection, and `apply_due`, which applies every due switch exactly once (even
with two schedulers running), in order, audited."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.core.business_hours import TOKYO
from banso.core.choices import AuditAction
from banso.core.services import record_change, snapshot

from .models import Offer, RateSwitch, SpecialRate, SpecialRateStatus, SwitchKind
from .offers import OfferError, reward_text, reward_values

if TYPE_CHECKING:
    from banso.core.models import User

RATE_AUDITED = ("offer", "starts_at", "ends_at", "reward_type", "rate", "amount", "status", "note")
REWARD_FIELDS = ("reward_type", "reward_rate", "reward_amount")
LIVE = (SpecialRateStatus.SCHEDULED, SpecialRateStatus.ACTIVE, SpecialRateStatus.ENDED)  # not cancelled
GAP_DAYS = 3  # a gap up to this long between two periods of an offer is flagged (probably meant continuous)


# Parsing -----------------------------------------------------------------------------------------------------


def parse_instant(field_name: str, value: Any) -> dt.datetime:
    """An aware instant from a datetime, an ISO text or a date; times without an offset are Tokyo time and a
    bare date is 00:00 Tokyo of that day."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    else:
        text = str(value or "").strip()
        if not text:
            raise OfferError(field_name, _("Enter a date and time."))
        try:
            moment = dt.datetime.fromisoformat(text.replace("/", "-"))
        except ValueError:
            raise OfferError(field_name, _("%(value)s is not a date and time.") % {"value": text}) from None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=TOKYO)
    return moment


def local(moment: dt.datetime) -> str:
    """ "2026-12-01 00:00" in Tokyo."""
    return moment.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")


def period_text(rate: SpecialRate) -> str:
    return f"{local(rate.starts_at)} – {local(rate.ends_at)}"


def rate_reward_text(rate: SpecialRate) -> str:
    return reward_text(rate.reward_type, rate.rate, rate.amount)


# Creating, editing, cancelling -------------------------------------------------------------------------------


def overlapping(
    offer: Offer, starts_at: dt.datetime, ends_at: dt.datetime, *, exclude: int | None = None
) -> QuerySet[SpecialRate]:
    """Non-cancelled periods of `offer` that overlap [starts_at, ends_at)."""
    qs = SpecialRate.objects.filter(
        offer=offer, status__in=LIVE, starts_at__lt=ends_at, ends_at__gt=starts_at
    ).order_by("starts_at", "id")
    return qs.exclude(pk=exclude) if exclude else qs


@transaction.atomic
def save_rate(
    rate: SpecialRate | None,
    data: Mapping[str, Any],
    *,
    offer: Offer | None = None,
    actor: User | None,
    via: str = "ui",
    now: dt.datetime | None = None,
) -> SpecialRate:
    """Create a special rate for `offer` (rate=None) or edit one. `data`: starts_at, ends_at, reward_type, rate,
    amount, note (keys left out of an edit keep their value). Refused: ends not after starts, an overlap with
    another non-cancelled period of the offer (named), a reward that does not fit its type. A scheduled period
    is freely editable; an active one only its end (not into the past) and note; ended/cancelled ones not."""
    now = now or timezone.now()
    creating = rate is None
    if rate is None:
        if offer is None:
            raise OfferError("offer", _("Choose an offer."))
        target = Offer.objects.select_for_update().get(pk=offer.pk)
        rate = SpecialRate(offer=target, created_by=actor if actor and actor.is_authenticated else None)
        before = None
    else:
        target = Offer.objects.select_for_update().get(pk=rate.offer_id)
        rate = SpecialRate.objects.get(pk=rate.pk)
        before = snapshot(rate, RATE_AUDITED)
        if rate.status in (SpecialRateStatus.ENDED, SpecialRateStatus.CANCELLED):
            raise OfferError("status", _("An ended or cancelled special rate cannot be changed."))

    active = rate.status == SpecialRateStatus.ACTIVE
    if active:
        for name in ("starts_at", "reward_type", "rate", "amount"):
            if name in data and data[name] not in (None, "") and _differs(rate, name, data[name]):
                raise OfferError(
                    name, _("This special rate is already in force: only its end and note can be changed.")
                )
    else:
        if creating or "starts_at" in data:
            rate.starts_at = parse_instant("starts_at", data.get("starts_at"))
        if creating or any(n in data for n in ("reward_type", "rate", "amount")):
            kind, value, amount = reward_values(
                data.get("reward_type", rate.reward_type if not creating else target.base_reward_type),
                data.get("rate", rate.rate),
                data.get("amount", rate.amount),
                fields=("reward_type", "rate", "amount"),
            )
            rate.reward_type, rate.rate, rate.amount = kind, value, amount
    if creating or "ends_at" in data:
        rate.ends_at = parse_instant("ends_at", data.get("ends_at"))
    if "note" in data or creating:
        note = str(data.get("note") or "").strip()
        if len(note) > 300:
            raise OfferError("note", _("At most %(max)s characters.") % {"max": 300})
        rate.note = note
    if rate.ends_at <= rate.starts_at:
        raise OfferError("ends_at", _("The end must be after the start."))
    if active and rate.ends_at < now:
        raise OfferError("ends_at", _("A special rate in force cannot end in the past."))
    other = overlapping(target, rate.starts_at, rate.ends_at, exclude=rate.pk).first()
    if other is not None:
        raise OfferError(
            "starts_at",
            _("Overlaps the special rate %(period)s (%(reward)s, #%(id)s) of this offer.")
            % {"period": period_text(other), "reward": rate_reward_text(other), "id": other.pk},
        )
    rate.save()
    record_change(
        actor=actor,
        obj=rate,
        action=AuditAction.CREATE if creating else AuditAction.UPDATE,
        before=before,
        after=snapshot(rate, RATE_AUDITED),
        account_id=target.advertiser_id,
        via=via,
    )
    return rate


def _differs(rate: SpecialRate, name: str, value: Any) -> bool:
    current = getattr(rate, name)
    if name == "starts_at":
        return bool(parse_instant(name, value) != current)
    if name == "rate" and current is not None:
        try:
            from decimal import Decimal

            return bool(Decimal(str(value)) != current)
        except ArithmeticError:
            return True
    return str(value) != str(current)


@transaction.atomic
def cancel_rate(rate: SpecialRate, *, actor: User | None, via: str = "ui") -> SpecialRate:
    """Cancel a scheduled special rate (one in force is shortened by editing its end instead)."""
    Offer.objects.select_for_update().get(pk=rate.offer_id)
    locked = SpecialRate.objects.select_for_update().get(pk=rate.pk)
    if locked.status != SpecialRateStatus.SCHEDULED:
        raise OfferError(
            "status", _("Only a scheduled special rate can be cancelled; shorten one in force by changing its end.")
        )
    before = snapshot(locked, RATE_AUDITED)
    locked.status = SpecialRateStatus.CANCELLED
    locked.save(update_fields=["status"])
    record_change(
        actor=actor,
        obj=locked,
        action=AuditAction.UPDATE,
        before=before,
        after=snapshot(locked, RATE_AUDITED),
        account_id=locked.offer.advertiser_id,
        via=via,
    )
    return locked


# The calendar ------------------------------------------------------------------------------------------------


@dataclass
class Switch:
    """One start or end instant of a special rate, and whether (and how) it was applied."""

    at: dt.datetime
    kind: str
    rate: SpecialRate
    applied: RateSwitch | None = None

    @property
    def offer(self) -> Offer:
        return self.rate.offer

    @property
    def local_at(self) -> dt.datetime:
        return self.at.astimezone(TOKYO)

    @property
    def is_start(self) -> bool:
        return self.kind == SwitchKind.START

    @property
    def reward(self) -> str:
        return rate_reward_text(self.rate)


def _order(switch: Switch) -> tuple[dt.datetime, int, str, int]:
    # At one instant an end goes before a start, so back-to-back periods hand over in the right order.
    return (switch.at, 0 if switch.kind == SwitchKind.END else 1, switch.rate.offer.name, switch.rate.pk)


def month_bounds(year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    """[00:00 of the 1st, 00:00 of the next 1st) in Tokyo."""
    start = dt.datetime(year, month, 1, tzinfo=TOKYO)
    following = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=TOKYO)
    return start, following


def switches_between(
    start: dt.datetime, end: dt.datetime, *, offer: Offer | None = None, include_cancelled: bool = False
) -> list[Switch]:
    """Every start and end instant in [start, end), sorted (ends before starts at the same instant)."""
    qs = SpecialRate.objects.select_related("offer", "offer__advertiser").filter(
        Q(starts_at__gte=start, starts_at__lt=end) | Q(ends_at__gte=start, ends_at__lt=end)
    )
    if not include_cancelled:
        qs = qs.exclude(status=SpecialRateStatus.CANCELLED)
    if offer is not None:
        qs = qs.filter(offer=offer)
    rates = list(qs)
    applied = {
        (s.special_rate_id, s.kind): s for s in RateSwitch.objects.filter(special_rate__in=[r.pk for r in rates])
    }
    out = []
    for r in rates:
        if start <= r.starts_at < end:
            out.append(Switch(r.starts_at, SwitchKind.START, r, applied.get((r.pk, SwitchKind.START))))
        if start <= r.ends_at < end:
            out.append(Switch(r.ends_at, SwitchKind.END, r, applied.get((r.pk, SwitchKind.END))))
    return sorted(out, key=_order)


def calendar(year: int, month: int, *, offer: Offer | None = None) -> list[Switch]:
    """Every switch in that Tokyo month, sorted."""
    start, end = month_bounds(year, month)
    return switches_between(start, end, offer=offer)


def calendar_weeks(year: int, month: int, switches: Iterable[Switch]) -> list[list[dict[str, Any]]]:
    """The month as weeks (Monday first) of {day, in_month, switches} for the grid."""
    by_day: dict[dt.date, list[Switch]] = defaultdict(list)
    for s in switches:
        by_day[s.local_at.date()].append(s)
    first = dt.date(year, month, 1)
    day = first - dt.timedelta(days=first.weekday())
    last = month_bounds(year, month)[1].date() - dt.timedelta(days=1)
    weeks = []
    while day <= last:
        week = []
        for _i in range(7):
            week.append({"day": day, "in_month": day.month == month, "switches": by_day.get(day, [])})
            day += dt.timedelta(days=1)
        weeks.append(week)
    return weeks


@dataclass
class TurnRow:
    """What happens to one offer around a month boundary."""

    offer: Offer
    ends: list[Switch] = field(default_factory=list)
    starts: list[Switch] = field(default_factory=list)
    before: str = ""
    after: str = ""
    off_boundary: bool = False  # a switch near, but not at, 00:00 of the 1st (probably meant to be)

    @property
    def change(self) -> str:
        if self.ends and self.starts:
            return "special_to_special"
        return "special_to_base" if self.ends else "base_to_special"


@dataclass
class MonthTurn:
    boundary: dt.datetime  # 00:00 of the 1st, Tokyo
    rows: list[TurnRow]

    @property
    def last_day(self) -> dt.date:
        return (self.boundary - dt.timedelta(days=1)).date()


def month_turn(year: int, month: int, *, window: dt.timedelta = dt.timedelta(days=1)) -> MonthTurn:
    """What changes at the turn into (year, month): periods ending at 24:00 of the previous month's last day
    (= 00:00 of the 1st) and periods starting at 00:00 of the 1st, grouped per offer with the reward before and
    after. Switches within `window` of the boundary are listed too and flagged as off the boundary."""
    boundary = month_bounds(year, month)[0]
    switches = switches_between(boundary - window, boundary + window)
    rows: dict[int, TurnRow] = {}
    for s in switches:
        row = rows.setdefault(s.rate.offer_id, TurnRow(s.rate.offer))
        (row.starts if s.is_start else row.ends).append(s)
        if s.at != boundary:
            row.off_boundary = True
    for row in rows.values():
        offer = row.offer
        base = reward_text(offer.base_reward_type, offer.base_rate, offer.base_amount)
        ending = [s for s in row.ends if s.at <= boundary]
        starting = [s for s in row.starts if s.at <= boundary]
        row.before = rate_reward_text(ending[-1].rate) if ending else base
        row.after = rate_reward_text(starting[-1].rate) if starting else base
    ordered = sorted(rows.values(), key=lambda r: (r.offer.name, r.offer.pk))
    return MonthTurn(boundary, ordered)


# Conflicts and gaps ------------------------------------------------------------------------------------------


def _live_rates(offer: Offer | None, since: dt.datetime | None) -> QuerySet[SpecialRate]:
    qs = SpecialRate.objects.filter(status__in=LIVE).select_related("offer").order_by("offer_id", "starts_at", "id")
    if offer is not None:
        qs = qs.filter(offer=offer)
    if since is not None:
        qs = qs.filter(ends_at__gt=since)
    return qs


def conflicts(*, offer: Offer | None = None, since: dt.datetime | None = None) -> list[tuple[SpecialRate, SpecialRate]]:
    """Pairs of non-cancelled periods of one offer that overlap (possible when written around the checks, e.g.
    by an import); `since` leaves out periods that ended before it."""
    pairs: list[tuple[SpecialRate, SpecialRate]] = []
    current: list[SpecialRate] = []
    last_offer = None
    for rate in _live_rates(offer, since).iterator(chunk_size=2000):
        if rate.offer_id != last_offer:
            current, last_offer = [], rate.offer_id
        current = [r for r in current if r.ends_at > rate.starts_at]
        pairs.extend((r, rate) for r in current)
        current.append(rate)
    return pairs


def gaps(
    offer: Offer | None = None, *, within_days: int = GAP_DAYS, since: dt.datetime | None = None
) -> list[tuple[SpecialRate, SpecialRate, dt.timedelta]]:
    """(earlier, later, gap) where a period of an offer ends and the next starts later, but within
    `within_days` (a one-day gap at a month turn was probably meant to be continuous)."""
    out = []
    previous: SpecialRate | None = None
    for rate in _live_rates(offer, since).iterator(chunk_size=2000):
        if previous is not None and previous.offer_id == rate.offer_id:
            gap = rate.starts_at - previous.ends_at
            if dt.timedelta(0) < gap <= dt.timedelta(days=within_days):
                out.append((previous, rate, gap))
        if previous is None or previous.offer_id != rate.offer_id or rate.ends_at > previous.ends_at:
            previous = rate
    return out


# Applying switches -------------------------------------------------------------------------------------------


def due(now: dt.datetime) -> list[Switch]:
    """Switches whose instant has come and that have not been applied, in the order they apply."""
    rates = SpecialRate.objects.select_related("offer").filter(
        Q(status=SpecialRateStatus.SCHEDULED, starts_at__lte=now)
        | Q(status__in=(SpecialRateStatus.SCHEDULED, SpecialRateStatus.ACTIVE), ends_at__lte=now)
    )
    out = []
    for r in rates:
        if r.status == SpecialRateStatus.SCHEDULED:
            out.append(Switch(r.starts_at, SwitchKind.START, r))
        if r.ends_at <= now:
            out.append(Switch(r.ends_at, SwitchKind.END, r))
    return sorted(out, key=_order)


def _reward(offer: Offer) -> dict[str, Any]:
    return {
        "reward_type": offer.reward_type,
        "reward_rate": None if offer.reward_rate is None else str(offer.reward_rate),
        "reward_amount": offer.reward_amount,
        "text": reward_text(offer.reward_type, offer.reward_rate, offer.reward_amount),
    }


def _apply_one(
    offer: Offer, rate: SpecialRate, kind: str, *, now: dt.datetime, actor: User | None, via: str
) -> RateSwitch | None:
    """Apply one switch inside the caller's transaction, offer and rate locked. None when already applied."""
    if RateSwitch.objects.filter(special_rate=rate, kind=kind).exists():
        return None
    before_audit = snapshot(offer, REWARD_FIELDS)
    rate_before = snapshot(rate, RATE_AUDITED)
    before = _reward(offer)
    if kind == SwitchKind.START:
        offer.reward_type, offer.reward_rate, offer.reward_amount = rate.reward_type, rate.rate, rate.amount
        rate.status = SpecialRateStatus.ACTIVE
        due_at = rate.starts_at
    else:
        # Back to the base, unless another special rate of the offer is in force or starts at this instant.
        successor = (
            SpecialRate.objects.filter(offer=offer, status__in=(SpecialRateStatus.ACTIVE, SpecialRateStatus.SCHEDULED))
            .exclude(pk=rate.pk)
            .filter(
                Q(status=SpecialRateStatus.ACTIVE, ends_at__gt=rate.ends_at)
                | Q(status=SpecialRateStatus.SCHEDULED, starts_at=rate.ends_at)
            )
            .order_by("-status", "starts_at")  # scheduled (the one starting now) before an active overlap
            .first()
        )
        if successor is not None:
            offer.reward_type, offer.reward_rate, offer.reward_amount = (
                successor.reward_type,
                successor.rate,
                successor.amount,
            )
        else:
            offer.reward_type, offer.reward_rate, offer.reward_amount = (
                offer.base_reward_type,
                offer.base_rate,
                offer.base_amount,
            )
        rate.status = SpecialRateStatus.ENDED
        due_at = rate.ends_at
    offer.save(update_fields=list(REWARD_FIELDS))
    rate.save(update_fields=["status"])
    switch = RateSwitch.objects.create(
        offer=offer,
        special_rate=rate,
        kind=kind,
        due_at=due_at,
        applied_at=now,
        before=before,
        after=_reward(offer),
        applied_by=actor if actor and actor.is_authenticated else None,
        via=via,
    )
    record_change(
        actor=actor,
        obj=offer,
        action=AuditAction.UPDATE,
        before=before_audit,
        after=snapshot(offer, REWARD_FIELDS),
        account_id=offer.advertiser_id,
        via=via,
    )
    # The period's own entry too: a hand-over between two equal rewards changes nothing on the offer.
    record_change(
        actor=actor,
        obj=rate,
        action=AuditAction.UPDATE,
        before=rate_before,
        after=snapshot(rate, RATE_AUDITED),
        account_id=offer.advertiser_id,
        via=via,
    )
    return switch


def apply_due(now: dt.datetime | None = None, *, actor: User | None = None, via: str = "scheduler") -> list[RateSwitch]:
    """Apply every due switch (instant <= now) not yet applied, oldest first, one transaction each with the
    offer and the special rate locked, so two schedulers at once apply each switch once (the unique
    (special_rate, kind) constraint backs this up). An end whose start was never applied applies both."""
    now = now or timezone.now()
    applied: list[RateSwitch] = []
    for item in due(now):
        batch: list[RateSwitch | None] = []
        try:
            with transaction.atomic():
                offer = Offer.objects.select_for_update().get(pk=item.rate.offer_id)
                rate = SpecialRate.objects.select_for_update().get(pk=item.rate.pk)
                if rate.status == SpecialRateStatus.CANCELLED:
                    continue
                if item.kind == SwitchKind.END and rate.status == SpecialRateStatus.SCHEDULED:
                    batch.append(_apply_one(offer, rate, SwitchKind.START, now=now, actor=actor, via=via))
                batch.append(_apply_one(offer, rate, item.kind, now=now, actor=actor, via=via))
        except IntegrityError:
            continue  # another scheduler applied it between our check and our insert
        applied.extend(s for s in batch if s is not None)
    return applied


def upcoming(now: dt.datetime, days: int = 7) -> list[Switch]:
    """Switches from now to `days` ahead."""
    return switches_between(now, now + dt.timedelta(days=days))
