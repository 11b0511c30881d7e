"""Forecasts from the app's data: visitors from the analytics lake, conversions from the ASP reports; saved
with inputs and an interval; pages, API and command line; a clear error without visits."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from banso.campaigns import forecasts
from banso.campaigns.models import Forecast, RewardType
from banso.core.permissions import Role

from .factories import OfferFactory, SpecialRateFactory, tokyo
from .factories_forecasts import add_conversions, add_visits

pytestmark = pytest.mark.django_db


@pytest.fixture
def offer():
    today = timezone.localdate()
    offer = OfferFactory()
    first = today - dt.timedelta(days=70)
    add_visits(offer.advertiser, first, 70, users=30)
    add_conversions(offer, today - dt.timedelta(days=60), 60, per_day=1)
    return offer


def _proposal(offer, rate="10.00", days=14):
    start = timezone.localdate() + dt.timedelta(days=7)
    return forecasts.Proposal(
        offer=offer,
        start=start,
        end=start + dt.timedelta(days=days - 1),
        reward_type=RewardType.RATE,
        rate=Decimal(rate),
    )


def test_forecast_reads_visitors_and_conversions_and_gives_an_interval(offer):
    computed = forecasts.compute(_proposal(offer))
    inputs, result = computed["inputs"], computed["result"]
    assert inputs["unique_visitors"] == pytest.approx(30 * 14)
    assert inputs["history_conversions"] == 60
    assert inputs["history_visitor_days"] == 30 * 70  # 70 days of visits, all inside the last 90 days
    assert inputs["average_order"] == 10_000
    assert inputs["reward_ratio"] == pytest.approx(2.0)
    acquisitions = result["acquisitions"]
    assert acquisitions["low"] < acquisitions["mid"] < acquisitions["high"]
    # Reward cost is acquisitions × 10 % of ¥10,000 per simulated draw: the mid is near 1,000 yen per acquisition.
    assert result["reward_cost"]["mid"] == pytest.approx(acquisitions["mid"] * 1000, rel=0.2)
    assert all(isinstance(v, int) for v in result["reward_cost"].values())
    assert result["current"]["acquisitions"]["mid"] <= acquisitions["mid"]


def test_higher_proposed_rate_forecasts_more_acquisitions(offer):
    low = forecasts.compute(_proposal(offer, "6.00"))["result"]["acquisitions"]
    high = forecasts.compute(_proposal(offer, "20.00"))["result"]["acquisitions"]
    assert high["mid"] > low["mid"]


def test_no_visits_is_a_clear_error_naming_the_advertiser():
    offer = OfferFactory()
    with pytest.raises(forecasts.ForecastError) as raised:
        forecasts.compute(_proposal(offer))
    assert raised.value.field == ""
    assert offer.advertiser.name in raised.value.message
    assert "visit" in raised.value.message


def test_bad_input_names_the_field(offer):
    proposal = _proposal(offer)
    proposal.end = proposal.start - dt.timedelta(days=1)
    with pytest.raises(forecasts.ForecastError) as raised:
        forecasts.compute(proposal)
    assert raised.value.field == "period_end"
    proposal = _proposal(offer)
    proposal.rate = None
    with pytest.raises(forecasts.ForecastError) as raised:
        forecasts.compute(proposal)
    assert raised.value.field == "rate"


def test_past_special_rate_periods_show_their_uplift(offer):
    today = timezone.localdate()
    start = today - dt.timedelta(days=20)
    SpecialRateFactory(
        offer=offer,
        starts_at=tokyo(start.year, start.month, start.day),
        ends_at=tokyo(today.year, today.month, today.day) - dt.timedelta(days=6),
        rate=Decimal("10.00"),
        status="ended",
    )
    add_conversions(offer, start, 14, per_day=1)  # twice the usual rate during the period
    periods = forecasts.compute(_proposal(offer))["result"]["past_periods"]
    assert len(periods) == 1
    assert periods[0]["ratio"] == pytest.approx(2.0)
    assert periods[0]["uplift"] == pytest.approx(2.0)


def test_page_previews_then_saves(offer, client_as):
    client = client_as(Role.OPS_MANAGER)
    start = timezone.localdate() + dt.timedelta(days=7)
    data = {
        "offer": offer.pk,
        "period_start": start.isoformat(),
        "period_end": (start + dt.timedelta(days=13)).isoformat(),
        "reward_type": "rate",
        "rate": "10.00",
        "promotions": ["push", "newsletter"],
    }
    assert client.get(f"/campaigns/forecasts/new/?offer={offer.pk}").status_code == 200
    preview = client.post("/campaigns/forecasts/new/", data | {"preview": "1"})
    assert preview.status_code == 200
    assert b'id="forecast-interval"' in preview.content
    assert not Forecast.objects.exists()
    saved = client.post("/campaigns/forecasts/new/", data | {"save": "1"})
    forecast = Forecast.objects.get()
    assert saved.status_code == 302 and saved["Location"] == f"/campaigns/forecasts/{forecast.pk}/"
    assert forecast.promotions == ["push", "newsletter"]
    assert forecast.result["acquisitions"]["low"] <= forecast.result["acquisitions"]["high"]
    assert client.get(f"/campaigns/forecasts/{forecast.pk}/").status_code == 200
    assert client.get("/campaigns/forecasts/").status_code == 200


def test_page_refuses_a_missing_rate(offer, client_as):
    start = timezone.localdate() + dt.timedelta(days=7)
    response = client_as(Role.OPS_MANAGER).post(
        "/campaigns/forecasts/new/",
        {"offer": offer.pk, "period_start": start, "period_end": start, "reward_type": "rate", "rate": "", "save": "1"},
    )
    assert response.status_code == 422
    assert not Forecast.objects.exists()


def test_viewers_cannot_make_forecasts(offer, client_as):
    assert client_as(Role.VIEWER).get(f"/campaigns/forecasts/new/?offer={offer.pk}").status_code == 403


def test_api_creates_lists_and_refuses(offer, api_as):
    api = api_as(Role.CSM)
    start = timezone.localdate() + dt.timedelta(days=7)
    body = {
        "offer": offer.pk,
        "period_start": start.isoformat(),
        "period_end": (start + dt.timedelta(days=13)).isoformat(),
        "reward_type": "fixed",
        "amount": 1500,
    }
    created = api.post("/api/campaigns/forecasts", body, content_type="application/json")
    assert created.status_code == 201, created.content
    forecast_id = created.json()["id"]
    assert created.json()["amount"] == 1500
    assert [f["id"] for f in api.get("/api/campaigns/forecasts").json()] == [forecast_id]
    assert api.get(f"/api/campaigns/forecasts/{forecast_id}").json()["result"]["acquisitions"]
    refused = api.post("/api/campaigns/forecasts", body | {"amount": None}, content_type="application/json")
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["field"] == "amount"
    missing = api.post("/api/campaigns/forecasts", body | {"offer": 999999}, content_type="application/json")
    assert missing.status_code == 422 and missing.json()["detail"][0]["field"] == "offer"


def test_command_line_forecast(offer, capsys):
    start = timezone.localdate() + dt.timedelta(days=7)
    call_command(
        "campaigns",
        "forecast",
        "--offer",
        str(offer.pk),
        "--from",
        start.isoformat(),
        "--to",
        (start + dt.timedelta(days=6)).isoformat(),
        "--rate",
        "8",
        "--save",
    )
    out = capsys.readouterr().out.splitlines()
    data = json.loads(out[-1])
    assert Forecast.objects.get().pk == data["id"]
    assert data["inputs"]["period_days"] == 7
