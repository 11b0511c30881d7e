"""Two evaluations racing over the same incidents (PostgreSQL, two connections) create one firing."""

import threading

import pytest
from django.db import connection, connections

from banso.marketplace import rules
from banso.marketplace.models import Firing, FiringIncident

from .factories import RuleFactory
from .factories_rules import NOW, provider_with_incidents

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL"),
]


def test_two_racing_evaluations_create_one_firing(monkeypatch):
    RuleFactory(threshold=2, requires_approval=True)
    provider = provider_with_incidents(3)
    both_counted = threading.Barrier(2)
    plans = rules._plans

    def plans_after_both_counted(hits, now):
        both_counted.wait(timeout=60)  # each has found the provider before either saves
        return plans(hits, now)

    monkeypatch.setattr(rules, "_plans", plans_after_both_counted)
    results: list[rules.EvaluationResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(rules.evaluate(NOW))
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert sorted(len(r.firings) for r in results) == [0, 1]
    assert sorted(r.already_fired for r in results) == [0, 1]
    assert Firing.objects.filter(provider_id=provider.pk).count() == 1
    assert FiringIncident.objects.count() == 3
