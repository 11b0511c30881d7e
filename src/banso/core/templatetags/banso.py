"""Template filters shared by every app's pages: yen amounts, durations and the query string of a list page."""

import datetime as dt
from typing import Any

from django import template
from django.http import QueryDict
from django.utils.translation import ngettext

from banso.core.money import format_yen

register = template.Library()


@register.filter
def yen(amount: int | None) -> str:
    """`{{ account.mrr|yen }}` → ¥1,234 (empty for no amount)."""
    return format_yen(amount)


@register.filter
def duration(value: dt.timedelta | None) -> str:
    """`{{ gap|duration }}` → 「1日 3時間」 / "1 day 3 hours" (days, hours and minutes that are not zero;
    a timedelta's own text would be "1 day, 3:00:00")."""
    if value is None:
        return ""
    minutes = int(abs(value).total_seconds()) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [
        text % {"n": n}
        for n, text in (
            (days, ngettext("%(n)d day", "%(n)d days", days)),
            (hours, ngettext("%(n)d hour", "%(n)d hours", hours)),
            (mins, ngettext("%(n)d minute", "%(n)d minutes", mins)),
        )
        if n
    ]
    return ("-" if value < dt.timedelta(0) else "") + (
        " ".join(parts) or ngettext("%(n)d minute", "%(n)d minutes", 0) % {"n": 0}
    )


@register.simple_tag(takes_context=True)
def query_with(context: dict[str, Any], **changes: Any) -> str:
    """The current query string with some parameters replaced (or removed when given None/""):
    `?{% query_with page=2 %}` keeps the filters while paging or sorting."""
    params: QueryDict = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    return params.urlencode()
