"""Touches, renewals and My day in the JSON API."""

import datetime as dt

import pytest
from django.utils import timezone

from banso.core.choices import Role
from banso.success.models import RenewalStage, Touch

from ..accounts.factories import AccountFactory, ContactFactory, ContractFactory
from .factories import RenewalFactory, TouchFactory

pytestmark = pytest.mark.django_db


def test_creating_a_touch_with_a_new_successor(api_as):
    leaver = ContactFactory(is_primary=True)
    response = api_as(Role.CSM).post(
        "/api/success/touches",
        {
            "account_id": leaver.account_id,
            "channel": "call",
            "outcome": "contact_changed",
            "contact_id": leaver.pk,
            "new_successor": {"name": "後任 二郎", "email": "jiro@example.jp"},
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    successor = leaver.account.contacts.get(pk=response.json()["successor_id"])
    assert successor.is_primary and successor.name == "後任 二郎"


def test_a_refused_touch_is_422_naming_the_body_field_and_writes_nothing(api_as):
    leaver = ContactFactory(is_primary=True)
    response = api_as(Role.CSM).post(
        "/api/success/touches",
        {
            "account_id": leaver.account_id,
            "channel": "call",
            "outcome": "contact_changed",
            "contact_id": leaver.pk,
            "new_successor": {"name": "x", "email": "not-an-email"},
        },
        content_type="application/json",
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["detail"]] == ["new_successor.email"]
    assert not Touch.objects.exists() and leaver.account.contacts.count() == 1


def test_a_viewer_cannot_create_touches_but_can_list_them(api_as):
    TouchFactory()
    viewer = api_as(Role.VIEWER)
    body = {"account_id": AccountFactory().pk, "channel": "call", "outcome": "conversation"}
    assert viewer.post("/api/success/touches", body, content_type="application/json").status_code == 403
    assert len(viewer.get("/api/success/touches").json()) == 1


def test_completing_a_next_step(api_as):
    touch = TouchFactory(next_step="連絡", next_step_due=timezone.localdate())
    response = api_as(Role.CSM).post(f"/api/success/touches/{touch.pk}/done")
    assert response.status_code == 200 and response.json()["next_step_done_at"]


def test_renewals_by_month_and_setting_a_stage(api_as):
    renewal = RenewalFactory(contract=ContractFactory(renewal_date=dt.date(2026, 5, 20), mrr=40_000))
    client = api_as(Role.CSM)
    rows = client.get("/api/success/renewals?month=2026-05").json()
    assert [r["id"] for r in rows] == [renewal.pk] and rows[0]["mrr"] == 40_000
    refused = client.post(
        f"/api/success/renewals/{renewal.pk}/stage", {"stage": "downgraded"}, content_type="application/json"
    )
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "renewed_mrr"
    done = client.post(
        f"/api/success/renewals/{renewal.pk}/stage",
        {"stage": "downgraded", "renewed_mrr": 30_000},
        content_type="application/json",
    )
    assert done.status_code == 200 and done.json()["stage"] == RenewalStage.DOWNGRADED


def test_the_forecast_in_yen(api_as):
    RenewalFactory(contract=ContractFactory(renewal_date=dt.date(2026, 5, 1), mrr=10_000))
    body = api_as(Role.VIEWER).get("/api/success/renewals/forecast?month=2026-05").json()
    assert body["month"]["best_case"] == 10_000 and body["month"]["expected"] == 8_000
    assert body["quarter"]["start"] == "2026-04-01"


def test_my_day_is_ones_own_unless_a_manager_asks(api_as):
    csm = api_as(Role.CSM)
    AccountFactory(owner=csm.user, tier="high")
    mine = csm.get("/api/success/my-day").json()
    assert mine["breaching_count"] == 1 and mine["items"][0]["kind"] == "breaching"
    other = api_as(Role.CSM)
    assert other.get(f"/api/success/my-day?user_id={csm.user.pk}").status_code == 403
    manager = api_as(Role.OPS_MANAGER)
    assert manager.get(f"/api/success/my-day?user_id={csm.user.pk}").json()["breaching_count"] == 1
