"""The providers and incidents API: lists with filters, details with window counts, recording (422 naming the
field), confirming only for managers, and a status change that is audited and told to the platform."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from banso.core.choices import Role
from banso.marketplace.models import Incident, IncidentStatus, ProviderStatus
from banso.playbooks.models import OutboxMessage

from .factories import BookingFactory, IncidentFactory, ProviderFactory
from .factories_incidents import reported

pytestmark = pytest.mark.django_db


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def fields_of(response) -> list[str]:
    return [d["field"] for d in response.json()["detail"]]


def test_agent_records_an_incident_and_bad_input_is_refused_naming_the_field(api_as):
    provider = ProviderFactory()
    booking = BookingFactory(provider=provider.account)
    agent = api_as(Role.SUPPORT_AGENT)
    body = {
        "provider_id": provider.pk,
        "type": "no_show",
        "severity": 3,
        "occurred_at": "2026-11-01T10:00:00+09:00",
        "summary": "来なかった",
        "booking_id": booking.pk,
        "inquiry_number": 12,
    }
    created = post(agent, "/api/marketplace/incidents", body)
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["status"] == "reported" and data["booking_id"] == booking.pk and data["inquiry_number"] == 12
    assert Incident.objects.get(number=data["number"]).occurred_at == dt.datetime(2026, 11, 1, 1, tzinfo=dt.UTC)

    future = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    for change, field in [
        ({"type": "nope"}, "type"),
        ({"severity": 4}, "severity"),
        ({"occurred_at": future}, "occurred_at"),
        ({"booking_id": BookingFactory().pk}, "booking_id"),
        ({"provider_id": 999_999}, "provider_id"),
        ({"confirmed": True}, "confirmed"),
    ]:
        response = post(agent, "/api/marketplace/incidents", {**body, **change})
        assert response.status_code == 422 and fields_of(response) == [field], (change, response.content)
    assert Incident.objects.count() == 1


def test_manager_confirms_and_dismisses_viewer_cannot(api_as):
    incident = reported()
    assert post(api_as(Role.VIEWER), f"/api/marketplace/incidents/{incident.number}/confirm", {}).status_code == 403
    manager = api_as(Role.OPS_MANAGER)
    confirmed = post(manager, f"/api/marketplace/incidents/{incident.number}/confirm", {})
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    again = post(manager, f"/api/marketplace/incidents/{incident.number}/confirm", {})
    assert again.status_code == 422 and fields_of(again) == ["status"]
    empty = post(manager, f"/api/marketplace/incidents/{incident.number}/dismiss", {"reason": " "})
    assert empty.status_code == 422 and fields_of(empty) == ["reason"]
    dismissed = post(manager, f"/api/marketplace/incidents/{incident.number}/dismiss", {"reason": "誤報"})
    assert dismissed.json()["status"] == "dismissed"
    assert Incident.objects.get(pk=incident.pk).status == IncidentStatus.DISMISSED


def test_incident_list_filters(api_as):
    provider = ProviderFactory()
    mine = IncidentFactory(provider=provider.account)
    IncidentFactory()
    viewer = api_as(Role.VIEWER)
    data = viewer.get(f"/api/marketplace/incidents?provider_id={provider.pk}").json()
    assert data["count"] == 1 and [i["number"] for i in data["items"]] == [mine.number]
    bad = viewer.get("/api/marketplace/incidents?status=open")
    assert bad.status_code == 422 and fields_of(bad) == ["status"]


def test_provider_detail_counts_and_list_sorted_by_points(api_as):
    calm = ProviderFactory(services=[("ハウスクリーニング", "渋谷区")])
    troubled = ProviderFactory(services=[("ハウスクリーニング", "渋谷区")])
    now = timezone.now()
    IncidentFactory(provider=troubled.account, occurred_at=now - dt.timedelta(days=10))
    IncidentFactory(provider=troubled.account, occurred_at=now - dt.timedelta(days=100))
    viewer = api_as(Role.VIEWER)
    listed = viewer.get("/api/marketplace/providers?area=渋谷区&sort=points").json()
    assert [p["id"] for p in listed["items"]] == [troubled.pk, calm.pk]
    assert listed["items"][0]["services"] == [{"category": "ハウスクリーニング", "area": "渋谷区"}]
    detail = viewer.get(f"/api/marketplace/providers/{troubled.pk}").json()
    assert detail["windows"] == [
        {"days": 30, "count": 1, "points": 2},
        {"days": 90, "count": 1, "points": 2},
        {"days": 365, "count": 2, "points": 4},
    ]
    assert viewer.get("/api/marketplace/providers?sort=worst").status_code == 422


def test_status_patch_is_audited_and_told_to_the_platform(api_as, settings):
    settings.MARKETPLACE_PLATFORM_WEBHOOK_URL = "https://platform.example.jp/hooks/banso"
    provider = ProviderFactory()
    url = f"/api/marketplace/providers/{provider.pk}"
    body = json.dumps({"status": "suspended", "reason": "規約違反"})
    assert api_as(Role.SUPPORT_AGENT).patch(url, body, content_type="application/json").status_code == 403
    manager = api_as(Role.OPS_MANAGER)
    response = manager.patch(url, body, content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "suspended"
    provider.refresh_from_db()
    assert provider.status == ProviderStatus.SUSPENDED and provider.status_changed_at is not None
    hook = OutboxMessage.objects.get(source="marketplace")
    assert hook.url == "https://platform.example.jp/hooks/banso"
    assert hook.payload["event"] == "provider.status" and hook.payload["status"] == "suspended"
    assert hook.payload["provider"] == provider.account.external_id
    # The same status again changes nothing and tells nobody.
    assert manager.patch(url, body, content_type="application/json").status_code == 200
    assert OutboxMessage.objects.filter(source="marketplace").count() == 1
    bad = manager.patch(url, json.dumps({"status": "closed"}), content_type="application/json")
    assert bad.status_code == 422 and fields_of(bad) == ["status"]
