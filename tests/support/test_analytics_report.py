"""Inquiry analytics: volume by type, channel, category and over time; growing types; response times in
business minutes; chatbot self-resolution; drill-down links; Excel, API and command line."""

import datetime as dt
import io
import json
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from banso.core.business_hours import BusinessHours
from banso.core.choices import Role
from banso.support import analytics
from banso.support.models import ChatOutcome, ChatSession

from .factories import CategoryFactory, InquiryFactory, InquiryTypeFactory

TOKYO = ZoneInfo("Asia/Tokyo")
PERIOD = analytics.Period(dt.date(2026, 3, 2), dt.date(2026, 3, 29), "week")  # four whole weeks


def at(day, hour=10, minute=0):
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=TOKYO)


@pytest.fixture
def desk_data(db):
    refund, login = InquiryTypeFactory(name="返金"), InquiryTypeFactory(name="ログイン")
    cleaning = CategoryFactory(name="ハウスクリーニング", path="ハウスクリーニング")
    # Refunds grow: 2 in the previous period, 8 now.
    for day in (3, 10):
        InquiryFactory(inquiry_type=refund, created_at=at(day) - dt.timedelta(days=28))
    for i in range(8):
        InquiryFactory(
            inquiry_type=refund,
            channel="email",
            category=cleaning,
            created_at=at(2 + i),
            first_responded_at=at(2 + i) + dt.timedelta(hours=1),
        )
    for i in range(3):
        InquiryFactory(inquiry_type=login, channel="chat", created_at=at(16 + i))
    InquiryFactory(channel="chat", created_at=at(20))  # not classified
    InquiryFactory(channel="chat", created_at=at(31))  # after the period
    return {"refund": refund, "login": login, "cleaning": cleaning}


def test_volume_by_type_channel_category_and_week(desk_data):
    vol = analytics.volume(PERIOD)
    assert vol["total"] == 12
    assert [(r["name"], r["count"]) for r in vol["by_type"]][:2] == [("返金", 8), ("ログイン", 3)]
    assert {r["key"]: r["count"] for r in vol["by_channel"]} == {"email": 8, "chat": 4}
    assert vol["by_category"][0]["count"] == 8
    assert [r["count"] for r in vol["timeline"]] == [7, 1, 4, 0]


def test_drill_down_links_carry_the_inbox_filters(desk_data):
    vol = analytics.volume(PERIOD)
    link = vol["by_type"][0]["link"]
    assert f"type={desk_data['refund'].pk}" in link and "from=2026-03-02" in link and "to=2026-03-29" in link
    assert "channel=email" in vol["by_channel"][0]["link"]
    assert f"category={desk_data['cleaning'].pk}" in vol["by_category"][0]["link"]
    assert "from=2026-03-09&to=2026-03-15" in vol["timeline"][1]["link"]
    # The inbox filters by ids: unclassified inquiries get no link rather than a filter it would refuse.
    assert next(r for r in vol["by_type"] if r["id"] is None)["link"] is None


def test_growing_types_compare_with_the_previous_equal_period(desk_data):
    rows = analytics.growth(PERIOD, min_count=3)
    assert rows[0]["name"] == "返金" and (rows[0]["count"], rows[0]["previous"], rows[0]["change"]) == (8, 2, 6)
    assert rows[0]["growth"] == 3.0
    assert [r["name"] for r in rows] == ["返金", "ログイン"]  # ログイン is new (no previous)
    assert analytics.growth(PERIOD, min_count=5)[0]["name"] == "返金" and len(analytics.growth(PERIOD, 5)) == 1


def test_first_response_in_business_minutes(desk_data):
    times = analytics.response_times(PERIOD)
    email = next(r for r in times["by_channel"] if r["key"] == "email")
    assert email["first"]["count"] == 8
    # Most replies came an hour later inside business hours; those on the weekend count 0 minutes.
    assert email["first"]["median"] == 60


def test_business_clock_agrees_with_business_hours(db):
    rng = np.random.default_rng(4)
    base = dt.datetime(2026, 4, 20, tzinfo=TOKYO)  # Golden Week ahead: holidays in the span
    starts = [base + dt.timedelta(minutes=int(m)) for m in rng.integers(0, 60 * 24 * 20, 200)]
    ends = [s + dt.timedelta(minutes=int(m)) for s, m in zip(starts, rng.integers(0, 60 * 24 * 9, 200), strict=True)]
    clock = analytics.BusinessClock(dt.date(2026, 4, 19), dt.date(2026, 5, 31))
    got = clock.minutes(np.array([s.timestamp() for s in starts]), np.array([e.timestamp() for e in ends]))
    hours = BusinessHours()
    want = [hours.minutes_between(s, e) for s, e in zip(starts, ends, strict=True)]
    assert got.astype(int).tolist() == want


def test_self_resolution_rate_over_time_and_per_article(db):
    from banso.support.models import Article

    article = Article.objects.create(slug="refund", title="返金について", body="…", status="published")
    for i, outcome in enumerate(["self_resolved", "self_resolved", "handed_off", "abandoned", "open"]):
        ChatSession.objects.create(
            outcome=outcome,
            started_at=at(3 + i),
            resolved_by_article=article if outcome == ChatOutcome.SELF_RESOLVED else None,
        )
    bot = analytics.self_resolution(PERIOD)
    assert (bot["ended"], bot["resolved"], bot["rate"]) == (4, 2, 0.5)
    assert bot["per_article"][0]["title"] == "返金について" and bot["per_article"][0]["resolved"] == 2


def test_bad_period_names_the_field(db):
    from banso.support.desk import DeskError

    with pytest.raises(DeskError) as error:
        analytics.parse_period("2026-13-01", None)
    assert error.value.field == "from"
    with pytest.raises(DeskError) as error:
        analytics.parse_period("2026-03-10", "2026-03-01")
    assert error.value.field == "from"


def test_page_shows_the_numbers_with_links(desk_data, client_as):
    response = client_as(Role.SUPPORT_AGENT).get(
        reverse("support:analytics"), {"from": "2026-03-02", "to": "2026-03-29", "grain": "week"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="kpi-total">12<' in html and "返金" in html
    assert f"type={desk_data['refund'].pk}&amp;from=2026-03-02&amp;to=2026-03-29" in html


def test_excel_export_reads_back(desk_data, client_as):
    response = client_as(Role.CSM).get(reverse("support:analytics_export"), {"from": "2026-03-02", "to": "2026-03-29"})
    book = load_workbook(io.BytesIO(response.content))
    rows = list(book.worksheets[2].iter_rows(values_only=True))
    assert rows[1][:2] == ("返金", 8)


def test_api_report(desk_data, api_as):
    client = api_as(Role.CSM)
    data = client.get("/api/support/analytics/report?from=2026-03-02&to=2026-03-29&grain=month").json()
    assert data["volume"]["total"] == 12 and data["period"]["grain"] == "month"
    bad = client.get("/api/support/analytics/report?grain=year")
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "grain"


def test_cli_writes_the_workbook(desk_data, tmp_path, capsys):
    path = tmp_path / "a.xlsx"
    call_command("support", "analytics", "--from", "2026-03-02", "--to", "2026-03-29", "--xlsx", str(path))
    assert "12" in capsys.readouterr().out
    assert load_workbook(path).sheetnames[0]
    call_command("support", "analytics", "--from", "2026-03-02", "--to", "2026-03-29", "--json")
    assert json.loads(capsys.readouterr().out)["volume"]["total"] == 12
