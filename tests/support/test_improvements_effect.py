"""Improvement requests: raised from inquiries, moved through their statuses (audited), and once shipped the
weekly volume of their inquiry types before and after (absolute and per 1,000 inquiries)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from banso.core.choices import Role
from banso.core.models import AuditEntry
from banso.support import improvements
from banso.support.desk import DeskError
from banso.support.models import ImprovementRequest

from .factories import InquiryFactory, InquiryTypeFactory

TOKYO = ZoneInfo("Asia/Tokyo")
SHIPPED = dt.datetime(2026, 3, 2, 12, tzinfo=TOKYO)  # a Monday


@pytest.fixture
def shipped(db):
    login, other = InquiryTypeFactory(name="ログインできない"), InquiryTypeFactory(name="その他")
    for week in range(-4, 4):
        monday = SHIPPED + dt.timedelta(weeks=week)
        for i in range(10 if week < 0 else 2):  # 10 a week before, 2 a week after
            InquiryFactory(inquiry_type=login, created_at=monday + dt.timedelta(hours=i))
        for i in range(10):
            InquiryFactory(inquiry_type=other, created_at=monday + dt.timedelta(hours=i))
    request = improvements.create_request(title="二段階認証の改善", types=[login])
    for status in ("accepted", "in_progress"):
        improvements.set_status(request, status)
    improvements.set_status(request, "shipped", at=SHIPPED)
    return request


def test_effect_compares_weeks_before_and_after_shipping(shipped):
    effect = improvements.effect(shipped, weeks=4)
    assert [r["count"] for r in effect["rows"]] == [10, 10, 10, 10, 2, 2, 2, 2]
    assert effect["before"]["per_week"] == 10 and effect["after"]["per_week"] == 2
    assert effect["before"]["per_1000"] == 500 and effect["after"]["per_1000"] == pytest.approx(1000 * 2 / 12)
    assert effect["change_per_1000"] == pytest.approx((2 / 12) / 0.5 - 1)


def test_status_changes_follow_the_flow_and_are_audited(shipped):
    assert shipped.shipped_at == SHIPPED
    entries = AuditEntry.objects.filter(object_type="support.improvementrequest", object_id=str(shipped.pk))
    assert entries.count() == 4  # created + three moves
    with pytest.raises(DeskError) as error:
        improvements.set_status(shipped, "proposed")
    assert error.value.field == "status"


def test_not_shipped_has_no_effect_yet(db):
    request = improvements.create_request(title="FAQ追加", target="content", types=[InquiryTypeFactory()])
    assert improvements.effect(request) is None


def test_agent_adds_an_inquiry_from_the_conversation(db, client_as):
    t = InquiryTypeFactory(name="返金")
    inquiry = InquiryFactory(inquiry_type=t)
    request = improvements.create_request(title="返金ルールの明確化", target="rules")
    client = client_as(Role.SUPPORT_AGENT)
    url = reverse("support:improvement_link", args=[inquiry.pk])
    assert "返金ルールの明確化" in client.get(url).content.decode()
    response = client.post(url, {"request": request.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert list(request.inquiries.all()) == [inquiry] and list(request.inquiry_types.all()) == [t]
    client.post(url, {"new_title": "新しい改善"})
    assert ImprovementRequest.objects.get(title="新しい改善").inquiries.get() == inquiry


def test_pages_list_and_show_the_effect(shipped, client_as):
    client = client_as(Role.CSM)
    assert "二段階認証の改善" in client.get(reverse("support:improvements")).content.decode()
    html = client.get(reverse("support:improvement", args=[shipped.pk]), {"weeks": 4}).content.decode()
    assert 'id="effect-weeks"' in html and "ログインできない" in html


def test_only_managers_move_the_status(shipped, client_as):
    url = reverse("support:improvement_status", args=[shipped.pk])
    assert client_as(Role.SUPPORT_AGENT).post(url, {"status": "in_progress"}).status_code == 403
    client_as(Role.OPS_MANAGER).post(url, {"status": "in_progress"})
    shipped.refresh_from_db()
    assert shipped.status == "in_progress" and shipped.shipped_at is None


def test_api_create_link_and_effect(shipped, api_as):
    client = api_as(Role.SUPPORT_AGENT)
    t = InquiryTypeFactory()
    inquiry = InquiryFactory(inquiry_type=t)
    created = client.post(
        "/api/support/analytics/improvements",
        {"title": "予約画面の改善", "type_ids": [t.pk], "inquiry_ids": [inquiry.pk]},
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["inquiry_count"] == 1
    bad = client.post("/api/support/analytics/improvements", {"title": " "}, content_type="application/json")
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "title"
    detail = client.get(f"/api/support/analytics/improvements/{shipped.pk}").json()
    assert detail["effect"]["before"]["count"] == 40
