"""Coverage plans through the JSON API: reading plans and targets, generating, moving, bulk actions and
locking, with the same checks and permissions as the pages."""

import datetime as dt
import json

import pytest
from django.test import override_settings

from banso.core.choices import Role
from banso.success.models import PlanRun

from ..accounts.factories import AccountFactory, ContractFactory
from ..core.factories import UserFactory
from .factories import CoveragePlanFactory, CoverageTargetFactory

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
BASE = "/api/success/plans"
pytestmark = pytest.mark.django_db


def post(client, path, data):
    return client.post(BASE + path, json.dumps(data), content_type="application/json")


@pytest.fixture
def plan():
    plan = CoveragePlanFactory(month=dt.date(2026, 5, 1))
    csm = UserFactory(role=Role.CSM)
    for day in (7, 7, 8):
        CoverageTargetFactory(plan=plan, assignee=csm, planned_on=dt.date(2026, 5, day))
    return plan


def test_plans_and_their_targets_are_listed_by_assignee_and_day_paged(api_as, plan):
    client = api_as(Role.CSM)
    plans = client.get(BASE).json()
    assert plans[0]["month"] == "2026-05-01" and plans[0]["targets"] == 3 and plans[0]["by_reason"] == {"renewal": 3}
    page = client.get(f"{BASE}/{plan.pk}/targets", {"day": "2026-05-07", "limit": 1}).json()
    assert (page["count"], len(page["items"])) == (2, 1)
    assignee = page["items"][0]["assignee_id"]
    assert client.get(f"{BASE}/{plan.pk}/targets", {"assignee_id": assignee}).json()["count"] == 3


def test_generating_queues_a_run_that_can_be_followed(api_as, django_capture_on_commit_callbacks):
    csm = UserFactory(role=Role.CSM)
    ContractFactory(account=AccountFactory(owner=csm), renewal_date=dt.date(2026, 5, 20))
    client = api_as(Role.OPS_MANAGER)
    with override_settings(TASKS=IMMEDIATE), django_capture_on_commit_callbacks(execute=True):
        response = post(client, "/generate", {"month": "2026-05-01"})
    assert response.status_code == 202
    run = client.get(f"{BASE}/runs/{response.json()['id']}").json()
    assert run["status"] == "succeeded" and run["targets"] == 1 and run["plan_id"]


def test_a_move_to_a_holiday_is_refused_naming_the_field(api_as, plan):
    target = plan.targets.first()
    response = post(api_as(Role.OPS_MANAGER), f"/{plan.pk}/targets/{target.pk}/move", {"planned_on": "2026-05-05"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "planned_on"


def test_bulk_reassign_then_lock_refuses_further_changes(api_as, plan):
    client = api_as(Role.OPS_MANAGER)
    other = UserFactory(role=Role.CSM)
    ids = list(plan.targets.values_list("pk", flat=True))
    assert post(
        client, f"/{plan.pk}/targets/bulk", {"action": "reassign", "targets": ids, "assignee_id": other.pk}
    ).json() == {"changed": 3}
    assert post(client, f"/{plan.pk}/lock", {"locked": True}).json()["locked"] is True
    refused = post(client, f"/{plan.pk}/targets/bulk", {"action": "remove", "targets": ids})
    assert refused.status_code == 422 and "確定済み" in refused.json()["detail"][0]["message"]
    assert plan.targets.count() == 3


def test_a_csm_cannot_generate_move_or_lock(api_as, plan):
    client = api_as(Role.CSM)
    target = plan.targets.first()
    assert post(client, "/generate", {"month": "2026-05-01"}).status_code == 403
    assert post(client, f"/{plan.pk}/targets/{target.pk}/move", {"planned_on": "2026-05-12"}).status_code == 403
    assert post(client, f"/{plan.pk}/lock", {"locked": True}).status_code == 403
    assert not PlanRun.objects.exists()
