"""The booking concierge: an agent reads what a customer asks for in an inquiry ("12月5日に渋谷区でエアコン
クリーニングを2名で"), finds providers that can serve it (matching.rank_providers) and hands one over: a reply on
the inquiry with the provider's name and booking link, audited.

`guess_request` reads the request from Japanese text: the service category and area among those providers
serve (ProviderService), compared after core.text.normalise (full/half width, case, kana) with the longest
mention winning; the day in the usual Japanese forms (2026年12月5日, 12月5日, 12/5, 5日, 今日, 明日, 明後日,
3日後, 来週土曜, 今週末, 来週末, 土曜日), relative to the day the inquiry was opened in Tokyo, a date without a
year that has already passed meaning next year's; and the number of guests (2名, 2人, 大人2人と子ども1人 → 3).
The earliest mention of a day in the text wins."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.core.choices import AuditAction
from banso.core.models import User
from banso.core.services import record_change
from banso.core.text import normalise

from . import gateway
from .matching import TOKYO, Candidate, booking_link, rank_providers
from .models import Provider, ProviderService

WEEKDAYS = "月火水木金土日"
KANJI_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
MAX_GUESTS = 99
# Prefectures are often left out ("渋谷区" for "東京都渋谷区"): an area also matches by what follows them.
PREFECTURE = re.compile(r"^.{1,3}?[都道府県]")


class ConciergeError(Exception):
    """Refused input; `field` names what was wrong (API: 422 with it, pages: the field's error)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Request:
    category: str = ""
    area: str = ""
    day: dt.date | None = None
    guests: int = 1

    @property
    def complete(self) -> bool:
        """Everything `search` needs was read: the page can search at once instead of asking for the rest."""
        return bool(self.category and self.area and self.day)


# Vocabulary ----------------------------------------------------------------------------------------------------


def known_terms() -> tuple[list[str], list[str]]:
    """The service categories and areas providers serve (one query)."""
    pairs = set(ProviderService.objects.order_by().values_list("category", "area").distinct())
    return sorted({c for c, _a in pairs}), sorted({a for _c, a in pairs})


def _longest_mention(text: str, terms: Iterable[str], *, strip_prefecture: bool = False) -> str:
    """The term mentioned in `text` by the longest match (then the earliest, then the term's own order)."""
    haystack = normalise(text)
    best: tuple[int, int, str] | None = None
    for term in terms:
        keys = {normalise(term)}
        if strip_prefecture:
            keys.add(normalise(PREFECTURE.sub("", term)))
        for key in keys:
            if not key:
                continue
            at = haystack.find(key)
            if at < 0:
                continue
            rank = (-len(key), at, term)
            if best is None or rank < best:
                best = rank
    return best[2] if best else ""


# Days ----------------------------------------------------------------------------------------------------------


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _valid(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _month_day(base: dt.date, month: int, day: int) -> dt.date | None:
    """A date without a year: this year's, or next year's when this year's has passed."""
    found = _valid(base.year, month, day)
    if found is not None and found < base:
        found = _valid(base.year + 1, month, day)
    return found


def _weekday_in_week(base: dt.date, weeks_ahead: int, weekday: int) -> dt.date:
    return _monday(base) + dt.timedelta(weeks=weeks_ahead, days=weekday)


DayReader = Callable[[dt.date, re.Match[str]], dt.date | None]
_DAY_PATTERNS: list[tuple[re.Pattern[str], DayReader]] = []


def _day_pattern(regex: str) -> Callable[[DayReader], DayReader]:
    def decorate(fn: DayReader) -> DayReader:
        _DAY_PATTERNS.append((re.compile(regex), fn))
        return fn

    return decorate


@_day_pattern(r"(\d{4})\s*[年/\-.]\s*(\d{1,2})\s*[月/\-.]\s*(\d{1,2})\s*日?")
def _full_date(base: dt.date, m: re.Match[str]) -> dt.date | None:
    return _valid(int(m[1]), int(m[2]), int(m[3]))


@_day_pattern(r"(?<![\d/])(\d{1,2})\s*月\s*(\d{1,2})\s*日")
def _kanji_month_day(base: dt.date, m: re.Match[str]) -> dt.date | None:
    return _month_day(base, int(m[1]), int(m[2]))


@_day_pattern(r"(?<![\d/.\-])(\d{1,2})/(\d{1,2})(?![\d/])")
def _slash_month_day(base: dt.date, m: re.Match[str]) -> dt.date | None:
    return _month_day(base, int(m[1]), int(m[2]))


@_day_pattern(r"(今日|本日)")
def _today(base: dt.date, m: re.Match[str]) -> dt.date | None:
    return base


@_day_pattern(r"(明後日|あさって)")
def _day_after_tomorrow(base: dt.date, m: re.Match[str]) -> dt.date | None:
    return base + dt.timedelta(days=2)


@_day_pattern(r"(?<!明)(明日|あした)")
def _tomorrow(base: dt.date, m: re.Match[str]) -> dt.date | None:
    return base + dt.timedelta(days=1)


@_day_pattern(r"(\d{1,3})\s*日後")
def _days_later(base: dt.date, m: re.Match[str]) -> dt.date | None:
    return base + dt.timedelta(days=int(m[1]))


@_day_pattern(r"(今週|来週|再来週)の?\s*([月火水木金土日])曜")
def _weekday_of_week(base: dt.date, m: re.Match[str]) -> dt.date | None:
    weeks = {"今週": 0, "来週": 1, "再来週": 2}[m[1]]
    return _weekday_in_week(base, weeks, WEEKDAYS.index(m[2]))


@_day_pattern(r"(今週末|来週末|再来週末|週末)")
def _weekend(base: dt.date, m: re.Match[str]) -> dt.date | None:
    """The weekend's Saturday; said on a Sunday, this weekend is today."""
    weeks = {"今週末": 0, "週末": 0, "来週末": 1, "再来週末": 2}[m[1]]
    if weeks == 0 and base.weekday() == 6:
        return base
    return _weekday_in_week(base, weeks, 5)


@_day_pattern(r"(?<![週今来])(?<!再来週)([月火水木金土日])曜日")
def _next_weekday(base: dt.date, m: re.Match[str]) -> dt.date | None:
    """A bare weekday: its next occurrence, today included."""
    return base + dt.timedelta(days=(WEEKDAYS.index(m[1]) - base.weekday()) % 7)


@_day_pattern(r"(?<![\d月/])(\d{1,2})\s*日(?![後間])")
def _day_of_month(base: dt.date, m: re.Match[str]) -> dt.date | None:
    """ "5日に": this month's 5th, or next month's when it has passed."""
    day = int(m[1])
    found = _valid(base.year, base.month, day)
    if found is not None and found >= base:
        return found
    nxt = (base.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return _valid(nxt.year, nxt.month, day)


def guess_day(text: str, base: dt.date) -> dt.date | None:
    """The first day mentioned in `text`, relative to `base` (see the module docstring)."""
    plain = unicodedata.normalize("NFKC", text)
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, dt.date]] = []
    for pattern, read in _DAY_PATTERNS:  # most specific first: a span read once is not read again
        for m in pattern.finditer(plain):
            if any(m.start() < end and start < m.end() for start, end in taken):
                continue
            day = read(base, m)
            if day is not None:
                taken.append((m.start(), m.end()))
                found.append((m.start(), day))
    return min(found)[1] if found else None


# Guests --------------------------------------------------------------------------------------------------------

_NUMBER = r"(\d{1,2}|[一二三四五六七八九十])"
_PEOPLE = re.compile(r"(大人|おとな|子ども|子供|こども|小人|幼児)?\s*" + _NUMBER + r"\s*(名|人|様)")


def _number(text: str) -> int:
    return KANJI_DIGITS[text] if text in KANJI_DIGITS else int(text)


def guess_guests(text: str) -> int:
    """Guests named in `text`: the sum of 大人N人 / 子どもN人 when given, else the first N名 / N人; 1 when none."""
    plain = unicodedata.normalize("NFKC", text)
    labelled, plain_counts = 0, []
    for m in _PEOPLE.finditer(plain):
        if m[1]:
            labelled += _number(m[2])
        else:
            plain_counts.append(_number(m[2]))
    guests = labelled or (plain_counts[0] if plain_counts else 1)
    return min(max(guests, 1), MAX_GUESTS)


def guess_request(
    text: str,
    *,
    today: dt.date | None = None,
    categories: Iterable[str] | None = None,
    areas: Iterable[str] | None = None,
) -> Request:
    """What the customer asks for (see the module docstring). `today` is the day the text was written (Tokyo);
    `categories`/`areas` default to those providers serve."""
    if categories is None or areas is None:
        known_categories, known_areas = known_terms()
        categories = known_categories if categories is None else categories
        areas = known_areas if areas is None else areas
    base = today or timezone.localdate(timezone.now(), TOKYO)
    return Request(
        category=_longest_mention(text, categories),
        area=_longest_mention(text, areas, strip_prefecture=True),
        day=guess_day(text, base),
        guests=guess_guests(text),
    )


def request_for_inquiry(
    ref: gateway.InquiryRef, *, categories: Iterable[str] | None = None, areas: Iterable[str] | None = None
) -> Request:
    """The request read from an inquiry's subject and customer messages, dated from when it was opened."""
    return guess_request(
        f"{ref.subject}\n{ref.text}",
        today=timezone.localtime(ref.opened_at, TOKYO).date(),
        categories=categories,
        areas=areas,
    )


# Search and handover -------------------------------------------------------------------------------------------


def search(category: str, area: str, day: dt.date | None, guests: int = 1, *, limit: int = 10) -> list[Candidate]:
    """Providers for the request, best first. Each booking needs one slot whatever the number of guests."""
    if not category.strip():
        raise ConciergeError("category", _("Choose a service category."))
    if not area.strip():
        raise ConciergeError("area", _("Choose an area."))
    if day is None:
        raise ConciergeError("date", _("Choose a date."))
    if not 1 <= guests <= MAX_GUESTS:
        raise ConciergeError("guests", _("Write a number of guests from 1 to %(max)s.") % {"max": MAX_GUESTS})
    return rank_providers(category.strip(), area.strip(), day, limit=limit)


@dataclass(frozen=True)
class Handover:
    inquiry: gateway.InquiryRef
    provider: Provider
    link: str
    body: str


def handover_message(provider: Provider, link: str, day: dt.date | None) -> str:
    name = provider.account.name
    if day is not None:
        return _(
            "Thank you for your inquiry. %(name)s can take your booking on %(day)s. Please book here: %(link)s"
        ) % {"name": name, "day": f"{day.month}/{day.day}", "link": link}
    return _("Thank you for your inquiry. %(name)s can take your booking. Please book here: %(link)s") % {
        "name": name,
        "link": link,
    }


def hand_over(
    number: int,
    provider_id: int,
    agent: User,
    *,
    category: str = "",
    day: dt.date | None = None,
    via: str = "ui",
) -> Handover:
    """Reply on inquiry `number` (as `agent`) with the provider's name and booking link, and audit it. When the
    category or day is not given they are read from the inquiry (guess_request)."""
    desk = gateway.inquiries()
    if desk is None:
        raise ConciergeError("inquiry", _("The support desk is not available: copy the booking link instead."))
    ref = desk.get(number)
    if ref is None:
        raise ConciergeError("inquiry", _("There is no inquiry #%(number)s.") % {"number": number})
    provider = Provider.objects.select_related("account").filter(pk=provider_id).first()
    if provider is None:
        raise ConciergeError("provider", _("There is no provider with id %(id)s.") % {"id": provider_id})
    if not provider.takes_bookings:
        raise ConciergeError("provider", _("%(name)s does not take bookings now.") % {"name": provider.account.name})
    if not category or day is None:
        guessed = request_for_inquiry(ref)
        category = category or guessed.category
        day = day or guessed.day
    link = booking_link(provider, category, day)
    if not link:
        raise ConciergeError("provider", _("%(name)s has no booking link.") % {"name": provider.account.name})
    body = handover_message(provider, link, day)
    with transaction.atomic():
        try:
            desk.post_reply(number, agent, body)
        except ValueError as error:
            raise ConciergeError("inquiry", str(error)) from None
        record_change(
            actor=agent,
            obj=provider,
            action=AuditAction.CREATE,
            before=None,
            after={
                "concierge_handover": {
                    "inquiry": number,
                    "category": category,
                    "day": day.isoformat() if day else None,
                    "link": link,
                }
            },
            account_id=provider.account_id,
            via=via,
        )
    return Handover(ref, provider, link, body)
