"""Rolling windows of confirmed incidents: both ends inclusive to the microsecond, the future and unconfirmed
incidents never counted, type and severity filters, windows across Tokyo midnight and month ends. The same
semantics through `in_window` and the set-based `window_counts`."""

import datetime as dt

import pytest

from banso.marketplace.incidents import in_window, window_counts
from banso.marketplace.models import Incident, IncidentType, Severity

from .factories import IncidentFactory, ProviderFactory, tokyo
from .factories_incidents import dismissed, reported

pytestmark = pytest.mark.django_db
NOW = tokyo(2026, 11, 20, 15)
US = dt.timedelta(microseconds=1)


@pytest.fixture
def provider():
    return ProviderFactory()


def counted(provider, now=NOW, days=90, **filters) -> set[int]:
    qs = in_window(now, days, queryset=Incident.objects.filter(provider=provider.account), **filters)
    return set(qs.values_list("pk", flat=True))


def test_incident_exactly_window_days_before_now_counts_one_microsecond_earlier_does_not(provider):
    edge = IncidentFactory(provider=provider.account, occurred_at=NOW - dt.timedelta(days=90))
    before = IncidentFactory(provider=provider.account, occurred_at=NOW - dt.timedelta(days=90) - US)
    assert counted(provider) == {edge.pk}
    assert before.pk not in counted(provider)
    counts = window_counts([provider.pk], NOW, windows=(90,))
    assert counts[provider.pk][90] == {"count": 1, "points": Severity.MEDIUM}


def test_incident_exactly_at_now_counts_and_one_in_the_future_does_not(provider):
    at_now = IncidentFactory(provider=provider.account, occurred_at=NOW)
    IncidentFactory(provider=provider.account, occurred_at=NOW + US)
    assert counted(provider) == {at_now.pk}
    assert window_counts([provider.pk], NOW, windows=(30,))[provider.pk][30]["count"] == 1


def test_reported_and_dismissed_incidents_never_count(provider):
    reported(provider=provider.account, occurred_at=NOW - dt.timedelta(days=1))
    dismissed(provider=provider.account, occurred_at=NOW - dt.timedelta(days=1))
    assert counted(provider) == set()
    assert window_counts([provider.pk], NOW)[provider.pk] == {d: {"count": 0, "points": 0} for d in (30, 90, 365)}


def test_type_and_severity_filters(provider):
    no_show = IncidentFactory(provider=provider.account, occurred_at=NOW - dt.timedelta(days=2))
    late = IncidentFactory(
        provider=provider.account, type=IncidentType.LATE, severity=Severity.LOW, occurred_at=NOW - dt.timedelta(days=2)
    )
    serious = IncidentFactory(
        provider=provider.account,
        type=IncidentType.POOR_WORK,
        severity=Severity.HIGH,
        occurred_at=NOW - dt.timedelta(days=3),
    )
    assert counted(provider, incident_types=[IncidentType.NO_SHOW]) == {no_show.pk}
    assert counted(provider, incident_types=[IncidentType.LATE, IncidentType.POOR_WORK]) == {late.pk, serious.pk}
    assert counted(provider, min_severity=Severity.MEDIUM) == {no_show.pk, serious.pk}
    assert counted(provider, min_severity=Severity.HIGH) == {serious.pk}
    assert window_counts([provider.pk], NOW, windows=(30,))[provider.pk][30] == {"count": 3, "points": 2 + 1 + 3}


def test_window_starts_at_the_same_instant_across_tokyo_midnight(provider):
    # Evaluated at 00:30 Tokyo: a 1-day window reaches back to 00:30 the previous day, not to its midnight.
    now = tokyo(2026, 11, 20, 0, 30)
    inside = IncidentFactory(provider=provider.account, occurred_at=tokyo(2026, 11, 19, 0, 30))
    just_out = IncidentFactory(provider=provider.account, occurred_at=tokyo(2026, 11, 19, 0, 29))
    yesterday_late = IncidentFactory(provider=provider.account, occurred_at=tokyo(2026, 11, 19, 23, 59))
    assert counted(provider, now=now, days=1) == {inside.pk, yesterday_late.pk}
    assert just_out.pk not in counted(provider, now=now, days=1)


def test_window_across_a_month_end(provider):
    # 30 days up to 2026-03-01 12:00 Tokyo reach back to 2026-01-30 12:00 (February has 28 days).
    now = tokyo(2026, 3, 1, 12)
    edge = IncidentFactory(provider=provider.account, occurred_at=tokyo(2026, 1, 30, 12))
    out = IncidentFactory(provider=provider.account, occurred_at=tokyo(2026, 1, 30, 11, 59))
    feb = IncidentFactory(provider=provider.account, occurred_at=tokyo(2026, 2, 28, 23, 59))
    assert counted(provider, now=now, days=30) == {edge.pk, feb.pk}
    assert out.pk not in counted(provider, now=now, days=30)


def test_window_counts_are_per_provider_and_include_providers_without_incidents(provider):
    other = ProviderFactory()
    quiet = ProviderFactory()
    IncidentFactory(provider=provider.account, occurred_at=NOW - dt.timedelta(days=10))
    IncidentFactory(provider=provider.account, occurred_at=NOW - dt.timedelta(days=100), severity=Severity.CRITICAL)
    IncidentFactory(provider=other.account, occurred_at=NOW - dt.timedelta(days=40), severity=Severity.HIGH)
    counts = window_counts([provider.pk, other.pk, quiet.pk], NOW)
    assert counts[provider.pk] == {
        30: {"count": 1, "points": 2},
        90: {"count": 1, "points": 2},
        365: {"count": 2, "points": 7},
    }
    assert counts[other.pk][30]["count"] == 0 and counts[other.pk][90] == {"count": 1, "points": 3}
    assert counts[quiet.pk][365] == {"count": 0, "points": 0}


def test_monthly_history_puts_incidents_in_their_tokyo_month(provider):
    from banso.marketplace.incidents import monthly_history

    # 2026-10-31 23:30 Tokyo is still October in Tokyo (14:30 UTC); 2026-11-01 00:10 Tokyo is November.
    IncidentFactory(provider=provider.account, occurred_at=tokyo(2026, 10, 31, 23, 30))
    IncidentFactory(provider=provider.account, occurred_at=tokyo(2026, 11, 1, 0, 10), severity=Severity.HIGH)
    IncidentFactory(provider=provider.account, occurred_at=tokyo(2025, 11, 30, 12), type=IncidentType.LATE)
    reported(provider=provider.account, occurred_at=tokyo(2026, 11, 2))
    history = monthly_history(provider.account, 12, NOW)
    assert history["months"][0] == "2025-12" and history["months"][-1] == "2026-11"
    assert history["types"] == {"no_show": [0] * 10 + [1, 1]}
    assert history["points"][-2:] == [2, 3]
