"""Inquiry analytics for a period (Asia/Tokyo days) and grain: volume by type, channel, category and over time,
the fastest-growing types, time to first response and to resolution in business minutes, and the chatbot's
self-resolution rate. Counting is done by the database (GROUP BY); only the response-time percentiles need
the rows' timestamps, turned into business minutes with numpy against tables built from
core.business_hours.BusinessHours. Every number carries the inbox filter that lists the inquiries behind it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import numpy as np
from django.db import connection
from django.db.models import Count, FloatField, Func, Q, QuerySet
from django.db.models.functions import Trunc
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.core.business_hours import BusinessHours
from banso.core.calendar import closed_days, is_business_day

from .desk import DeskError
from .models import Article, Category, Channel, ChatOutcome, ChatSession, Inquiry, InquiryType

TOKYO = ZoneInfo("Asia/Tokyo")
GRAINS = ("day", "week", "month")
DEFAULT_WEEKS = 12
# A type must have at least this many inquiries in the period to be listed as growing.
MIN_GROWTH_COUNT = 5
MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class Period:
    start: dt.date  # first day, inclusive
    end: dt.date  # last day, inclusive
    grain: str = "week"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def since(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), tzinfo=TOKYO)

    @property
    def until(self) -> dt.datetime:
        """The instant after the last day (exclusive bound)."""
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), tzinfo=TOKYO)

    def previous(self) -> Period:
        """The equal period just before this one."""
        return Period(self.start - dt.timedelta(days=self.days), self.start - dt.timedelta(days=1), self.grain)


def parse_period(
    date_from: str | dt.date | None,
    date_to: str | dt.date | None,
    grain: str | None = None,
    today: dt.date | None = None,
) -> Period:
    """From query parameters; default: the last 12 weeks up to today (Tokyo), by week."""
    today = today or timezone.localdate()

    def day(value: str | dt.date | None, field: str) -> dt.date | None:
        if value in (None, ""):
            return None
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise DeskError(field, _("%(value)s is not a date (YYYY-MM-DD).") % {"value": value}) from None

    end = day(date_to, "to") or today
    start = day(date_from, "from") or end - dt.timedelta(weeks=DEFAULT_WEEKS) + dt.timedelta(days=1)
    if start > end:
        raise DeskError("from", _("The period starts after it ends."))
    if (end - start).days > MAX_DAYS:
        raise DeskError("from", _("The period is longer than three years."))
    grain = grain or "week"
    if grain not in GRAINS:
        raise DeskError("grain", _("Unknown grain: %(value)s") % {"value": grain})
    return Period(start, end, grain)


def inquiries(period: Period) -> QuerySet[Inquiry]:
    """The period's inquiries (by arrival), merged duplicates left out."""
    return Inquiry.objects.filter(created_at__gte=period.since, created_at__lt=period.until, merged_into__isnull=True)


def inbox_link(period: Period | None = None, **params: Any) -> str:
    """The inbox filtered to the inquiries behind a number (area A's inbox reads these parameters)."""
    try:
        base = reverse("support:inbox")
    except NoReverseMatch:
        base = reverse("support:index")
    query = {k: v for k, v in params.items() if v not in (None, "")}
    if period is not None:
        query["from"], query["to"] = period.start.isoformat(), period.end.isoformat()
    return f"{base}?{urlencode(query)}" if query else base


# Buckets ------------------------------------------------------------------------------------------------


def bucket_start(day: dt.date, grain: str) -> dt.date:
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def buckets(period: Period) -> list[dt.date]:
    out, day = [], bucket_start(period.start, period.grain)
    while day <= period.end:
        out.append(day)
        if period.grain == "day":
            day += dt.timedelta(days=1)
        elif period.grain == "week":
            day += dt.timedelta(weeks=1)
        else:
            day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out


def bucket_end(start: dt.date, period: Period) -> dt.date:
    if period.grain == "day":
        end = start
    elif period.grain == "week":
        end = start + dt.timedelta(days=6)
    else:
        end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return min(end, period.end)


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value, TOKYO).date() if timezone.is_aware(value) else value.date()
    return value  # type: ignore[no-any-return]


def counts_over_time(qs: QuerySet[Any], period: Period, field: str = "created_at") -> dict[dt.date, int]:
    rows = (
        qs.annotate(bucket=Trunc(field, period.grain, tzinfo=TOKYO))
        .values("bucket")
        .annotate(n=Count("id"))
        .values_list("bucket", "n")
    )
    return {_as_date(bucket): n for bucket, n in rows}


# Volume -------------------------------------------------------------------------------------------------


def volume(period: Period) -> dict[str, Any]:
    qs = inquiries(period)
    total = qs.count()
    by_bucket = counts_over_time(qs, period)
    timeline = [
        {
            "bucket": b,
            "count": by_bucket.get(b, 0),
            "link": inbox_link(Period(max(b, period.start), bucket_end(b, period), period.grain)),
        }
        for b in buckets(period)
    ]
    type_names = dict(InquiryType.objects.values_list("pk", "name"))
    by_type = [
        {
            "id": r["inquiry_type_id"],
            "name": type_names.get(r["inquiry_type_id"], _("Not classified")),
            "count": r["n"],
            "share": r["n"] / total if total else 0,
            "link": inbox_link(period, type=r["inquiry_type_id"]) if r["inquiry_type_id"] else None,
        }
        for r in qs.values("inquiry_type_id").annotate(n=Count("id")).order_by("-n", "inquiry_type_id")
    ]
    channel_names = dict(Channel.choices)
    by_channel = [
        {
            "key": r["channel"],
            "name": str(channel_names.get(r["channel"], r["channel"])),
            "count": r["n"],
            "share": r["n"] / total if total else 0,
            "link": inbox_link(period, channel=r["channel"]),
        }
        for r in qs.values("channel").annotate(n=Count("id")).order_by("-n", "channel")
    ]
    category_paths = dict(Category.objects.values_list("pk", "path"))
    by_category = [
        {
            "id": r["category_id"],
            "name": category_paths.get(r["category_id"], _("No category")),
            "count": r["n"],
            "share": r["n"] / total if total else 0,
            "link": inbox_link(period, category=r["category_id"]) if r["category_id"] else None,
        }
        for r in qs.values("category_id").annotate(n=Count("id")).order_by("-n", "category_id")
    ]
    # Types over time: the top types' counts per bucket (one GROUP BY over both).
    top_ids = [r["id"] for r in by_type if r["id"] is not None][:6]
    series: dict[int, dict[dt.date, int]] = {t: {} for t in top_ids}
    if top_ids:
        rows = (
            qs.filter(inquiry_type_id__in=top_ids)
            .annotate(bucket=Trunc("created_at", period.grain, tzinfo=TOKYO))
            .values("inquiry_type_id", "bucket")
            .annotate(n=Count("id"))
            .values_list("inquiry_type_id", "bucket", "n")
        )
        for type_id, bucket, n in rows:
            series[type_id][_as_date(bucket)] = n
    types_over_time = [
        {"id": t, "name": type_names.get(t, ""), "counts": [series[t].get(b, 0) for b in buckets(period)]}
        for t in top_ids
    ]
    return {
        "total": total,
        "link": inbox_link(period),
        "timeline": timeline,
        "by_type": by_type,
        "by_channel": by_channel,
        "by_category": by_category,
        "types_over_time": types_over_time,
    }


def growth(period: Period, min_count: int = MIN_GROWTH_COUNT, limit: int = 10) -> list[dict[str, Any]]:
    """Types whose volume grew most against the equal period before (absolute increase first), among types
    with at least `min_count` inquiries now."""
    previous = period.previous()
    now = dict(
        inquiries(period)
        .filter(inquiry_type__isnull=False)
        .values("inquiry_type_id")
        .annotate(n=Count("id"))
        .values_list("inquiry_type_id", "n")
    )
    before = dict(
        inquiries(previous)
        .filter(inquiry_type__isnull=False)
        .values("inquiry_type_id")
        .annotate(n=Count("id"))
        .values_list("inquiry_type_id", "n")
    )
    names = dict(InquiryType.objects.filter(pk__in=now).values_list("pk", "name"))
    rows = []
    for type_id, count in now.items():
        prev = before.get(type_id, 0)
        if count < min_count or count <= prev:
            continue
        rows.append(
            {
                "id": type_id,
                "name": names.get(type_id, ""),
                "count": count,
                "previous": prev,
                "change": count - prev,
                "growth": (count - prev) / prev if prev else None,
                "link": inbox_link(period, type=type_id),
                "previous_link": inbox_link(previous, type=type_id),
            }
        )
    rows.sort(key=lambda r: (-r["change"], -(r["growth"] or 1e9), r["name"]))
    return rows[:limit]


# Response times -----------------------------------------------------------------------------------------


class BusinessClock:
    """Business minutes between many pairs of instants at once: the business minutes from a fixed origin to
    each instant (whole days before it plus the minutes of its own day), subtracted. The tables come from
    BusinessHours.minutes_between, so the rules (split shifts, holidays, company closed days) are its own.
    Tokyo has no daylight saving, so local minutes are UTC minutes plus 540."""

    def __init__(self, first: dt.date, last: dt.date, hours: BusinessHours | None = None) -> None:
        self.hours = hours or BusinessHours()
        self.first = first
        closed = closed_days(first, last)
        n_days = (last - first).days + 1
        days = [first + dt.timedelta(days=i) for i in range(n_days)]
        self.business = np.array([is_business_day(d, closed) for d in days], dtype=bool)
        # Minutes into a business day, measured on an ordinary working day (no holiday, no closed day).
        ref_day = dt.date(2001, 1, 10)
        while not is_business_day(ref_day, set()):
            ref_day += dt.timedelta(days=1)
        ref = dt.datetime.combine(ref_day, dt.time(), tzinfo=TOKYO)
        self.within = np.array(
            [self.hours.minutes_between(ref, ref + dt.timedelta(minutes=m), closed=set()) for m in range(1441)],
            dtype=np.int64,
        )
        totals = np.where(self.business, self.within[1440], 0)
        self.before = np.concatenate([[0], np.cumsum(totals)[:-1]]).astype(np.int64)

    def _position(self, epoch_minutes: np.ndarray) -> np.ndarray:
        local = epoch_minutes + 540
        origin = (dt.datetime.combine(self.first, dt.time()) - dt.datetime(1970, 1, 1)).days
        day = np.clip(local // 1440 - origin, 0, len(self.before) - 1)
        minute = local % 1440
        position: np.ndarray = self.before[day] + np.where(self.business[day], self.within[minute], 0)
        return position

    def minutes(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Business minutes from each start to each end (epoch seconds, float arrays; NaN ends give NaN)."""
        valid = ~np.isnan(ends)
        out = np.full(len(starts), np.nan)
        if valid.any():
            s = (starts[valid] // 60).astype(np.int64)
            e = (ends[valid] // 60).astype(np.int64)
            out[valid] = np.maximum(self._position(e) - self._position(s), 0)
        return out


class Epoch(Func):
    """Seconds since 1970 of a timestamp column, computed by the database: a million Python datetimes cost
    seconds to build, floats do not."""

    output_field = FloatField()
    template = "EXTRACT(EPOCH FROM %(expressions)s)::double precision"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(
            compiler, connection, template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)", **extra
        )


def _floats(values: Sequence[Any]) -> np.ndarray:
    """Epoch seconds (None: NaN) rounded to the millisecond (SQLite's julianday arithmetic is off by
    microseconds, which would move an instant on a whole minute into the minute before)."""
    return np.round(np.array(values, dtype=float), 3)


def _stats(values: np.ndarray) -> dict[str, Any]:
    values = values[~np.isnan(values)]
    if not len(values):
        return {"count": 0, "median": None, "p90": None}
    return {
        "count": len(values),
        "median": float(np.median(values)),
        "p90": float(np.percentile(values, 90)),
    }


def response_times(period: Period) -> dict[str, Any]:
    """Median and 90th percentile of business minutes to first response and to resolution, overall, by
    channel and by type, for the period's inquiries."""
    query = (
        inquiries(period)
        .annotate(t0=Epoch("created_at"), t1=Epoch("first_responded_at"), t2=Epoch("solved_at"))
        .values_list("channel", "inquiry_type_id", "t0", "t1", "t2")
    )
    # Plain rows from the cursor: Django's per-value converters cost seconds at a million rows.
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        empty = _stats(np.array([]))
        return {"overall": {"first": empty, "resolution": empty}, "by_channel": [], "by_type": []}
    table = np.array(rows, dtype=object)  # one conversion; zip(*rows) took seconds at a million rows
    channels = table[:, 0].astype(str)
    types = np.array(table[:, 1].tolist(), dtype=float)
    types = np.where(np.isnan(types), 0, types).astype(np.int64)
    created, first_at, solved_at = (_floats(table[:, i].tolist()) for i in (2, 3, 4))
    last = float(np.nanmax(np.concatenate([created, first_at, solved_at])))
    last_day = dt.datetime.fromtimestamp(last, TOKYO).date()
    clock = BusinessClock(period.start - dt.timedelta(days=1), last_day + dt.timedelta(days=1))
    first = clock.minutes(created, first_at)
    resolution = clock.minutes(created, solved_at)
    channel_names = dict(Channel.choices)
    type_names = dict(InquiryType.objects.values_list("pk", "name"))
    by_channel = [
        {
            "key": key,
            "name": str(channel_names.get(key, key)),
            "inquiries": int((channels == key).sum()),
            "first": _stats(first[channels == key]),
            "resolution": _stats(resolution[channels == key]),
            "link": inbox_link(period, channel=key),
        }
        for key in sorted(set(channels.tolist()))
    ]
    by_type = [
        {
            "id": t or None,
            "name": type_names.get(t, _("Not classified")),
            "inquiries": int((types == t).sum()),
            "first": _stats(first[types == t]),
            "resolution": _stats(resolution[types == t]),
            "link": inbox_link(period, type=t) if t else None,
        }
        for t in sorted(set(types.tolist()), key=lambda t: -int((types == t).sum()))
    ]
    return {
        "overall": {"first": _stats(first), "resolution": _stats(resolution)},
        "by_channel": by_channel,
        "by_type": by_type,
    }


# Chatbot self-resolution --------------------------------------------------------------------------------

ENDED = Q(outcome__in=[ChatOutcome.SELF_RESOLVED, ChatOutcome.HANDED_OFF, ChatOutcome.ABANDONED])


def self_resolution(period: Period) -> dict[str, Any]:
    """Sessions the bot resolved / all ended sessions, over time and per article."""
    sessions = ChatSession.objects.filter(started_at__gte=period.since, started_at__lt=period.until).filter(ENDED)
    totals = sessions.aggregate(ended=Count("id"), resolved=Count("id", filter=Q(outcome=ChatOutcome.SELF_RESOLVED)))
    ended, resolved = totals["ended"] or 0, totals["resolved"] or 0
    rows = (
        sessions.annotate(bucket=Trunc("started_at", period.grain, tzinfo=TOKYO))
        .values("bucket")
        .annotate(ended=Count("id"), resolved=Count("id", filter=Q(outcome=ChatOutcome.SELF_RESOLVED)))
        .values_list("bucket", "ended", "resolved")
    )
    per_bucket = {_as_date(b): (e, r) for b, e, r in rows}
    timeline = []
    for b in buckets(period):
        e, r = per_bucket.get(b, (0, 0))
        timeline.append({"bucket": b, "ended": e, "resolved": r, "rate": r / e if e else None})
    titles = dict(Article.objects.filter(resolved_sessions__in=sessions).values_list("pk", "title").distinct())
    per_article = [
        {
            "id": a,
            "title": titles.get(a, ""),
            "resolved": n,
            "share": n / resolved if resolved else 0,
        }
        for a, n in sessions.filter(outcome=ChatOutcome.SELF_RESOLVED, resolved_by_article__isnull=False)
        .values("resolved_by_article")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("resolved_by_article", "n")[:20]
    ]
    return {
        "ended": ended,
        "resolved": resolved,
        "rate": resolved / ended if ended else None,
        "timeline": timeline,
        "per_article": per_article,
    }


def report(period: Period) -> dict[str, Any]:
    """Everything the analytics page, the API, the Excel export and the command line show."""
    return {
        "period": period,
        "previous": period.previous(),
        "volume": volume(period),
        "growth": growth(period),
        "response": response_times(period),
        "chatbot": self_resolution(period),
    }


# Excel --------------------------------------------------------------------------------------------------


def workbook(data: dict[str, Any]) -> bytes:
    from openpyxl import Workbook

    from banso.core import xlsx

    period: Period = data["period"]
    book = Workbook(write_only=True)
    summary = book.create_sheet(_("Summary"))
    vol, resp, bot = data["volume"], data["response"], data["chatbot"]
    xlsx.facts_sheet(
        summary,
        [
            (_("From"), period.start, xlsx.DATE),
            (_("To"), period.end, xlsx.DATE),
            (_("Inquiries"), vol["total"], xlsx.COUNT),
            (_("First response, median (business minutes)"), resp["overall"]["first"]["median"], xlsx.FLOAT),
            (_("First response, 90th percentile (business minutes)"), resp["overall"]["first"]["p90"], xlsx.FLOAT),
            (_("Resolution, median (business minutes)"), resp["overall"]["resolution"]["median"], xlsx.FLOAT),
            (_("Resolution, 90th percentile (business minutes)"), resp["overall"]["resolution"]["p90"], xlsx.FLOAT),
            (_("Chatbot self-resolution rate"), bot["rate"], xlsx.RATE),
        ],
    )
    xlsx.sheet(
        book,
        _("Over time"),
        [(_("From"), xlsx.DATE, lambda r: r["bucket"]), (_("Inquiries"), xlsx.COUNT, lambda r: r["count"])],
        vol["timeline"],
    )
    share = [(_("Inquiries"), xlsx.COUNT, lambda r: r["count"]), (_("Share"), xlsx.RATE, lambda r: r["share"])]
    xlsx.sheet(book, _("By type"), [(_("Type"), None, lambda r: r["name"]), *share], vol["by_type"])
    xlsx.sheet(book, _("By channel"), [(_("Channel"), None, lambda r: r["name"]), *share], vol["by_channel"])
    xlsx.sheet(book, _("By category"), [(_("Category"), None, lambda r: r["name"]), *share], vol["by_category"])
    xlsx.sheet(
        book,
        _("Growing types"),
        [
            (_("Type"), None, lambda r: r["name"]),
            (_("Inquiries"), xlsx.COUNT, lambda r: r["count"]),
            (_("Previous period"), xlsx.COUNT, lambda r: r["previous"]),
            (_("Change"), xlsx.COUNT, lambda r: r["change"]),
            (_("Growth"), xlsx.RATE, lambda r: r["growth"]),
        ],
        data["growth"],
    )
    timing = [
        (_("Inquiries"), xlsx.COUNT, lambda r: r["inquiries"]),
        (_("First response median"), xlsx.FLOAT, lambda r: r["first"]["median"]),
        (_("First response p90"), xlsx.FLOAT, lambda r: r["first"]["p90"]),
        (_("Resolution median"), xlsx.FLOAT, lambda r: r["resolution"]["median"]),
        (_("Resolution p90"), xlsx.FLOAT, lambda r: r["resolution"]["p90"]),
    ]
    xlsx.sheet(book, _("Response by channel"), [(_("Channel"), None, lambda r: r["name"]), *timing], resp["by_channel"])
    xlsx.sheet(book, _("Response by type"), [(_("Type"), None, lambda r: r["name"]), *timing], resp["by_type"])
    xlsx.sheet(
        book,
        _("Chatbot"),
        [
            (_("From"), xlsx.DATE, lambda r: r["bucket"]),
            (_("Ended sessions"), xlsx.COUNT, lambda r: r["ended"]),
            (_("Resolved by the bot"), xlsx.COUNT, lambda r: r["resolved"]),
            (_("Self-resolution rate"), xlsx.RATE, lambda r: r["rate"]),
        ],
        bot["timeline"],
    )
    return xlsx.to_bytes(book)


def as_json(data: dict[str, Any]) -> dict[str, Any]:
    """The report with dates as ISO strings (the API and the command line)."""

    def plain(value: Any) -> Any:
        if isinstance(value, Period):
            return {"from": value.start.isoformat(), "to": value.end.isoformat(), "grain": value.grain}
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return plain(data)  # type: ignore[no-any-return]
