"""The built-in metrics: what the seeds' teams watch (usage, inquiries, surveys, bookings, applications).

Keys are stable: scorecards, segments and playbooks refer to them. Custom metrics (`MetricDefinition`)
join these under their own keys, which may not collide with a built-in one.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .specs import MetricSpec, Window


@dataclass(frozen=True)
class CatalogueMetric:
    key: str
    label: str | Promise
    category: str | Promise
    spec: MetricSpec
    builtin: bool = True
    description: str = ""


USAGE, SUPPORT, VOICE, COMMERCE, RECRUITING, MEMBERS = (
    _("Usage"),
    _("Support"),
    _("Customer voice"),
    _("Bookings and sales"),
    _("Recruiting"),
    _("End users"),
)
USAGE_KINDS = ["login", "search", "report_export", "page_view"]
D30, D90 = Window(days=30), Window(days=90)


def _m(key: str, label: str | Promise, category: str | Promise, **spec: object) -> CatalogueMetric:
    return CatalogueMetric(key, label, category, MetricSpec.model_validate(spec))


BUILTIN: tuple[CatalogueMetric, ...] = (
    _m("logins_30d", _("Logins, last 30 days"), USAGE, aggregate="count", kinds=["login"], window=D30),
    _m("logins_90d", _("Logins, last 90 days"), USAGE, aggregate="count", kinds=["login"], window=D90),
    _m(
        "login_trend_30d",
        _("Login trend: last 30 days vs the 30 before (%)"),
        USAGE,
        aggregate="trend",
        kinds=["login"],
        window=D30,
    ),
    _m("days_since_login", _("Days since last login"), USAGE, aggregate="days_since", kinds=["login"]),
    _m("usage_30d", _("Usage events, last 30 days"), USAGE, aggregate="count", kinds=USAGE_KINDS, window=D30),
    _m("usage_volume_30d", _("Usage volume, last 30 days"), USAGE, aggregate="sum", kinds=USAGE_KINDS, window=D30),
    _m(
        "usage_trend_30d",
        _("Usage trend: last 30 days vs the 30 before (%)"),
        USAGE,
        aggregate="trend",
        kinds=USAGE_KINDS,
        window=D30,
    ),
    _m("days_since_usage", _("Days since last use"), USAGE, aggregate="days_since", kinds=USAGE_KINDS),
    _m("searches_30d", _("Searches, last 30 days"), USAGE, aggregate="count", kinds=["search"], window=D30),
    _m(
        "report_exports_30d",
        _("Report exports, last 30 days"),
        USAGE,
        aggregate="count",
        kinds=["report_export"],
        window=D30,
    ),
    _m(
        "active_users_30d",
        _("Active users, last 30 days"),
        USAGE,
        aggregate="distinct_end_users",
        kinds=USAGE_KINDS,
        window=D30,
    ),
    _m(
        "inquiries_30d",
        _("Inquiries, last 30 days"),
        SUPPORT,
        aggregate="count",
        kinds=["inquiry_opened", "inquiry"],
        window=D30,
    ),
    _m(
        "inquiries_90d",
        _("Inquiries, last 90 days"),
        SUPPORT,
        aggregate="count",
        kinds=["inquiry_opened", "inquiry"],
        window=D90,
    ),
    _m(
        "days_since_inquiry",
        _("Days since last inquiry"),
        SUPPORT,
        aggregate="days_since",
        kinds=["inquiry_opened", "inquiry"],
    ),
    _m(
        "survey_answers_365d",
        _("Survey answers, last 365 days"),
        VOICE,
        aggregate="count",
        kinds=["survey_nps", "survey_answer"],
        window=Window(days=365),
    ),
    _m("bookings_30d", _("Bookings, last 30 days"), COMMERCE, aggregate="count", kinds=["booking"], window=D30),
    _m(
        "booking_sales_30d",
        _("Booking sales, last 30 days (yen)"),
        COMMERCE,
        aggregate="sum",
        kinds=["booking"],
        window=D30,
    ),
    _m(
        "booking_trend_30d",
        _("Booking trend: last 30 days vs the 30 before (%)"),
        COMMERCE,
        aggregate="trend",
        kinds=["booking"],
        window=D30,
    ),
    _m(
        "visitors_30d",
        _("Visitors, last 30 days"),
        COMMERCE,
        aggregate="distinct_end_users",
        kinds=["visit"],
        window=D30,
    ),
    _m(
        "bookings_30d_last_year",
        _("Bookings, same 30 days a year earlier"),
        COMMERCE,
        aggregate="count",
        kinds=["booking"],
        window=Window(days=30, offset=365),
    ),
    _m("clicks_30d", _("Clicks, last 30 days"), COMMERCE, aggregate="count", kinds=["click"], window=D30),
    _m(
        "conversions_30d", _("Conversions, last 30 days"), COMMERCE, aggregate="count", kinds=["conversion"], window=D30
    ),
    _m("days_since_touch", _("Days since last touch"), VOICE, aggregate="days_since", kinds=["touch"]),
    _m(
        "interviews_30d",
        _("Interviews held, last 30 days"),
        RECRUITING,
        aggregate="count",
        kinds=["interview"],
        window=D30,
    ),
    _m("offers_30d", _("Offers, last 30 days"), RECRUITING, aggregate="count", kinds=["offer"], window=D30),
    _m(
        "days_since_client_report",
        _("Days since latest report to the client"),
        RECRUITING,
        aggregate="days_since",
        kinds=["client_report"],
    ),
    _m(
        "applications_30d",
        _("Applications, last 30 days"),
        RECRUITING,
        aggregate="count",
        kinds=["application"],
        window=D30,
    ),
    _m(
        "days_since_application",
        _("Days since latest application"),
        RECRUITING,
        aggregate="days_since",
        kinds=["application"],
    ),
    _m(
        "eu_visits_7d",
        _("Visits, last 7 days"),
        MEMBERS,
        subject="end_user",
        aggregate="count",
        kinds=["visit"],
        window=Window(days=7),
    ),
    _m(
        "eu_purchases_30d",
        _("Purchases, last 30 days"),
        MEMBERS,
        subject="end_user",
        aggregate="count",
        kinds=["purchase", "booking"],
        window=D30,
    ),
    _m(
        "eu_days_since_visit",
        _("Days since last visit"),
        MEMBERS,
        subject="end_user",
        aggregate="days_since",
        kinds=["visit"],
    ),
    _m(
        "eu_merchants_visited_30d",
        _("Merchants visited, last 30 days"),
        MEMBERS,
        subject="end_user",
        aggregate="distinct_accounts",
        kinds=["visit"],
        window=D30,
    ),
)
BUILTIN_KEYS = frozenset(metric.key for metric in BUILTIN)
