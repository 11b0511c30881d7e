"""What raises an account's churn risk, in words: one sentence per model feature and its value.

Predictions store drivers as data ([feature, value, contribution]); the words are made when shown, so
they follow the reader's language and a better wording applies to past predictions too."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banso.core.money import format_yen

# Feature -> its name on the model page (feature importance).
FEATURE_LABELS: dict[str, str | Promise] = {
    "usage_30d": gettext_lazy("Usage, last 30 days"),
    "usage_trend_30d": gettext_lazy("Usage trend, 30 days vs the 30 before"),
    "usage_trend_60d": gettext_lazy("Usage trend, 60 days vs the 60 before"),
    "logins_30d": gettext_lazy("Logins, last 30 days"),
    "days_since_login": gettext_lazy("Days since last login"),
    "active_users_30d": gettext_lazy("Active users, last 30 days"),
    "inquiries_30d": gettext_lazy("Inquiries, last 30 days"),
    "inquiries_90d": gettext_lazy("Inquiries, last 90 days"),
    "open_inquiries_90d": gettext_lazy("Unresolved inquiries, last 90 days"),
    "nps_latest": gettext_lazy("Latest NPS score"),
    "nps_average": gettext_lazy("Average NPS score, 180 days"),
    "mrr": gettext_lazy("MRR"),
    "tenure_days": gettext_lazy("Days since the first contract"),
    "days_to_renewal": gettext_lazy("Days to renewal"),
    "auto_renew": gettext_lazy("Auto-renewal"),
    "tier": gettext_lazy("Touch tier"),
    "champion_left": gettext_lazy("Key contact left (270 days)"),
    "champion_left_no_successor": gettext_lazy("Key contact left without a successor"),
    "days_since_champion_left": gettext_lazy("Days since the key contact left"),
}

# Groups of features that stand for one cause the CS team acts on.
CAUSES: dict[str, tuple[str, ...]] = {
    "usage": ("usage_30d", "usage_trend_30d", "usage_trend_60d", "logins_30d", "days_since_login", "active_users_30d"),
    "inquiries": ("inquiries_30d", "inquiries_90d", "open_inquiries_90d"),
    "nps": ("nps_latest", "nps_average"),
    "champion": ("champion_left", "champion_left_no_successor", "days_since_champion_left"),
    "contract": ("mrr", "tenure_days", "days_to_renewal", "auto_renew", "tier"),
}


def feature_label(feature: str) -> str:
    return str(FEATURE_LABELS.get(feature, feature))


def _n(value: float) -> str:
    return f"{round(value):,}"


def _trend(value: float | None, days: int) -> str:
    if value is None:
        return _("No usage in the %(days)s days before to compare with") % {"days": days}
    if value < 0:
        if days == 30:
            return _("Usage down %(pct)s%% on the previous month") % {"pct": _n(-value)}
        return _("Usage down %(pct)s%% over %(days)s days on the %(days)s before") % {"pct": _n(-value), "days": days}
    return _("Usage up only %(pct)s%% over %(days)s days") % {"pct": _n(value), "days": days}


def _score(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _tier(value: float | None) -> str:
    from banso.accounts.choices import TouchTier

    names = {0: TouchTier.TECH.label, 1: TouchTier.LOW.label, 2: TouchTier.HIGH.label}
    return _("Touch tier: %(tier)s") % {"tier": names.get(int(value or 0), "")}


_TEXTS: dict[str, Callable[[float | None], str]] = {
    "usage_30d": lambda v: _("Only %(n)s uses in the last 30 days") % {"n": _n(v or 0)},
    "usage_trend_30d": lambda v: _trend(v, 30),
    "usage_trend_60d": lambda v: _trend(v, 60),
    "logins_30d": lambda v: _("Only %(n)s logins in the last 30 days") % {"n": _n(v or 0)},
    "days_since_login": lambda v: (
        _("No login for over 180 days") if v is None else _("%(n)s days since the last login") % {"n": _n(v)}
    ),
    "active_users_30d": lambda v: _("%(n)s active users in the last 30 days") % {"n": _n(v or 0)},
    "inquiries_30d": lambda v: _("%(n)s inquiries in the last 30 days") % {"n": _n(v or 0)},
    "inquiries_90d": lambda v: _("%(n)s inquiries in the last 90 days") % {"n": _n(v or 0)},
    "open_inquiries_90d": lambda v: _("%(n)s unresolved inquiries") % {"n": _n(v or 0)},
    "nps_latest": lambda v: _("No recent NPS answer") if v is None else _("NPS score of %(n)s") % {"n": _score(v)},
    "nps_average": lambda v: (
        _("No NPS answer in 180 days") if v is None else _("Average NPS of %(n)s over 180 days") % {"n": f"{v:.1f}"}
    ),
    "mrr": lambda v: _("MRR of %(yen)s") % {"yen": format_yen(int(v or 0))},
    "tenure_days": lambda v: _("%(n)s months since the first contract") % {"n": _n((v or 0) / 30.4)},
    "days_to_renewal": lambda v: _("No renewal date") if v is None else _("%(n)s days to renewal") % {"n": _n(v)},
    "auto_renew": lambda v: _("Renews automatically") if v else _("Does not renew automatically"),
    "tier": _tier,
    "champion_left": lambda v: _("The key contact left") if v else _("The key contact is still there"),
    "champion_left_no_successor": lambda v: (
        _("The key contact left and no successor is set") if v else _("The key contact left; a successor took over")
    ),
    "days_since_champion_left": lambda v: (
        _("No key contact left recently") if v is None else _("The key contact left %(n)s days ago") % {"n": _n(v)}
    ),
}


def driver_text(feature: str, value: float | None) -> str:
    """One plain sentence for a feature and its value («利用が前月比40%減», «未解決の問い合わせが5件»)."""
    text = _TEXTS.get(feature)
    return text(value) if text else f"{feature_label(feature)}: {value}"


def driver_texts(drivers: Sequence[Sequence[Any]]) -> list[str]:
    """The stored drivers of a prediction, in words, largest first."""
    return [driver_text(str(d[0]), d[1]) for d in drivers]


def cause_of(feature: str) -> str:
    return next((cause for cause, features in CAUSES.items() if feature in features), "other")
