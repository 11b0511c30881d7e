"""The support demo step builds a coherent desk on a fresh database, and the analytics page shows it.

One build per test run (it takes seconds); the FAQ articles' e5 passage embeddings are replaced by a constant
vector here: computing 83 of them costs a minute on a busy CI machine and is the search area's own concern."""

import datetime as dt

import numpy as np
import pytest
from django.urls import reverse

from banso.core.choices import Role
from banso.core.demo import DemoContext, Progress
from banso.support import analytics, demo, improvements, search
from banso.support.models import (
    Article,
    Category,
    ChatSession,
    ClassifierRun,
    ImprovementRequest,
    Inquiry,
    InquiryType,
    Macro,
    SlaMeasurement,
)

TODAY = dt.date(2026, 3, 18)


@pytest.fixture
def built(db, settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(search, "embedding_bytes", lambda article: np.zeros(384, dtype=np.float32).tobytes())
    ctx = DemoContext(today=TODAY, progress=Progress(quiet=True))
    demo.build(ctx)
    return ctx


def test_demo_builds_a_coherent_desk_and_the_analytics_page_shows_it(built, client_as):
    assert 15 <= InquiryType.objects.count() <= 25
    assert 50 <= Category.objects.filter(code__startswith="svc-").count() <= 70
    assert Article.objects.filter(status="published").count() > 50
    assert 5 <= Macro.objects.count() <= 8
    assert 2_500 <= Inquiry.objects.count() <= 3_500
    assert set(Inquiry.objects.values_list("channel", flat=True)) == {"chat", "email", "form", "phone"}
    assert SlaMeasurement.objects.filter(business_minutes__isnull=False).exists()
    assert ChatSession.objects.filter(outcome="self_resolved", resolved_by_article__isnull=False).exists()
    assert ClassifierRun.objects.get(active=True).accuracy > 0.5

    # A growing type and a shipped fix that reduced another.
    period = analytics.parse_period(None, None, today=TODAY)
    assert demo.GROWING in [r["name"] for r in analytics.growth(period, limit=5)]
    effect = improvements.effect(ImprovementRequest.objects.get(status="shipped"))
    assert effect["after"]["per_1000"] < effect["before"]["per_1000"] / 2

    # The analytics page shows the demo's numbers.
    query = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    total = analytics.inquiries(period).count()
    html = client_as(Role.SUPPORT_AGENT).get(reverse("support:analytics"), query).content.decode()
    assert f'id="kpi-total">{total:,}<' in html and demo.GROWING in html

    # A second run adds nothing.
    count = Inquiry.objects.count()
    demo.build(built)
    assert Inquiry.objects.count() == count
