"""Rule evaluation: scores in the window, thresholds (counted and weighted), and a rule never firing twice for the
same incidents, even when two evaluations race."""

import datetime as dt

import pytest

from banso.marketplace import rules
from banso.marketplace.models import Firing, FiringIncident, IncidentStatus, IncidentType, Severity

from .factories import IncidentFactory, ProviderFactory, RuleFactory
from .factories_rules import NOW, provider_with_incidents

pytestmark = pytest.mark.django_db


def _fired(result):
    return sorted(f.provider_id for f in result.firings)


def test_provider_reaching_the_threshold_fires_once_with_its_incidents():
    rule = RuleFactory(threshold=2)
    hit = provider_with_incidents(2)
    provider_with_incidents(1)  # below the threshold
    result = rules.evaluate(NOW)
    assert _fired(result) == [hit.pk]
    firing = Firing.objects.get()
    assert firing.rule == rule and firing.score == 2 and firing.status == "executed"  # no approval needed
    assert set(FiringIncident.objects.values_list("incident__provider_id", flat=True)) == {hit.pk}
    assert FiringIncident.objects.count() == 2


def test_evaluating_again_does_not_fire_twice_for_the_same_incidents():
    RuleFactory(threshold=2, requires_approval=True)
    provider = provider_with_incidents(2)
    assert len(rules.evaluate(NOW).firings) == 1
    assert rules.evaluate(NOW).firings == []
    assert rules.evaluate(NOW + dt.timedelta(days=1)).firings == []
    # One more incident is below the threshold on its own: still nothing.
    IncidentFactory(provider=provider.account, occurred_at=NOW - dt.timedelta(days=1))
    assert rules.evaluate(NOW).firings == []
    # A second new one reaches it again: a new firing, with only the new incidents.
    IncidentFactory(provider=provider.account, occurred_at=NOW - dt.timedelta(hours=1))
    second = rules.evaluate(NOW).firings
    assert len(second) == 1 and second[0].score == 2
    assert Firing.objects.count() == 2
    assert FiringIncident.objects.count() == 4
    assert len(second[0].plan["incidents"]) == 2


def test_a_rejected_firing_keeps_its_incidents_consumed():
    RuleFactory(threshold=2, requires_approval=True)
    provider_with_incidents(2)
    firing = rules.evaluate(NOW).firings[0]
    from tests.core.factories import UserFactory

    rules.reject(firing, UserFactory(role="ops_manager"), "証拠が不十分")
    firing.refresh_from_db()
    assert firing.status == "rejected" and firing.decision_note == "証拠が不十分"
    assert rules.evaluate(NOW).firings == []


def test_reject_needs_a_note_and_a_decided_firing_cannot_be_decided_again():
    RuleFactory(threshold=2, requires_approval=True)
    provider_with_incidents(2)
    firing = rules.evaluate(NOW).firings[0]
    from tests.core.factories import UserFactory

    user = UserFactory(role="ops_manager")
    with pytest.raises(rules.RuleError) as refused:
        rules.reject(firing, user, "  ")
    assert refused.value.field == "note"
    rules.approve(firing, user)
    with pytest.raises(rules.RuleError) as again:
        rules.reject(firing, user, "遅すぎ")
    assert again.value.field == "status"
    with pytest.raises(rules.RuleError):
        rules.approve(firing, user)


def test_weighted_rule_sums_severity():
    RuleFactory(threshold=5, weighted=True, incident_types=[])
    two_serious = provider_with_incidents(2, severity=Severity.HIGH)  # 6
    three_minor = provider_with_incidents(3, severity=Severity.LOW)  # 3
    one_critical = provider_with_incidents(1, severity=Severity.CRITICAL)  # 5: exactly the threshold
    result = rules.evaluate(NOW, dry_run=True)
    assert _fired(result) == sorted([two_serious.pk, one_critical.pk])
    assert {f.provider_id: f.score for f in result.firings} == {two_serious.pk: 6, one_critical.pk: 5}
    assert three_minor.pk not in _fired(result)


def test_types_and_minimum_severity_filter_what_counts():
    RuleFactory(threshold=2, incident_types=[IncidentType.NO_SHOW], min_severity=Severity.MEDIUM)
    p = ProviderFactory()
    IncidentFactory(provider=p.account, type=IncidentType.NO_SHOW, severity=Severity.MEDIUM, occurred_at=NOW)
    IncidentFactory(provider=p.account, type=IncidentType.LATE, severity=Severity.HIGH, occurred_at=NOW)
    IncidentFactory(provider=p.account, type=IncidentType.NO_SHOW, severity=Severity.LOW, occurred_at=NOW)
    IncidentFactory(
        provider=p.account,
        type=IncidentType.NO_SHOW,
        status=IncidentStatus.REPORTED,
        confirmed_at=None,
        occurred_at=NOW,
    )
    assert rules.evaluate(NOW, dry_run=True).firings == []
    IncidentFactory(provider=p.account, type=IncidentType.NO_SHOW, severity=Severity.HIGH, occurred_at=NOW)
    assert _fired(rules.evaluate(NOW, dry_run=True)) == [p.pk]


def test_window_boundaries_are_inclusive_at_both_ends():
    RuleFactory(threshold=2, window_days=90)
    p = ProviderFactory()
    IncidentFactory(provider=p.account, occurred_at=NOW - dt.timedelta(days=90))  # oldest instant still in
    IncidentFactory(provider=p.account, occurred_at=NOW)  # now itself counts
    assert _fired(rules.evaluate(NOW, dry_run=True)) == [p.pk]
    # A microsecond later the oldest one has left the window.
    assert rules.evaluate(NOW + dt.timedelta(microseconds=1), dry_run=True).firings == []
    # And an incident a microsecond in the future does not count yet.
    q = ProviderFactory()
    IncidentFactory(provider=q.account, occurred_at=NOW - dt.timedelta(days=1))
    IncidentFactory(provider=q.account, occurred_at=NOW + dt.timedelta(microseconds=1))
    assert q.pk not in _fired(rules.evaluate(NOW, dry_run=True))


def test_inactive_rules_and_other_providers_are_left_out():
    RuleFactory(threshold=2, is_active=False)
    provider_with_incidents(2)
    assert rules.evaluate(NOW).firings == []
    RuleFactory(threshold=2)
    a, b = provider_with_incidents(2), provider_with_incidents(2)
    assert _fired(rules.evaluate(NOW, provider_ids=[b.pk], dry_run=True)) == [b.pk]
    assert a.pk in _fired(rules.evaluate(NOW, dry_run=True))


def test_dry_run_saves_nothing():
    RuleFactory(threshold=2, notify_customers=True)
    provider_with_incidents(2)
    preview = rules.evaluate(NOW, dry_run=True)
    assert len(preview.firings) == 1 and preview.firings[0].pk is None
    assert not Firing.objects.exists() and not FiringIncident.objects.exists()


def test_evaluation_cost_does_not_grow_with_the_number_of_providers(django_assert_max_num_queries):
    RuleFactory(threshold=2, requires_approval=True, notify_customers=True, offer_alternatives=True)
    for _ in range(3):
        provider_with_incidents(2)
    with django_assert_max_num_queries(40) as few:
        rules.evaluate(NOW)
    baseline = len(few.captured_queries)
    for _ in range(12):
        provider_with_incidents(2)
    with django_assert_max_num_queries(baseline) as many:
        assert len(rules.evaluate(NOW).firings) == 12
    assert len(many.captured_queries) <= baseline


def test_two_evaluations_of_the_same_incidents_create_one_firing():
    """Both evaluations counted before either saved (the race): the unique (rule, incident) turns the second
    save into "already fired"."""
    rule = RuleFactory(threshold=2, requires_approval=True)
    provider_with_incidents(2)
    other = provider_with_incidents(2)
    first_hits = rules._hits(rule, NOW, None)
    second_hits = rules._hits(rule, NOW, None)
    assert len(first_hits) == len(second_hits) == 2
    plans = rules._plans(first_hits, NOW)
    saved, already = rules._save(first_hits, plans, NOW, None)
    assert len(saved) == 2 and already == 0
    saved_again, already_again = rules._save(second_hits, rules._plans(second_hits, NOW), NOW, None)
    assert saved_again == [] and already_again == 2
    assert Firing.objects.count() == 2
    assert Firing.objects.filter(provider_id=other.pk).count() == 1
