"""Template filters shared by every app's pages: yen amounts and the query string of a list page."""

from typing import Any

from django import template
from django.http import QueryDict

from banso.core.money import format_yen

register = template.Library()


@register.filter
def yen(amount: int | None) -> str:
    """`{{ account.mrr|yen }}` → ¥1,234 (empty for no amount)."""
    return format_yen(amount)


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
