"""The concierge from an inquiry: the request is read from the customer's text, providers are ranked, and
handing one over replies on the inquiry (through the support desk) with its booking link, audited."""

import datetime as dt

import pytest
from django.urls import reverse

from banso.core.choices import Role
from banso.core.models import AuditEntry
from banso.marketplace import concierge, gateway
from banso.support.models import AuthorKind, Message

from ..support.factories import InquiryFactory
from .factories import ProviderFactory, tokyo

pytestmark = pytest.mark.django_db

CAT, AREA = "エアコンクリーニング", "東京都渋谷区"
TEXT = "１２月５日に渋谷区でエアコンクリーニングをお願いできますか。２名で立ち会います。"


@pytest.fixture
def inquiry():
    return InquiryFactory(created_at=tokyo(2026, 11, 20, 10), first_message=TEXT, subject="エアコン掃除の予約")


@pytest.fixture
def provider():
    return ProviderFactory(
        services=[(CAT, AREA)], booking_url="https://market.example.jp/book/aircon?c={category}&d={date}"
    )


def test_the_page_reads_the_request_from_the_inquiry_and_ranks_providers(client_as, inquiry, provider):
    ProviderFactory(services=[(CAT, "東京都新宿区")])
    response = client_as(Role.SUPPORT_AGENT).get(reverse("marketplace:concierge"), {"inquiry": inquiry.number})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.cleaned_data["category"] == CAT
    assert form.cleaned_data["area"] == AREA
    assert form.cleaned_data["date"] == dt.date(2026, 12, 5)
    assert form.cleaned_data["guests"] == 2
    assert [c.provider_id for c in response.context["candidates"]] == [provider.pk]
    html = response.content.decode()
    assert reverse("marketplace:concierge_handover") in html
    assert "https://market.example.jp/book/aircon?c=" in html


def test_handing_over_replies_on_the_inquiry_with_the_link_and_audits_it(client_as, inquiry, provider):
    client = client_as(Role.SUPPORT_AGENT)
    response = client.post(
        reverse("marketplace:concierge_handover"),
        {"inquiry": inquiry.number, "provider": provider.pk, "category": CAT, "date": "2026-12-05"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("support:inquiry", args=[inquiry.number])
    reply = Message.objects.get(inquiry=inquiry, author_kind=AuthorKind.AGENT)
    link = f"https://market.example.jp/book/aircon?c={CAT}&d=2026-12-05"
    assert provider.account.name in reply.body and link in reply.body
    assert not reply.internal
    audit = AuditEntry.objects.get(object_type="marketplace.provider", object_id=str(provider.pk))
    assert audit.account_id == provider.pk
    assert audit.changes["concierge_handover"][1] == {
        "inquiry": inquiry.number,
        "category": CAT,
        "day": "2026-12-05",
        "link": link,
    }


def test_handover_reads_category_and_day_from_the_inquiry_when_not_given(api_as, inquiry, provider):
    api = api_as(Role.CSM)
    response = api.post(
        "/api/marketplace/concierge/handover",
        {"inquiry": inquiry.number, "provider": provider.pk},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["booking_url"].endswith("d=2026-12-05")
    assert Message.objects.filter(inquiry=inquiry, author_kind=AuthorKind.AGENT, body__contains="d=2026-12-05").exists()


def test_handover_of_a_provider_on_hold_is_refused_and_nothing_is_sent(api_as, inquiry, provider):
    provider.status = "on_hold"
    provider.save()
    response = api_as(Role.SUPPORT_AGENT).post(
        "/api/marketplace/concierge/handover",
        {"inquiry": inquiry.number, "provider": provider.pk, "category": CAT, "date": "2026-12-05"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "provider"
    assert not Message.objects.filter(inquiry=inquiry, author_kind=AuthorKind.AGENT).exists()
    assert not AuditEntry.objects.filter(object_type="marketplace.provider").exists()


def test_handover_to_an_unknown_inquiry_names_the_inquiry(api_as, provider):
    response = api_as(Role.SUPPORT_AGENT).post(
        "/api/marketplace/concierge/handover",
        {"inquiry": 999999, "provider": provider.pk},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "inquiry"


def test_without_a_gateway_the_search_still_works_and_shows_the_link(client_as, provider, inquiry):
    saved = gateway.inquiries()
    gateway.register(None)
    try:
        response = client_as(Role.CSM).get(
            reverse("marketplace:concierge"), {"category": CAT, "area": AREA, "date": "2026-12-05", "guests": "1"}
        )
        with pytest.raises(concierge.ConciergeError) as refused:
            concierge.hand_over(inquiry.number, provider.pk, _agent())
    finally:
        gateway.register(saved)
    assert response.status_code == 200
    assert [c.provider_id for c in response.context["candidates"]] == [provider.pk]
    assert "market.example.jp/book/aircon" in response.content.decode()
    assert reverse("marketplace:concierge_handover") not in response.content.decode()
    assert refused.value.field == "inquiry"


def _agent():
    from ..support.factories import AgentFactory

    return AgentFactory()


def test_search_api_answers_ranked_candidates_and_names_bad_fields(api_as, provider):
    api = api_as(Role.SUPPORT_AGENT)
    ok = api.get("/api/marketplace/concierge/search", {"category": CAT, "area": AREA, "date": "2026-12-05"})
    assert ok.status_code == 200
    assert [c["provider_id"] for c in ok.json()] == [provider.pk]
    bad = api.get("/api/marketplace/concierge/search", {"category": CAT, "area": AREA, "date": "12/5"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "date"
    missing = api.get("/api/marketplace/concierge/search", {"category": CAT, "date": "2026-12-05"})
    assert missing.status_code == 422 and missing.json()["detail"][0]["field"] == "area"


def test_the_concierge_needs_the_marketplace_work_capability(client_as, api_as):
    assert client_as(Role.VIEWER).get(reverse("marketplace:concierge")).status_code == 403
    assert client_as(Role.ASSISTANT).post(reverse("marketplace:concierge_handover")).status_code == 403
    assert api_as(Role.VIEWER).get("/api/marketplace/concierge/search").status_code == 403


def test_find_command_prints_ranked_providers(provider):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("marketplace", "find", "--category", CAT, "--area", AREA, "--date", "2026-12-05", stdout=out)
    assert provider.account.name in out.getvalue()
    assert "https://market.example.jp/book/aircon" in out.getvalue()
