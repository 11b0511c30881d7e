"""The offers pages: list with filters, offer page, forms that refuse bad input on the field, status and
checklist buttons, the calendar, the month turn and the apply-now button."""

import pytest
from django.urls import reverse

from banso.campaigns import offers
from banso.campaigns.models import Offer, OfferStatus, RateSwitch, SpecialRate
from banso.core.choices import Role

from .factories import AdvertiserFactory, OfferFactory, SpecialRateFactory, tokyo
from .factories_offers import draft_offer, month_rate

pytestmark = pytest.mark.django_db


def test_the_list_filters_by_status_and_shows_the_reward_now(client_as):
    published = OfferFactory(name="公開中の案件")
    draft_offer(name="準備中の案件")
    page = client_as(Role.VIEWER).get(reverse("campaigns:offers"), {"status": "published"})
    assert page.status_code == 200
    assert [r["offer"].pk for r in page.context["rows"]] == [published.pk]
    assert page.context["rows"][0]["reward"] == "5.00%"


def test_the_offer_page_shows_rates_checklist_and_the_forecast_link(client_as):
    offer = OfferFactory()
    december = month_rate(offer, 2026, 12)
    page = client_as(Role.VIEWER).get(reverse("campaigns:offer", args=[offer.pk]))
    assert page.status_code == 200
    assert [r["rate"] for r in page.context["rates"]] == [december]
    assert [row["key"] for row in page.context["checklist"]] == list(offers.CHECKLIST_KEYS)
    body = page.content.decode()
    if page.context["forecast_link"]:
        assert f"?offer={offer.pk}" in body


def test_creating_an_offer_from_the_form(client_as):
    advertiser = AdvertiserFactory()
    from banso.campaigns.models import Asp

    asp = Asp.objects.get(code="afb")
    data = {
        "advertiser": advertiser.pk,
        "asp": asp.pk,
        "asp_offer_id": "afb-77",
        "name": "クレジットカード発行",
        "category": "card",
        "base_reward_type": "fixed",
        "base_amount": "12,000",
        "cashback_share": "50",
    }
    response = client_as(Role.CSM).post(reverse("campaigns:offer_new"), data)
    offer = Offer.objects.get(asp_offer_id="afb-77")
    assert response.status_code == 302 and response["Location"] == reverse("campaigns:offer", args=[offer.pk])
    assert offer.reward_amount == 12000


def test_the_form_shows_a_bad_rate_on_its_field(client_as):
    data = {
        "advertiser": AdvertiserFactory().pk,
        "asp": OfferFactory().asp_id,
        "asp_offer_id": "x-1",
        "name": "案件",
        "category": "ec",
        "base_reward_type": "rate",
        "base_rate": "150",
        "cashback_share": "50",
    }
    response = client_as(Role.CSM).post(reverse("campaigns:offer_new"), data)
    assert response.status_code == 200 and "base_rate" in response.context["form"].errors
    assert not Offer.objects.filter(asp_offer_id="x-1").exists()


def test_a_viewer_cannot_edit(client_as):
    offer = OfferFactory()
    assert client_as(Role.VIEWER).get(reverse("campaigns:offer_edit", args=[offer.pk])).status_code == 403


def test_publishing_with_open_items_stays_configured(client_as):
    offer = draft_offer(status=OfferStatus.CONFIGURED)
    client = client_as(Role.CSM)
    client.post(reverse("campaigns:offer_tick", args=[offer.pk]), {"item": "reward"})
    client.post(reverse("campaigns:offer_status", args=[offer.pk]), {"status": "published"})
    offer.refresh_from_db()
    assert offer.status == OfferStatus.CONFIGURED and "reward" in offer.checklist


def test_a_special_rate_overlap_is_shown_on_the_form(client_as):
    offer = OfferFactory()
    month_rate(offer, 2026, 12)
    response = client_as(Role.CSM).post(
        f"{reverse('campaigns:rate_new')}?offer={offer.pk}",
        {"starts_at": "2026-12-15T00:00", "ends_at": "2027-01-15T00:00", "reward_type": "rate", "rate": "9"},
    )
    assert response.status_code == 200 and "starts_at" in response.context["form"].errors
    assert SpecialRate.objects.filter(offer=offer).count() == 1


def test_a_special_rate_from_the_form_is_tokyo_time(client_as):
    offer = OfferFactory()
    response = client_as(Role.CSM).post(
        f"{reverse('campaigns:rate_new')}?offer={offer.pk}",
        {"starts_at": "2026-12-01T00:00", "ends_at": "2027-01-01T00:00", "reward_type": "rate", "rate": "9"},
    )
    assert response.status_code == 302
    rate = SpecialRate.objects.get(offer=offer)
    assert rate.starts_at == tokyo(2026, 12, 1) and rate.ends_at == tokyo(2027, 1, 1)


def test_the_calendar_and_month_turn_pages(client_as):
    offer = OfferFactory()
    month_rate(offer, 2026, 12)
    SpecialRateFactory(offer=offer, starts_at=tokyo(2027, 1, 2), ends_at=tokyo(2027, 2, 1))
    client = client_as(Role.VIEWER)
    page = client.get(reverse("campaigns:calendar"), {"month": "2026-12"})
    assert page.status_code == 200 and len(page.context["switches"]) == 1
    assert len(page.context["gaps"]) == 0 or page.context["gaps"][0][0].offer_id == offer.pk
    turn = client.get(reverse("campaigns:month_turn"), {"month": "2027-01"})
    assert turn.status_code == 200
    assert [r.change for r in turn.context["turn"].rows] == ["special_to_base"]
    html = turn.content.decode()
    assert "1日 の空白" in html or "1日の空白" in html, "the one-day gap in Japanese, not '1 day, 0:00:00'"
    offer_page = client.get(reverse("campaigns:offer", args=[offer.pk])).content.decode()
    assert "予定" in offer_page and "利用日時" not in offer_page  # the special rates' status, not another app's word
    assert client.get(reverse("campaigns:calendar"), {"month": "2026-13"}).status_code == 404


def test_apply_now_needs_send_campaigns(client_as):
    offer = OfferFactory()
    SpecialRateFactory(offer=offer, starts_at=tokyo(2020, 1, 1), ends_at=tokyo(2099, 1, 1))
    assert client_as(Role.CSM).post(reverse("campaigns:switches_apply")).status_code == 403
    response = client_as(Role.OPS_MANAGER).post(reverse("campaigns:switches_apply"), {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == reverse("campaigns:calendar")
    assert RateSwitch.objects.filter(offer=offer, via="ui").count() == 1


def test_the_overview_counts_offers_by_status(client_as):
    OfferFactory()
    draft_offer()
    page = client_as(Role.VIEWER).get(reverse("campaigns:index"))
    assert page.status_code == 200
    counts = {row["status"]: row["count"] for row in page.context["by_status"]}
    assert counts["published"] == 1 and counts["approved"] == 1


def test_the_asp_list_and_form(client_as):
    client = client_as(Role.CSM)
    assert client.get(reverse("campaigns:asps")).status_code == 200
    response = client.post(reverse("campaigns:asp_new"), {"code": "janet", "name": "JANet"})
    assert response.status_code == 302
    response = client.post(reverse("campaigns:asp_new"), {"code": "janet", "name": "JANet"})
    assert response.status_code == 200 and "code" in response.context["form"].errors


def test_an_active_rate_only_changes_its_end_from_the_form(client_as):
    offer = OfferFactory()
    rate = SpecialRateFactory(offer=offer, starts_at=tokyo(2020, 1, 1), ends_at=tokyo(2099, 1, 1))
    from banso.campaigns import rates

    rates.apply_due()
    client = client_as(Role.CSM)
    assert client.get(reverse("campaigns:rate_edit", args=[rate.pk])).status_code == 200
    response = client.post(
        reverse("campaigns:rate_edit", args=[rate.pk]),
        {"starts_at": "2021-01-01T00:00", "ends_at": "2098-01-01T00:00", "reward_type": "rate", "rate": "99"},
    )
    assert response.status_code == 302
    rate.refresh_from_db()
    assert rate.ends_at == tokyo(2098, 1, 1) and rate.starts_at == tokyo(2020, 1, 1) and str(rate.rate) == "10.00"
    assert client.get(reverse("campaigns:offer", args=[offer.pk])).status_code == 200
