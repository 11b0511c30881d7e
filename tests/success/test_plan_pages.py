"""Coverage plan pages: managers generate, review, drag, bulk-adjust, add and lock; CSMs only read."""

import datetime as dt

import pytest
from django.test import override_settings
from django.urls import reverse

from banso.core.choices import Role
from banso.success.models import CoveragePlan, PlanRun, SuccessSettings

from ..accounts.factories import AccountFactory, ContractFactory
from ..core.factories import UserFactory
from .factories import CoveragePlanFactory, CoverageTargetFactory

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
pytestmark = pytest.mark.django_db


@pytest.fixture
def plan():
    csm = UserFactory(role=Role.CSM, display_name="佐藤")
    plan = CoveragePlanFactory(month=dt.date(2026, 5, 1))
    CoverageTargetFactory(plan=plan, assignee=csm, planned_on=dt.date(2026, 5, 7), account__name="株式会社さくら")
    return plan


def test_a_manager_generates_a_plan_and_follows_its_progress(client_as, django_capture_on_commit_callbacks):
    csm = UserFactory(role=Role.CSM)
    ContractFactory(account=AccountFactory(owner=csm), renewal_date=dt.date(2026, 5, 20))
    client = client_as(Role.OPS_MANAGER)
    with override_settings(TASKS=IMMEDIATE), django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("success:plan_generate"), {"month": "2026-05"})
    assert response.status_code == 302
    run = PlanRun.objects.get()
    assert run.status == "succeeded" and run.targets == 1
    progress = client.get(reverse("success:plan_run_progress", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert progress["HX-Refresh"] == "true"
    page = client.get(reverse("success:plans")).content.decode()
    assert "2026-05" in page and reverse("success:plan_generate") in page


def test_the_plan_page_shows_loads_targets_and_the_priority_explained(client_as, plan):
    page = client_as(Role.OPS_MANAGER).get(reverse("success:plan", args=[plan.pk])).content.decode()
    assert "株式会社さくら" in page and "佐藤" in page
    assert 'draggable="true"' in page and "plan.js" in page
    assert "data-move-url" in page


def test_filters_narrow_the_targets_by_csm_reason_and_day(client_as, plan):
    client = client_as(Role.OPS_MANAGER)
    url = reverse("success:plan", args=[plan.pk])
    assert "株式会社さくら" in client.get(url, {"day": "2026-05-07", "reason": "renewal"}).content.decode()
    assert "株式会社さくら" not in client.get(url, {"day": "2026-05-08"}).content.decode()


def test_a_csm_reads_the_plan_but_cannot_move_lock_or_change_settings(client_as, plan):
    client = client_as(Role.CSM)
    target = plan.targets.get()
    page = client.get(reverse("success:plan", args=[plan.pk])).content.decode()
    assert "株式会社さくら" in page and 'draggable="true"' not in page
    assert client.post(reverse("success:plan_move", args=[plan.pk]), {"target": target.pk}).status_code == 403
    assert client.post(reverse("success:plan_lock", args=[plan.pk])).status_code == 403
    assert client.post(reverse("success:plan_generate")).status_code == 403
    assert client.get(reverse("success:plan_settings")).status_code == 403


def test_dropping_a_target_on_another_csms_day_moves_it(client_as, plan):
    other = UserFactory(role=Role.CSM)
    target = plan.targets.get()
    response = client_as(Role.OPS_MANAGER).post(
        reverse("success:plan_move", args=[plan.pk]),
        {"target": target.pk, "assignee": other.pk, "planned_on": "2026-05-12"},
        HTTP_ACCEPT="application/json",
    )
    assert response.json() == {"ok": True, "error": ""}
    target.refresh_from_db()
    assert (target.assignee_id, target.planned_on, target.adjusted) == (other.pk, dt.date(2026, 5, 12), True)


def test_dropping_on_a_holiday_is_refused_with_the_reason(client_as, plan):
    target = plan.targets.get()
    response = client_as(Role.OPS_MANAGER).post(
        reverse("success:plan_move", args=[plan.pk]),
        {"target": target.pk, "planned_on": "2026-05-04"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400 and "営業日ではありません" in response.json()["error"]


def test_bulk_move_add_by_hand_then_lock(client_as, plan):
    client = client_as(Role.OPS_MANAGER)
    target = plan.targets.get()
    client.post(
        reverse("success:plan_bulk", args=[plan.pk]),
        {"action": "move", "targets": [target.pk], "planned_on": "2026-05-29"},
    )
    target.refresh_from_db()
    assert target.planned_on == dt.date(2026, 5, 29)
    extra = AccountFactory(name="株式会社ふじ")
    client.post(reverse("success:plan_add", args=[plan.pk]), {"account": extra.pk})
    assert plan.targets.filter(account=extra, reason="manual").exists()
    client.post(reverse("success:plan_lock", args=[plan.pk]))
    plan.refresh_from_db()
    assert plan.locked
    client.post(reverse("success:plan_bulk", args=[plan.pk]), {"action": "remove", "targets": [target.pk]})
    assert plan.targets.filter(pk=target.pk).exists()
    page = client.get(reverse("success:plan", args=[plan.pk])).content.decode()
    assert 'draggable="true"' not in page


def test_a_manager_edits_the_success_settings(client_as):
    client = client_as(Role.OPS_MANAGER)
    assert client.get(reverse("success:plan_settings")).status_code == 200
    data = {f.name: getattr(SuccessSettings.current(), f.name) for f in SuccessSettings._meta.fields if f.name != "id"}
    data["plan_day"] = 24
    client.post(reverse("success:plan_settings"), data)
    assert SuccessSettings.current().plan_day == 24
    data["plan_day"] = 31
    response = client.post(reverse("success:plan_settings"), data)
    assert response.status_code == 200 and SuccessSettings.current().plan_day == 24
    assert not CoveragePlan.objects.exists()
