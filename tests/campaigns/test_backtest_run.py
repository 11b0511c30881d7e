"""The backtest over the app's own history: queued from the page, run by the worker with progress, figures
stored per category and shown with a chart; the API queues one; the command line runs one inline."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from banso.campaigns import forecasts
from banso.campaigns.models import BacktestRun
from banso.core.models import RunStatus
from banso.core.permissions import Role

from .factories import OfferFactory, SpecialRateFactory, tokyo
from .factories_forecasts import add_conversions, add_visits

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    """An offer with 100 days of visits (10 users a day) and a conversion a day, two a day during a
    special rate at twice the base reward over the last 14 days before the final week."""
    today = timezone.localdate()
    offer = OfferFactory()
    add_visits(offer.advertiser, today - dt.timedelta(days=100), 100, users=10)
    add_conversions(offer, today - dt.timedelta(days=100), 100, per_day=1)
    start = today - dt.timedelta(days=21)
    end = today - dt.timedelta(days=7)
    add_conversions(offer, start, 14, per_day=1)
    SpecialRateFactory(
        offer=offer,
        starts_at=tokyo(start.year, start.month, start.day),
        ends_at=tokyo(end.year, end.month, end.day),
        rate=Decimal("10.00"),
        status="ended",
    )
    return offer


def test_backtest_replays_the_past_period(history):
    run = BacktestRun.objects.create(as_of=timezone.localdate())
    forecasts.run_backtest(run)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.percent == 100
    assert run.periods == 1 and run.offers == 1
    (row,) = run.summary["rows"]
    assert row["actual"] == 28 and row["days"] == 14 and row["ratio"] == pytest.approx(2.0)
    assert row["low"] <= row["mid"] <= row["high"]
    assert run.summary["mape"] == pytest.approx(abs(row["mid"] - 28) / 28)
    assert run.summary["by_category"]["ec"]["periods"] == 1


def test_page_queues_a_backtest_and_shows_progress_then_figures(history, client_as, django_capture_on_commit_callbacks):
    client = client_as(Role.OPS_MANAGER)
    assert client.get("/campaigns/forecasts/backtest/").status_code == 200
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/campaigns/forecasts/backtest/run/")
    run = BacktestRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/campaigns/forecasts/backtest/{run.pk}/"
    assert run.status == RunStatus.QUEUED
    progress = client.get(f"/campaigns/forecasts/backtest/{run.pk}/progress/", HTTP_HX_REQUEST="true")
    assert progress.status_code == 200 and "HX-Refresh" not in progress
    forecasts.run_backtest(run)
    done = client.get(f"/campaigns/forecasts/backtest/{run.pk}/progress/", HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"
    page = client.get("/campaigns/forecasts/backtest/")
    assert b'id="backtest-summary"' in page.content and b'data-chart="chart-backtest"' in page.content


def test_viewers_cannot_start_a_backtest(client_as):
    assert client_as(Role.VIEWER).post("/campaigns/forecasts/backtest/run/").status_code == 403
    assert not BacktestRun.objects.exists()


def test_api_queues_one_backtest_at_a_time(api_as, django_capture_on_commit_callbacks):
    api = api_as(Role.OPS_MANAGER)
    with django_capture_on_commit_callbacks(execute=False):
        first = api.post("/api/campaigns/forecasts/backtest")
        second = api.post("/api/campaigns/forecasts/backtest")
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert BacktestRun.objects.count() == 1


def test_command_line_backtest(history, capsys):
    call_command("campaigns", "backtest")
    assert "1 periods of 1 offers" in capsys.readouterr().out
    assert BacktestRun.objects.get().status == RunStatus.SUCCEEDED
