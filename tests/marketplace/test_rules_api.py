"""The rules API: rule CRUD with 422 naming the field, the preview, firings (list, approve, reject) and runs."""

import datetime as dt

import pytest
from django.utils import timezone

from banso.core.choices import Role
from banso.marketplace import rules
from banso.marketplace.models import EvaluationRun, Firing, FiringStatus, Rule

from .factories import IncidentFactory, ProviderFactory, RuleFactory

pytestmark = pytest.mark.django_db
BASE = "/api/marketplace/rules"


def _recent_provider(n=2):
    p = ProviderFactory()
    for i in range(n):
        IncidentFactory(provider=p.account, occurred_at=timezone.now() - dt.timedelta(days=2 + i))
    return p


def test_rule_crud_and_refusals_name_the_field(api_as):
    api = api_as(Role.OPS_MANAGER)
    created = api.post(BASE, {"name": "2回/90日", "incident_types": ["no_show"]}, content_type="application/json")
    assert created.status_code == 201
    rule_id = created.json()["id"]
    bad_type = api.post(BASE, {"name": "x", "incident_types": ["nope"]}, content_type="application/json")
    assert bad_type.status_code == 422 and bad_type.json()["detail"][0]["field"] == "incident_types"
    zero = api.put(f"{BASE}/{rule_id}", {"name": "x", "threshold": 0}, content_type="application/json")
    assert zero.status_code == 422 and "threshold" in [e["field"] for e in zero.json()["detail"]]
    updated = api.put(f"{BASE}/{rule_id}", {"name": "3回", "threshold": 3}, content_type="application/json")
    assert updated.status_code == 200 and Rule.objects.get(pk=rule_id).threshold == 3
    assert [r["id"] for r in api.get(BASE).json()] == [rule_id]
    assert api.delete(f"{BASE}/{rule_id}").status_code == 204
    assert not Rule.objects.exists()


def test_agents_read_but_cannot_change_rules(api_as):
    rule = RuleFactory()
    agent = api_as(Role.SUPPORT_AGENT)
    assert agent.get(f"{BASE}/{rule.pk}").status_code == 200
    assert agent.put(f"{BASE}/{rule.pk}", {"name": "x"}, content_type="application/json").status_code == 403


def test_preview_and_firing_decisions(api_as):
    rule = RuleFactory(threshold=2, requires_approval=True)
    p, q = _recent_provider(), _recent_provider()
    api = api_as(Role.OPS_MANAGER)
    preview = api.post(f"{BASE}/{rule.pk}/preview")
    assert sorted(row["provider_id"] for row in preview.json()) == sorted([p.pk, q.pk])
    assert not Firing.objects.exists()
    rules.evaluate()
    listed = api.get(f"{BASE}/firings", {"status": "proposed"}).json()
    assert len(listed) == 2 and all(f["plan"]["provider"]["id"] in (p.pk, q.pk) for f in listed)
    assert api.get(f"{BASE}/firings", {"status": "bogus"}).status_code == 422
    first, second = listed
    refused = api.post(f"{BASE}/firings/{first['id']}/reject", {"note": ""}, content_type="application/json")
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "note"
    rejected = api.post(f"{BASE}/firings/{first['id']}/reject", {"note": "重複"}, content_type="application/json")
    assert rejected.json()["status"] == FiringStatus.REJECTED
    approved = api.post(f"{BASE}/firings/{second['id']}/approve", {}, content_type="application/json")
    assert approved.status_code == 200 and approved.json()["status"] == FiringStatus.EXECUTED
    again = api.post(f"{BASE}/firings/{second['id']}/approve", {}, content_type="application/json")
    assert again.status_code == 422 and again.json()["detail"][0]["field"] == "status"
    assert api.get(f"{BASE}/firings/{second['id']}").json()["outcome"]["warn"] == "warned"


def test_evaluate_starts_a_run_and_reports_its_status(api_as, django_capture_on_commit_callbacks):
    RuleFactory()
    api = api_as(Role.OPS_MANAGER)
    with django_capture_on_commit_callbacks(execute=False):
        started = api.post(f"{BASE}/evaluate")
    assert started.status_code == 202
    run_id = started.json()["id"]
    assert EvaluationRun.objects.filter(pk=run_id).exists()
    assert api.get(f"{BASE}/evaluations/{run_id}").json()["status"] == "queued"
    assert api_as(Role.CSM).post(f"{BASE}/evaluate").status_code == 403
