"""A segment's page: its rules in words, current members (paged, linked to the Account 360), and the
history of who entered and who left, which a refresh records."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from banso.activity import lake
from banso.analytics import services
from banso.analytics.models import SegmentMembership
from banso.core.choices import Role
from tests.activity.factories import AccountFactory, EndUserFactory

from .factories import SegmentFactory, add_events, at, logins

pytestmark = pytest.mark.django_db

ACTIVE = {"match": "all", "rules": [{"type": "metric", "metric": "logins_30d", "op": "gte", "value": 2}]}


def test_refresh_now_records_who_entered_and_who_left(client_as):
    today = timezone.localdate()
    stays, goes, arrives = (
        AccountFactory(name="ずっと株式会社"),
        AccountFactory(name="去る株式会社"),
        AccountFactory(name="来る株式会社"),
    )
    logins(stays, today, [1, 2])
    logins(goes, today, [1, 2])
    lake.sync()
    segment = SegmentFactory(rules=ACTIVE)
    client = client_as(Role.OPS_MANAGER)
    page = client.post(reverse("analytics:segment_refresh", args=[segment.pk]), follow=True).content.decode()
    assert "更新しました：メンバー 2件（加入 2件、離脱 0件）。" in page

    # A month later `goes` has stopped logging in and `arrives` has started.
    SegmentMembership.objects.update(entered_at=timezone.now() - dt.timedelta(days=30))
    future = today + dt.timedelta(days=30)
    logins(stays, future, [0, 1])
    logins(arrives, future, [0, 2])
    lake.sync()
    assert services.refresh_segment(segment, as_of=future) == (1, 1)

    page = client.get(reverse("analytics:segment", args=[segment.pk])).content.decode()
    members = page[page.index("現在のメンバー") : page.index("メンバーの履歴")]
    history = page[page.index("メンバーの履歴") :]
    assert "ずっと株式会社" in members and "来る株式会社" in members and "去る株式会社" not in members
    assert f'href="{reverse("accounts:detail", args=[stays.pk])}"' in members
    # Newest first: the exit of `goes` comes before the first entries.
    assert (
        history.index(">加入<")
        < history.index("来る株式会社")
        < history.index(">離脱<")
        < history.index("去る株式会社")
    )
    assert history.count(">加入<") == 3 and history.count(">離脱<") == 1


def test_members_are_paged(client_as):
    segment = SegmentFactory()
    accounts = [AccountFactory() for _ in range(55)]
    SegmentMembership.objects.bulk_create(
        SegmentMembership(segment=segment, subject_id=a.pk, entered_at=timezone.now()) for a in accounts
    )
    client = client_as(Role.VIEWER)
    first = client.get(reverse("analytics:segment", args=[segment.pk])).content.decode()
    assert (
        "1 / 2 ページ" in first
        and accounts[0].name in first
        and accounts[-1].name not in first.split("メンバーの履歴")[0]
    )
    second = client.get(reverse("analytics:segment", args=[segment.pk]), {"page": 2}).content.decode()
    assert accounts[-1].name in second.split("メンバーの履歴")[0]


def test_end_user_members_show_name_or_external_id_and_a_deleted_one_is_marked(client_as):
    account = AccountFactory()
    named, unnamed = EndUserFactory(name="山田 花子", account=account), EndUserFactory(name="", external_id="M-42")
    segment = SegmentFactory(
        subject_type="end_user",
        rules={"match": "all", "rules": [{"type": "metric", "metric": "eu_visits_7d", "op": "gte", "value": 1}]},
    )
    for pk in (named.pk, unnamed.pk, 999_999):
        SegmentMembership.objects.create(segment=segment, subject_id=pk, entered_at=timezone.now())
    page = client_as(Role.SUPPORT_AGENT).get(reverse("analytics:segment", args=[segment.pk])).content.decode()
    assert "山田 花子" in page and "M-42" in page and "#999999（削除済み）" in page
    assert f'href="{reverse("accounts:detail", args=[account.pk])}"' in page
    assert "訪問数（直近7日） が 1 以上" in page


def test_a_refresh_of_end_users_finds_visitors(client_as):
    today = timezone.localdate()
    merchant = AccountFactory()
    visitor = EndUserFactory()
    add_events((merchant, "visit", at(today)), end_user=visitor)
    lake.sync()
    segment = SegmentFactory(
        subject_type="end_user",
        rules={"match": "all", "rules": [{"type": "metric", "metric": "eu_visits_7d", "op": "gte", "value": 1}]},
    )
    client_as(Role.ADMIN).post(reverse("analytics:segment_refresh", args=[segment.pk]))
    assert list(segment.memberships.values_list("subject_id", flat=True)) == [visitor.pk]


def test_a_segment_whose_metric_was_switched_off_is_not_refreshed_but_explained(client_as):
    from .factories import MetricDefinitionFactory

    metric = MetricDefinitionFactory(key="exports_7d", is_active=False)
    segment = SegmentFactory(
        rules={"match": "all", "rules": [{"type": "metric", "metric": metric.key, "op": "gte", "value": 1}]}
    )
    page = client_as(Role.ADMIN).post(reverse("analytics:segment_refresh", args=[segment.pk]), follow=True)
    assert "このメンバーの種類には「exports_7d」という指標はありません。" in page.content.decode()
    segment.refresh_from_db()
    assert segment.refreshed_at is None


@pytest.mark.parametrize("role", [Role.CSM, Role.SUPPORT_AGENT, Role.VIEWER])
def test_only_managers_refresh(client_as, role):
    segment = SegmentFactory()
    client = client_as(role)
    assert client.post(reverse("analytics:segment_refresh", args=[segment.pk])).status_code == 403
    page = client.get(reverse("analytics:segment", args=[segment.pk])).content.decode()
    assert "今すぐ更新" not in page and '<h2 id="rules-h">ルール</h2>' in page
