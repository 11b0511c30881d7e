"""Display of the churn analysis' rates and ratios: exact numbers in the tables, no arithmetic in templates."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def pct(rate: float | None, digits: int = 1) -> str:
    """0.1234 → '12.3%'; no value → '—'."""
    return "—" if rate is None else f"{rate * 100:.{digits}f}%"


@register.filter
def ratio(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


@register.filter
def pvalue(value: float | None) -> str:
    if value is None:
        return "—"
    return "<0.0001" if value < 0.0001 else f"{value:.4f}"
