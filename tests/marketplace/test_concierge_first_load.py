"""Opening the concierge from an inquiry whose text does not name everything a search needs: the form shows what it
could read and no errors (nothing was submitted yet); the agent's submit is what validates."""

import datetime as dt

import pytest
from django.urls import reverse

from banso.core.choices import Role

from ..support.factories import InquiryFactory
from .factories import ProviderFactory, tokyo

pytestmark = pytest.mark.django_db

# A day and a number of guests, but no category or area any provider serves.
TEXT = "１２月５日に２名でお願いしたいのですが、どんなサービスがありますか。"


@pytest.fixture
def inquiry():
    ProviderFactory(services=[("エアコンクリーニング", "東京都渋谷区")])
    return InquiryFactory(created_at=tokyo(2026, 11, 20, 10), first_message=TEXT, subject="予約の相談")


def test_first_load_shows_what_the_inquiry_says_without_errors(client_as, inquiry):
    response = client_as(Role.SUPPORT_AGENT).get(reverse("marketplace:concierge"), {"inquiry": inquiry.number})
    assert response.status_code == 200
    form = response.context["form"]
    assert not form.is_bound
    assert form.initial["date"] == dt.date(2026, 12, 5)
    assert form.initial["guests"] == 2
    assert response.context["candidates"] is None
    html = response.content.decode()
    assert "必須です" not in html  # Django's "このフィールドは…" or the project's "この項目は必須です。"
    assert 'class="error"' not in html and "errorlist" not in html
    assert 'name="date" value="2026-12-05"' in html
    assert 'name="guests" value="2"' in html
    assert f'name="inquiry" value="{inquiry.number}"' in html
    assert "残りを選んで検索してください" in html


def test_submitting_without_the_rest_names_the_missing_fields(client_as, inquiry):
    response = client_as(Role.SUPPORT_AGENT).get(
        reverse("marketplace:concierge"),
        {"inquiry": inquiry.number, "category": "", "area": "", "date": "2026-12-05", "guests": "2"},
    )
    form = response.context["form"]
    assert form.is_bound
    assert set(form.errors) == {"category", "area"}
    assert response.content.decode().count("この項目は必須です") == 2
