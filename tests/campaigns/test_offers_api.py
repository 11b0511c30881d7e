"""The offers API: offers, special rates, the calendar and applying switches; bad input answers 422 naming the
field."""

import json

import pytest
from django.core.management import call_command

from banso.campaigns import offers
from banso.campaigns.models import Offer, OfferStatus, RateSwitch, SpecialRate
from banso.core.choices import Role

from .factories import AdvertiserFactory, OfferFactory, SpecialRateFactory, tokyo
from .factories_offers import month_rate

pytestmark = pytest.mark.django_db
BASE = "/api/campaigns/offers"


def _post(client, url, data, method="post"):
    return getattr(client, method)(url, json.dumps(data), content_type="application/json")


def test_creating_an_offer_and_reading_it_back(api_as):
    client = api_as(Role.CSM)
    advertiser = AdvertiserFactory()
    response = _post(
        client,
        BASE,
        {
            "advertiser": advertiser.pk,
            "asp": "valuecommerce",
            "asp_offer_id": "vc-1",
            "name": "ホテル予約",
            "category": "travel",
            "base_reward_type": "rate",
            "base_rate": "3.5",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reward_text"] == "3.50%" and body["status"] == "approved" and body["asp"] == "valuecommerce"
    assert body["open_items"] == list(offers.CHECKLIST_KEYS)
    assert client.get(f"{BASE}/{body['id']}").json()["name"] == "ホテル予約"


def test_a_bad_rate_answers_422_naming_the_field(api_as):
    response = _post(
        api_as(Role.CSM),
        BASE,
        {
            "advertiser": AdvertiserFactory().pk,
            "asp": "a8",
            "asp_offer_id": "a8-9",
            "name": "x",
            "base_reward_type": "rate",
            "base_rate": 120,
        },
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["detail"]] == ["base_rate"]
    assert not Offer.objects.filter(asp_offer_id="a8-9").exists()


def test_patch_keeps_what_is_left_out(api_as):
    offer = OfferFactory(conditions="新規のみ")
    response = _post(api_as(Role.CSM), f"{BASE}/{offer.pk}", {"cashback_share": "70"}, method="patch")
    assert response.status_code == 200
    offer.refresh_from_db()
    assert str(offer.cashback_share) == "70.00" and offer.conditions == "新規のみ"


def test_status_and_checklist_through_the_api(api_as):
    client = api_as(Role.OPS_MANAGER)
    offer = OfferFactory(status=OfferStatus.CONFIGURED, checklist={})
    refused = _post(client, f"{BASE}/{offer.pk}/status", {"status": "published"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "checklist"
    for key in offers.CHECKLIST_KEYS:
        assert _post(client, f"{BASE}/{offer.pk}/checklist", {"item": key}).status_code == 200
    published = _post(client, f"{BASE}/{offer.pk}/status", {"status": "published"})
    assert published.status_code == 200 and published.json()["published_at"]


def test_viewers_read_but_do_not_write(api_as):
    client = api_as(Role.VIEWER)
    offer = OfferFactory()
    assert client.get(BASE).status_code == 200
    assert _post(client, f"{BASE}/{offer.pk}", {"name": "x"}, method="patch").status_code == 403


def test_special_rates_overlap_answers_422_and_cancel(api_as):
    client = api_as(Role.CSM)
    offer = OfferFactory()
    december = month_rate(offer, 2026, 12)
    overlap = _post(
        client,
        f"{BASE}/rates",
        {"offer": offer.pk, "starts_at": "2026-12-31", "ends_at": "2027-01-31", "reward_type": "rate", "rate": 8},
    )
    assert overlap.status_code == 422 and overlap.json()["detail"][0]["field"] == "starts_at"
    january = _post(
        client,
        f"{BASE}/rates",
        {"offer": offer.pk, "starts_at": "2027-01-01", "ends_at": "2027-02-01", "reward_type": "rate", "rate": 8},
    )
    assert january.status_code == 201 and january.json()["reward_text"] == "8.00%"
    listed = client.get(f"{BASE}/rates", {"offer": offer.pk}).json()
    assert [r["id"] for r in listed] == [december.pk, january.json()["id"]]
    assert client.get(f"{BASE}/rates", {"month": "2027-13"}).status_code == 422
    cancelled = client.post(f"{BASE}/rates/{december.pk}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


def test_the_calendar_of_a_month(api_as):
    offer = OfferFactory()
    month_rate(offer, 2026, 11)
    month_rate(offer, 2026, 12)
    body = api_as(Role.VIEWER).get(f"{BASE}/calendar", {"month": "2026-12"}).json()
    assert [(s["kind"], s["at"][:10]) for s in body["switches"]] == [("end", "2026-12-01"), ("start", "2026-12-01")]


def test_applying_switches_needs_send_campaigns(api_as):
    offer = OfferFactory()
    SpecialRateFactory(offer=offer, starts_at=tokyo(2020, 1, 1), ends_at=tokyo(2099, 1, 1))
    assert api_as(Role.CSM).post(f"{BASE}/switches/apply").status_code == 403
    applied = api_as(Role.OPS_MANAGER).post(f"{BASE}/switches/apply").json()
    assert [a["kind"] for a in applied] == ["start"] and RateSwitch.objects.get().via == "api"


def test_the_command_lists_then_applies_due_switches(capsys):
    offer = OfferFactory(name="CLI案件")
    month_rate(offer, 2026, 12)
    call_command("campaigns", "switches", "--at", "2026-12-01T00:00")
    assert "1 switches due" in capsys.readouterr().out
    assert not RateSwitch.objects.exists()
    call_command("campaigns", "switches", "--apply", "--at", "2026-12-01T00:00")
    assert RateSwitch.objects.get().via == "cli"
    assert SpecialRate.objects.get().status == "active"


def test_the_command_prints_the_calendar_and_the_turn(capsys):
    offer = OfferFactory(name="CLI案件")
    month_rate(offer, 2026, 12)
    call_command("campaigns", "calendar", "--month", "2026-12")
    out = capsys.readouterr().out
    assert "2026-12-01 00:00  start" in out and "CLI案件: 10.00% → 5.00%" in out
