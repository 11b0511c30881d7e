"""The metrics card on the Account 360: the account's current values with their names, and its segments."""

import pytest
from django.urls import reverse
from django.utils import timezone

from banso.analytics import services
from banso.core.choices import Role
from tests.activity.factories import AccountFactory

from ..accounts.factories import ContactFactory
from .factories import MetricDefinitionFactory, SegmentFactory, add_events, at, logins

pytestmark = pytest.mark.django_db


def test_the_account_360_shows_current_metric_values_and_segments(client_as):
    today = timezone.localdate()
    account = AccountFactory()
    logins(account, today, [0, 1, 2])
    add_events((account, "report_export", at(today)))
    MetricDefinitionFactory(
        key="exports_7d",
        label="週次レポート出力",
        spec={"aggregate": "count", "kinds": ["report_export"], "window": {"days": 7}},
    )
    segment = SegmentFactory(name="よく使う顧客")
    other = SegmentFactory(name="関係ないセグメント", rules={"match": "all", "rules": [
        {"type": "metric", "metric": "logins_30d", "op": "gte", "value": 100}]})  # fmt: skip
    services.recompute_now(today)
    page = client_as(Role.CSM).get(reverse("accounts:detail", args=[account.pk])).content.decode()
    card = page[page.index('class="card analytics-card"') : page.index("timeline-card")]
    assert "<h2" in card and "指標</h2>" in card
    assert 'ログイン数（直近30日）</span><strong class="num">3</strong>' in card
    assert '最終ログインからの日数</span><strong class="num">0</strong>' in card
    assert '週次レポート出力</span><strong class="num">1</strong>' in card  # a custom metric, by its name
    assert "予約数" not in card  # never had a value for this account: not listed
    assert f"{today:%Y-%m-%d}時点" in card
    assert "よく使う顧客" in card and reverse("analytics:segment", args=[segment.pk]) in card
    assert other.name not in card


def test_an_account_without_values_says_so(client_as):
    account = AccountFactory()
    page = client_as(Role.VIEWER).get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert "この顧客の指標はまだありません。" in page and "所属しているセグメントはありません。" in page


def test_the_card_costs_two_queries(client_as, django_assert_num_queries):
    today = timezone.localdate()
    account = AccountFactory()
    logins(account, today, [0])
    SegmentFactory(
        rules={"match": "all", "rules": [{"type": "metric", "metric": "logins_30d", "op": "gte", "value": 1}]}
    )
    services.recompute_now(today)
    ContactFactory(account=account)
    client = client_as(Role.CSM)
    client.get(reverse("accounts:detail", args=[account.pk]))  # warm the session
    from banso.analytics.panels import account_card

    with django_assert_num_queries(2):
        card = account_card(account)
    assert card["segments"] and card["metrics"]
