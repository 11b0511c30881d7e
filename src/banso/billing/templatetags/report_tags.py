"""Filters of the monthly report pages: a change or a rate as a percentage."""

from django import template

register = template.Library()


@register.filter
def pct(value: float | None) -> str:
    """0.123 → 12.3%; nothing to compare with → —."""
    if value is None:
        return "—"
    return f"{value * 100:.1f}%"


@register.filter
def change(value: float | None) -> str:
    """A month-on-month or year-on-year change with its sign: +12.3% / −4.0% / —."""
    if value is None:
        return "—"
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    return f"{sign}{abs(value) * 100:.1f}%"
