import datetime
import json

import pytest
from django.test import Client
from django.utils import timezone

from banso.accounts.choices import TouchTier
from banso.activity.models import Event
from banso.core.choices import Role
from banso.core.models import AuditEntry

from ..core.factories import UserFactory
from .factories import AccountFactory, ContactFactory, ContractFactory

pytestmark = pytest.mark.django_db


def patch(client, url, data):
    return client.patch(url, json.dumps(data), content_type="application/json")


def test_list_filters_searches_and_paginates(api_as):
    for i in range(7):
        AccountFactory(name=f"高{i}", name_kana=f"こう{i}", tier=TouchTier.HIGH, mrr=1000 * i)
    AccountFactory(name="テック", tier=TouchTier.TECH)
    client = api_as(Role.VIEWER)

    body = client.get("/api/accounts/", {"tier": "high", "sort": "-mrr", "page_size": 5}).json()
    assert body["count"] == 7 and body["pages"] == 2 and body["page"] == 1
    assert [r["mrr"] for r in body["results"]] == [6000, 5000, 4000, 3000, 2000]
    assert isinstance(body["results"][0]["mrr"], int)

    second = client.get("/api/accounts/", {"tier": "high", "sort": "-mrr", "page_size": 5, "page": 2}).json()
    assert [r["name"] for r in second["results"]] == ["高1", "高0"]

    assert client.get("/api/accounts/", {"q": "ｺｳ3"}).json()["results"][0]["name"] == "高3"


def test_list_refuses_bad_filters(api_as):
    client = api_as(Role.VIEWER)
    assert client.get("/api/accounts/", {"sort": "shoe_size"}).status_code == 422
    assert client.get("/api/accounts/", {"renewal_month": "2026-13"}).status_code == 422
    assert client.get("/api/accounts/", {"tier": "gold"}).status_code == 422


def test_list_needs_credentials():
    assert Client().get("/api/accounts/").status_code == 401


def test_detail_has_contacts_and_contracts(api_as):
    account = AccountFactory(name="詳細社", attributes={"区分": "A"})
    ContactFactory(account=account, name="窓口")
    ContractFactory(account=account, plan="プロ", mrr=120000)
    body = api_as(Role.VIEWER).get(f"/api/accounts/{account.pk}").json()
    assert body["name"] == "詳細社"
    assert body["attributes"] == {"区分": "A"}
    assert [c["name"] for c in body["contacts"]] == ["窓口"]
    assert body["contracts"][0]["mrr"] == 120000
    assert api_as(Role.VIEWER).get("/api/accounts/999999").status_code == 404


def test_patch_updates_and_audits_via_api(api_as):
    owner = UserFactory(role=Role.CSM)
    account = AccountFactory(tier=TouchTier.LOW)
    client = api_as(Role.CSM)
    response = patch(client, f"/api/accounts/{account.pk}", {"tier": "high", "owner_id": owner.pk})
    assert response.status_code == 200, response.content
    assert response.json()["tier"] == "high"
    entry = AuditEntry.objects.get(account_id=account.pk)
    assert entry.via == "api"
    assert entry.actor == client.user
    assert entry.changes == {"tier": ["low", "high"], "owner": [None, owner.pk]}


def test_patch_with_bad_values_names_the_field(api_as):
    account = AccountFactory()
    client = api_as(Role.CSM)
    assert patch(client, f"/api/accounts/{account.pk}", {"tier": "gold"}).status_code == 422
    response = patch(client, f"/api/accounts/{account.pk}", {"owner_id": 987654})
    assert response.status_code == 422
    assert "owner" in response.json()["detail"]
    assert patch(client, f"/api/accounts/{account.pk}", {"name": None}).status_code == 422
    assert not AuditEntry.objects.exists()


def test_viewer_cannot_patch(api_as):
    account = AccountFactory(name="そのまま")
    response = patch(api_as(Role.VIEWER), f"/api/accounts/{account.pk}", {"name": "変更"})
    assert response.status_code == 403
    account.refresh_from_db()
    assert account.name == "そのまま"


def test_timeline_pages_with_a_cursor(api_as):
    account = AccountFactory()
    now = timezone.now()
    Event.objects.bulk_create(
        Event(
            source="s", external_id=str(i), account=account, kind="visit", occurred_at=now - datetime.timedelta(hours=i)
        )
        for i in range(15)
    )
    client = api_as(Role.VIEWER)
    first = client.get(f"/api/accounts/{account.pk}/timeline", {"limit": 10}).json()
    assert len(first["items"]) == 10 and first["next"]
    rest = client.get(f"/api/accounts/{account.pk}/timeline", {"limit": 10, "before": first["next"]}).json()
    assert len(rest["items"]) == 5 and rest["next"] is None
    assert client.get(f"/api/accounts/{account.pk}/timeline", {"before": "x"}).status_code == 422


def test_audit_needs_the_audit_capability(api_as):
    account = AccountFactory()
    patch(api_as(Role.CSM), f"/api/accounts/{account.pk}", {"industry": "物流"})
    entries = api_as(Role.OPS_MANAGER).get(f"/api/accounts/{account.pk}/audit").json()
    assert entries[0]["changes"] == {"industry": ["", "物流"]}
    assert entries[0]["via"] == "api"
    assert api_as(Role.VIEWER).get(f"/api/accounts/{account.pk}/audit").status_code == 403
