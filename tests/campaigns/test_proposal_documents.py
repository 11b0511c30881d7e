"""The proposal for a saved forecast, read back: the PDF's Japanese text and the workbook's sheets and
numbers carry the forecast's own figures."""

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from banso.campaigns import forecasts
from banso.campaigns.models import BacktestRun, RewardType
from banso.core.models import RunStatus
from banso.core.permissions import Role

from .factories import OfferFactory
from .factories_forecasts import add_conversions, add_visits

pytestmark = pytest.mark.django_db


def _plain(text: str) -> str:
    """pypdf puts spaces (or NULs) between CJK glyphs of the embedded subset: drop them before comparing."""
    return re.sub(r"[\s\x00]+", "", text)


@pytest.fixture
def forecast():
    today = timezone.localdate()
    offer = OfferFactory(advertiser__name="旅行サイト株式会社", name="旅行サイト 宿泊予約")
    add_visits(offer.advertiser, today - dt.timedelta(days=60), 60, users=20)
    add_conversions(offer, today - dt.timedelta(days=40), 40, per_day=1, order_amount=20_000)
    BacktestRun.objects.create(
        as_of=today,
        status=RunStatus.SUCCEEDED,
        finished_at=timezone.now(),
        summary={"periods": 12, "mape": 0.123, "median_ape": 0.1, "coverage": 0.75, "bias": 0.01, "by_category": {}},
    )
    start = today + dt.timedelta(days=3)
    proposal = forecasts.Proposal(
        offer=offer,
        start=start,
        end=start + dt.timedelta(days=9),
        reward_type=RewardType.RATE,
        rate=Decimal("8.00"),
        promotions=("push", "feature"),
    )
    return forecasts.create(proposal, None)


def test_pdf_carries_the_proposal_and_its_figures(forecast, client_as):
    response = client_as(Role.CSM).get(f"/campaigns/forecasts/{forecast.pk}/proposal.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = _plain("".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages))
    assert "特別単価のご提案" in text
    assert "旅行サイト株式会社御中" in text
    assert "購入金額の8.00%" in text and "購入金額の5.00%" in text
    acquisitions = forecast.result["acquisitions"]
    assert f"{acquisitions['low']:,}件" in text and f"{acquisitions['high']:,}件" in text
    assert f"¥{forecast.result['reward_cost']['mid']:,}" in text
    for name in ("プッシュ通知", "トップバナー", "特集記事", "メルマガ"):
        assert name in text
    month = forecast.result["monthly"][-1]
    assert month["month"] in text
    assert "12.3%" in text  # the latest backtest's MAPE


def test_xlsx_has_the_four_sheets_with_numbers(forecast, api_as):
    response = api_as(Role.VIEWER).get(f"/api/campaigns/forecasts/{forecast.pk}/proposal.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["予測", "過去実績", "特別単価履歴", "プロモーションメニュー"]
    facts = {row[0].value: row[1] for row in book["予測"].iter_rows()}
    assert facts["獲得件数 中央値"].value == forecast.result["acquisitions"]["mid"]
    assert facts["成果報酬額 上限"].value == forecast.result["reward_cost"]["high"]
    assert facts["成果報酬額 上限"].number_format == "#,##0"
    past = list(book["過去実績"].iter_rows(min_row=2, values_only=True))
    assert sum(row[1] for row in past) == 40  # every conversion of the last 12 months
    assert all(isinstance(row[5], int) for row in past)
    menu = list(book["プロモーションメニュー"].iter_rows(min_row=2, values_only=True))
    assert [(row[0] or "", row[1]) for row in menu] == [
        ("○", "プッシュ通知"),
        ("", "トップバナー"),
        ("○", "特集記事"),
        ("", "メルマガ"),
    ]
