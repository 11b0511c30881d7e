"""The merchant monthly report (seed 003): bookings and sales per merchant and in total, month-on-month and
year-on-year, members and their growth, the repeat rate, top plans, a 13-month trend and sales per tax rate.

Definitions (shown on the page, in the workbook and in the PDF):

- A booking belongs to the month of its `scheduled_at` (the stay, the tour) in Asia/Tokyo.
- Bookings and guests count bookings that were not cancelled (no-shows count: the customer pays).
- Sales (tax included) = amounts of bookings not cancelled + cancellation fees of cancelled bookings
  − refunds made in the month. A refund belongs to the month of its `refunded_at`, whichever month the booking
  was in, so a month already reported is never changed by a later refund.
- Members are end users of kind member; new members were created in the month; growth = new members /
  members at the previous month's end.
- Repeat rate = members with a booking (not cancelled) in the month who also had one scheduled in the
  `window_days` days before the month's first day (BillingSettings.repeat_window_days, 365 by default),
  divided by all members with a booking in the month.
- Only bookings of merchant accounts (kind merchant) count.

Everything is a handful of grouped SQL aggregates over indexed `scheduled_at` / `refunded_at` ranges (one per
month compared, one for the trend), so the report takes seconds over millions of bookings. Yen are ints;
ratios are floats used only for display (None when the base is zero).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from banso.accounts.choices import AccountKind, EndUserKind
from banso.accounts.models import Account, EndUser
from banso.core.calendar import month_start
from banso.marketplace.models import Booking, BookingStatus

TREND_MONTHS = 13
TOP_PLANS = 10
TOKYO = ZoneInfo("Asia/Tokyo")


def change(current: int, previous: int) -> float | None:
    """(current − previous) / previous; None when there is nothing to compare with."""
    if not previous:
        return None
    return (current - previous) / previous


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Figures:
    bookings: int = 0
    guests: int = 0
    booked_sales: int = 0  # amounts of bookings not cancelled (yen, tax included)
    cancellations: int = 0
    cancellation_fees: int = 0
    refunds: int = 0

    @property
    def sales(self) -> int:
        return self.booked_sales + self.cancellation_fees - self.refunds

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.bookings + other.bookings,
            self.guests + other.guests,
            self.booked_sales + other.booked_sales,
            self.cancellations + other.cancellations,
            self.cancellation_fees + other.cancellation_fees,
            self.refunds + other.refunds,
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "bookings": self.bookings,
            "guests": self.guests,
            "booked_sales": self.booked_sales,
            "cancellations": self.cancellations,
            "cancellation_fees": self.cancellation_fees,
            "refunds": self.refunds,
            "sales": self.sales,
        }


EMPTY = Figures()


@dataclass(frozen=True)
class Compared:
    """A month's figures next to the previous month's and the same month a year earlier."""

    current: Figures
    previous_month: Figures
    previous_year: Figures

    @property
    def sales_mom(self) -> float | None:
        return change(self.current.sales, self.previous_month.sales)

    @property
    def sales_yoy(self) -> float | None:
        return change(self.current.sales, self.previous_year.sales)

    @property
    def bookings_mom(self) -> float | None:
        return change(self.current.bookings, self.previous_month.bookings)

    @property
    def bookings_yoy(self) -> float | None:
        return change(self.current.bookings, self.previous_year.bookings)

    @property
    def guests_mom(self) -> float | None:
        return change(self.current.guests, self.previous_month.guests)

    @property
    def guests_yoy(self) -> float | None:
        return change(self.current.guests, self.previous_year.guests)


@dataclass(frozen=True)
class MerchantRow(Compared):
    account_id: int = 0
    name: str = ""
    reading: str = ""


@dataclass(frozen=True)
class PlanRow:
    account_id: int
    merchant: str
    plan: str
    bookings: int
    guests: int
    sales: int  # amounts of the plan's bookings not cancelled (yen, tax included)


@dataclass(frozen=True)
class TrendPoint:
    month: dt.date
    bookings: int
    guests: int
    sales: int
    new_members: int
    members: int  # at the month's end


@dataclass(frozen=True)
class TaxRow:
    rate: int
    sales: int  # tax included, after refunds
    refunds: int

    @property
    def tax(self) -> int:
        """The consumption tax contained in the sales, rounded down once."""
        return self.sales * self.rate // (100 + self.rate)

    @property
    def excluding_tax(self) -> int:
        return self.sales - self.tax


@dataclass(frozen=True)
class MonthlyReport:
    month: dt.date
    window_days: int
    totals: Compared
    merchants: tuple[MerchantRow, ...]
    new_members: int
    members_at_end: int
    members_at_previous_end: int
    active_members: int  # members with a booking in the month
    repeat_members: int
    top_plans_by_sales: tuple[PlanRow, ...]
    top_plans_by_bookings: tuple[PlanRow, ...]
    trend: tuple[TrendPoint, ...]
    by_tax_rate: tuple[TaxRow, ...]
    generated_at: dt.datetime = field(default_factory=timezone.now)

    @property
    def member_growth(self) -> float | None:
        return ratio(self.new_members, self.members_at_previous_end)

    @property
    def repeat_rate(self) -> float | None:
        return ratio(self.repeat_members, self.active_members)

    @property
    def active_merchants(self) -> int:
        return sum(1 for m in self.merchants if m.current.bookings or m.current.cancellations or m.current.refunds)

    def merchant(self, account_id: int) -> MerchantRow | None:
        return next((m for m in self.merchants if m.account_id == account_id), None)


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the month in Asia/Tokyo, aware."""
    first = month_start(month)
    following = month_start(first, 1)
    return (
        dt.datetime.combine(first, dt.time.min, tzinfo=TOKYO),
        dt.datetime.combine(following, dt.time.min, tzinfo=TOKYO),
    )


def default_month(today: dt.date | None = None) -> dt.date:
    """Last month: the one whose numbers are complete."""
    return month_start(today or timezone.localdate(), -1)


def merchant_bookings() -> QuerySet[Booking]:
    return Booking.objects.filter(provider__kind=AccountKind.MERCHANT)


NOT_CANCELLED = ~Q(status=BookingStatus.CANCELLED)
CANCELLED = Q(status=BookingStatus.CANCELLED)
FIGURE_AGGREGATES: dict[str, Any] = {
    "n_bookings": Count("id", filter=NOT_CANCELLED),
    "n_guests": Sum("guests", filter=NOT_CANCELLED),
    "booked": Sum("amount", filter=NOT_CANCELLED),
    "n_cancelled": Count("id", filter=CANCELLED),
    "fees": Sum("cancellation_fee", filter=CANCELLED),
}


def _figures(row: Mapping[str, Any], refunds: int = 0) -> Figures:
    return Figures(
        bookings=row.get("n_bookings") or 0,
        guests=row.get("n_guests") or 0,
        booked_sales=row.get("booked") or 0,
        cancellations=row.get("n_cancelled") or 0,
        cancellation_fees=row.get("fees") or 0,
        refunds=refunds,
    )


def figures_by_merchant(month: dt.date) -> dict[int, Figures]:
    """One GROUP BY over the month's `scheduled_at` range and one over its `refunded_at` range."""
    start, end = month_bounds(month)
    scheduled = {
        row["provider_id"]: row
        for row in merchant_bookings()
        .filter(scheduled_at__gte=start, scheduled_at__lt=end)
        .values("provider_id")
        .annotate(**FIGURE_AGGREGATES)
        .order_by()
    }
    refunds = dict(
        merchant_bookings()
        .filter(refunded_at__gte=start, refunded_at__lt=end)
        .values("provider_id")
        .annotate(total=Sum("refunded_amount"))
        .order_by()
        .values_list("provider_id", "total")
    )
    return {pk: _figures(scheduled.get(pk, {}), refunds.get(pk) or 0) for pk in scheduled.keys() | refunds.keys()}


def _sum(figures: Iterable[Figures]) -> Figures:
    total = EMPTY
    for f in figures:
        total = total + f
    return total


def _trend(first: dt.date, month: dt.date) -> tuple[TrendPoint, ...]:
    start, _ = month_bounds(first)
    _, end = month_bounds(month)
    by_month: dict[dt.date, dict[str, Any]] = {}
    for row in (
        merchant_bookings()
        .filter(scheduled_at__gte=start, scheduled_at__lt=end)
        .annotate(m=TruncMonth("scheduled_at", tzinfo=TOKYO))
        .values("m")
        .annotate(**FIGURE_AGGREGATES)
        .order_by()
    ):
        by_month[_as_month(row["m"])] = row
    refunds: dict[dt.date, int] = {}
    for m, total in (
        merchant_bookings()
        .filter(refunded_at__gte=start, refunded_at__lt=end)
        .annotate(m=TruncMonth("refunded_at", tzinfo=TOKYO))
        .values("m")
        .annotate(total=Sum("refunded_amount"))
        .order_by()
        .values_list("m", "total")
    ):
        refunds[_as_month(m)] = total or 0
    members = EndUser.objects.filter(kind=EndUserKind.MEMBER)
    before = members.filter(created_at__lt=start).count()
    joined: dict[dt.date, int] = {}
    for m, n in (
        members.filter(created_at__gte=start, created_at__lt=end)
        .annotate(m=TruncMonth("created_at", tzinfo=TOKYO))
        .values("m")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("m", "n")
    ):
        joined[_as_month(m)] = n
    points = []
    running = before
    for i in range(TREND_MONTHS):
        m = month_start(first, i)
        f = _figures(by_month.get(m, {}), refunds.get(m, 0))
        running += joined.get(m, 0)
        points.append(TrendPoint(m, f.bookings, f.guests, f.sales, joined.get(m, 0), running))
    return tuple(points)


def _as_month(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.astimezone(TOKYO).date() if timezone.is_aware(value) else value.date()
    return value.replace(day=1)


def _repeat(month: dt.date, window_days: int) -> tuple[int, int]:
    """(members with a booking in the month, those of them with one in the window before the month)."""
    start, end = month_bounds(month)
    window_start = start - dt.timedelta(days=window_days)
    in_month = (
        merchant_bookings()
        .filter(scheduled_at__gte=start, scheduled_at__lt=end, end_user__kind=EndUserKind.MEMBER)
        .filter(NOT_CANCELLED)
    )
    earlier = (
        merchant_bookings()
        .filter(end_user_id=OuterRef("end_user_id"), scheduled_at__gte=window_start, scheduled_at__lt=start)
        .filter(NOT_CANCELLED)
    )
    counts = in_month.aggregate(
        active=Count("end_user_id", distinct=True),
    )
    repeat = (
        in_month.filter(Exists(earlier)).aggregate(n=Count("end_user_id", distinct=True))["n"]
        if counts["active"]
        else 0
    )
    return counts["active"] or 0, repeat or 0


@dataclass(frozen=True)
class _MonthDetail:
    by_merchant: dict[int, Figures]
    plans: list[tuple[int, str, int, int, int]]  # (merchant, plan, bookings, guests, sales)
    by_tax_rate: tuple[TaxRow, ...]


def _month_detail(month: dt.date) -> _MonthDetail:
    """The report month in one scan: grouped by merchant, plan and tax rate, then summed here three ways (per
    merchant, per plan, per tax rate), plus one grouped scan of the month's refunds."""
    start, end = month_bounds(month)
    groups = list(
        merchant_bookings()
        .filter(scheduled_at__gte=start, scheduled_at__lt=end)
        .values("provider_id", "plan", "tax_rate")
        .annotate(**FIGURE_AGGREGATES)
        .order_by()
    )
    refunds: dict[tuple[int, int], int] = {
        (pk, rate): total or 0
        for pk, rate, total in merchant_bookings()
        .filter(refunded_at__gte=start, refunded_at__lt=end)
        .values("provider_id", "tax_rate")
        .annotate(total=Sum("refunded_amount"))
        .order_by()
        .values_list("provider_id", "tax_rate", "total")
    }
    keys = ("n_bookings", "n_guests", "booked", "n_cancelled", "fees")
    merchants: dict[int, list[int]] = {}
    plans: dict[tuple[int, str], list[int]] = {}
    taxes: dict[int, list[int]] = {}
    for row in groups:
        values = [row[k] or 0 for k in keys]
        pk = row["provider_id"]
        for target in (merchants.setdefault(pk, [0] * 6), taxes.setdefault(row["tax_rate"], [0] * 6)):
            for i, v in enumerate(values):
                target[i] += v
        if values[0]:
            totals = plans.setdefault((pk, row["plan"]), [0, 0, 0])
            totals[0] += values[0]
            totals[1] += values[1]
            totals[2] += values[2]
    for (pk, rate), total in refunds.items():
        merchants.setdefault(pk, [0] * 6)[5] += total
        taxes.setdefault(rate, [0] * 6)[5] += total
    tax_figures = {rate: Figures(*v) for rate, v in taxes.items()}
    return _MonthDetail(
        by_merchant={pk: Figures(*v) for pk, v in merchants.items()},
        plans=[(pk, plan, n, g, sales) for (pk, plan), (n, g, sales) in plans.items()],
        by_tax_rate=tuple(
            TaxRow(rate, tax_figures.get(rate, EMPTY).sales, tax_figures.get(rate, EMPTY).refunds) for rate in (10, 8)
        ),
    )


def _top_plans(
    plans: list[tuple[int, str, int, int, int]], names: Mapping[int, str]
) -> tuple[tuple[PlanRow, ...], tuple[PlanRow, ...]]:
    rows = [PlanRow(pk, names.get(pk, ""), plan, n, g, sales) for pk, plan, n, g, sales in plans]
    by_sales = sorted(rows, key=lambda p: (-p.sales, -p.bookings, p.account_id, p.plan))[:TOP_PLANS]
    by_bookings = sorted(rows, key=lambda p: (-p.bookings, -p.sales, p.account_id, p.plan))[:TOP_PLANS]
    return tuple(by_sales), tuple(by_bookings)


def repeat_window_days() -> int:
    from .models import BillingSettings

    return BillingSettings.current().repeat_window_days


def build(month: dt.date, *, window_days: int | None = None) -> MonthlyReport:
    """The report for `month` (any day of it)."""
    month = month_start(month)
    if window_days is None:
        window_days = repeat_window_days()
    detail = _month_detail(month)
    current = detail.by_merchant
    previous = figures_by_merchant(month_start(month, -1))
    last_year = figures_by_merchant(month_start(month, -12))
    ids = current.keys() | previous.keys() | last_year.keys()
    accounts = {
        pk: (name, kana) for pk, name, kana in Account.objects.filter(pk__in=ids).values_list("id", "name", "name_kana")
    }
    merchants = tuple(
        sorted(
            (
                MerchantRow(
                    current=current.get(pk, EMPTY),
                    previous_month=previous.get(pk, EMPTY),
                    previous_year=last_year.get(pk, EMPTY),
                    account_id=pk,
                    name=accounts[pk][0],
                    reading=accounts[pk][1],
                )
                for pk in ids
                if pk in accounts
            ),
            key=lambda m: (-m.current.sales, m.reading or m.name, m.account_id),
        )
    )
    totals = Compared(_sum(current.values()), _sum(previous.values()), _sum(last_year.values()))
    start, end = month_bounds(month)
    members = EndUser.objects.filter(kind=EndUserKind.MEMBER)
    counts = members.aggregate(
        at_end=Count("id", filter=Q(created_at__lt=end)),
        at_previous_end=Count("id", filter=Q(created_at__lt=start)),
    )
    active, repeat = _repeat(month, window_days)
    by_sales, by_bookings = _top_plans(detail.plans, {pk: v[0] for pk, v in accounts.items()})
    return MonthlyReport(
        month=month,
        window_days=window_days,
        totals=totals,
        merchants=merchants,
        new_members=counts["at_end"] - counts["at_previous_end"],
        members_at_end=counts["at_end"],
        members_at_previous_end=counts["at_previous_end"],
        active_members=active,
        repeat_members=repeat,
        top_plans_by_sales=by_sales,
        top_plans_by_bookings=by_bookings,
        trend=_trend(month_start(month, -(TREND_MONTHS - 1)), month),
        by_tax_rate=detail.by_tax_rate,
    )


SORTS: dict[str, Any] = {
    "sales": lambda m: m.current.sales,
    "bookings": lambda m: m.current.bookings,
    "guests": lambda m: m.current.guests,
    "cancellations": lambda m: m.current.cancellations,
    "refunds": lambda m: m.current.refunds,
    "sales_mom": lambda m: m.sales_mom,
    "sales_yoy": lambda m: m.sales_yoy,
    "bookings_yoy": lambda m: m.bookings_yoy,
    "name": lambda m: m.reading or m.name,
}


def sort_merchants(rows: Iterable[MerchantRow], key: str, *, descending: bool = True) -> list[MerchantRow]:
    """Rows by one column; empty ratios always last. Names sort ascending by reading unless asked."""
    get = SORTS.get(key, SORTS["sales"])
    present = [r for r in rows if get(r) is not None]
    missing = [r for r in rows if get(r) is None]
    present.sort(key=lambda r: (get(r), -r.account_id), reverse=descending)
    return present + missing


def search_merchants(rows: Iterable[MerchantRow], query: str) -> list[MerchantRow]:
    from banso.core.text import normalise, search_key

    wanted = normalise(query)
    if not wanted:
        return list(rows)
    return [r for r in rows if wanted in search_key(r.name, r.reading)]
