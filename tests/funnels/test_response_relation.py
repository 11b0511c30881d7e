import datetime as dt
import math

import pytest
from django.urls import reverse

from banso.core.choices import Role
from banso.core.models import User
from banso.funnels import responses
from banso.funnels.models import ApplicantResponse
from tests.accounts.factories import AccountFactory

from .factories import FunnelFactory, applicant, at

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 10, 6)


def make(funnel, account, n, minutes, reached, day=DAY):
    """`n` applicants on `day`, answered after `minutes` business minutes (None: never), `reached` of them
    reaching the next stage."""
    for i in range(n):
        contact = None if minutes is None else at(day, 11)
        ApplicantResponse.objects.create(
            funnel=funnel,
            account=account,
            end_user=applicant(account),
            applied_at=at(day, 10),
            first_contact_at=contact,
            response_minutes=minutes,
            next_stage_at=at(day + dt.timedelta(days=2), 14) if i < reached else None,
        )


def test_wilson_interval_by_hand():
    low, high = responses.wilson(6, 10)
    # p = 0.6, n = 10, z = 1.96: centre (0.6 + 0.19207) / 1.38415 = 0.57225, half 0.25957.
    assert low == pytest.approx(0.31267, abs=1e-4)
    assert high == pytest.approx(0.83182, abs=1e-4)
    assert responses.wilson(0, 5)[0] == 0.0
    assert responses.wilson(0, 0) == (None, None)


def test_buckets_count_applicants_and_rates():
    funnel = FunnelFactory()
    client = AccountFactory()
    make(funnel, client, 10, 15, 6)  # ≤ 15 min (15 is inside)
    make(funnel, client, 4, 16, 1)  # 15–60
    make(funnel, client, 2, 240, 0)  # 1–4 h
    make(funnel, client, 3, 480, 1)  # 4 h – 1 business day (8 h)
    make(funnel, client, 5, 481, 0)  # > 1 business day
    make(funnel, client, 5, None, 0)  # never contacted
    make(funnel, client, 7, 5, 7, day=DAY - dt.timedelta(days=40))  # before the period
    result = responses.relation(funnel, DAY - dt.timedelta(days=7), DAY)
    table = [(b.key, b.applicants, b.reached) for b in result.buckets]
    assert table == [("15m", 10, 6), ("1h", 4, 1), ("4h", 2, 0), ("1d", 3, 1), ("more", 5, 0), ("never", 5, 0)]
    assert result.buckets[0].rate == 0.6
    assert result.buckets[0].interval[0] == pytest.approx(0.31267, abs=1e-4)
    assert result.regression.too_small  # 24 contacted applicants


def test_odds_ratio_per_doubling_matches_the_two_by_two_table():
    # x = log1p(minutes) is 0 or ln 2: the slope times ln 2 is the table's log odds ratio, and its Wald
    # standard error sqrt(1/a + 1/b + 1/c + 1/d).
    funnel = FunnelFactory()
    client = AccountFactory()
    make(funnel, client, 30, 0, 20)
    make(funnel, client, 30, 1, 10)
    reg = responses.relation(funnel, DAY, DAY).regression
    assert not reg.too_small and reg.n == 60
    odds = (10 / 20) / (20 / 10)
    se = math.sqrt(1 / 20 + 1 / 10 + 1 / 10 + 1 / 20)
    assert reg.odds_ratio == pytest.approx(odds, rel=1e-3)
    assert reg.low == pytest.approx(odds * math.exp(-1.959964 * se), rel=1e-3)
    assert reg.high == pytest.approx(odds * math.exp(1.959964 * se), rel=1e-3)


def test_attainment_per_client_and_csm_per_month():
    funnel = FunnelFactory()
    csm = User.objects.create(username="csm-a", display_name="佐藤", role=Role.CSM)
    a = AccountFactory(name="A社", owner=csm)
    b = AccountFactory(name="B社", owner=csm)
    make(funnel, a, 3, 10, 0)  # within 15
    make(funnel, a, 1, 30, 0)
    make(funnel, b, 2, None, 0)
    make(funnel, b, 2, 15, 0, day=dt.date(2026, 11, 4))
    result = responses.relation(funnel, dt.date(2026, 10, 1), dt.date(2026, 11, 30))
    clients = [(line["month"], line["name"], line["applicants"], line["within"]) for line in result.attainment_clients]
    assert clients == [
        (dt.date(2026, 10, 1), "A社", 4, 3),
        (dt.date(2026, 10, 1), "B社", 2, 0),
        (dt.date(2026, 11, 1), "B社", 2, 2),
    ]
    people = [(line["month"], line["name"], line["applicants"], line["within"]) for line in result.attainment_people]
    assert people == [(dt.date(2026, 10, 1), "佐藤", 6, 3), (dt.date(2026, 11, 1), "佐藤", 2, 2)]
    assert result.attainment_people[0]["rate"] == 0.5


def test_relation_page_and_api(client_as, api_as):
    funnel = FunnelFactory()
    make(funnel, AccountFactory(), 10, 15, 6)
    page = client_as(Role.VIEWER).get(
        reverse("funnels:response_relation"), {"since": "2026-10-01", "until": "2026-10-31"}
    )
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-bucket="15m"' in body and 'data-chart="chart-response-relation"' in body
    answer = api_as(Role.VIEWER).get("/api/funnels/responses/relation", {"since": "2026-10-01", "until": "2026-10-31"})
    assert answer.status_code == 200
    data = answer.json()
    first = data["buckets"][0]
    assert (first["applicants"], first["reached"], first["rate"]) == (10, 6, 0.6)
    assert first["low"] == pytest.approx(0.31267, abs=1e-4)
    assert data["regression"]["too_small"] is True
    refused = api_as(Role.VIEWER).get("/api/funnels/responses/relation", {"since": "2026-11-01", "until": "2026-10-01"})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["field"] == "since"
    assert client_as(Role.MERCHANT_USER).get(reverse("funnels:response_relation")).status_code == 403
