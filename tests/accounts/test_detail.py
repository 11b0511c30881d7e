import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from banso.accounts.choices import ContractStatus
from banso.activity.models import Event
from banso.core.choices import Role

from ..core.factories import UserFactory
from .factories import AccountFactory, ContactFactory, ContractFactory

pytestmark = pytest.mark.django_db


def test_account_360_shows_profile_contacts_contracts_and_timeline(client_as):
    owner = UserFactory(role=Role.CSM, display_name="佐藤 花子")
    account = AccountFactory(
        name="株式会社みらい", name_kana="みらい", owner=owner, mrr=80000, attributes={"業種コード": "IT-01"}
    )
    left = ContactFactory(account=account, name="旧担当 一郎", left_on=datetime.date(2025, 3, 31))
    new = ContactFactory(account=account, name="新担当 二郎", is_primary=True)
    left.successor = new
    left.save()
    ContractFactory(account=account, plan="プロ", mrr=80000, renewal_date=datetime.date(2026, 4, 1))
    Event.objects.create(source="app", external_id="e1", account=account, kind="login", occurred_at=timezone.now())

    response = client_as(Role.VIEWER).get(reverse("accounts:detail", args=[account.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    for text in (
        "株式会社みらい",
        "佐藤 花子",
        "業種コード",
        "IT-01",
        "旧担当 一郎",
        "新担当 二郎",
        "プロ",
        "¥80,000",
        "ログイン",  # the event kind "login", by its Japanese name
    ):
        assert text in html, text
    # The successor chain is shown next to the person who left.
    assert "→ 新担当 二郎" in html


def test_unknown_account_is_404(client_as):
    assert client_as(Role.VIEWER).get(reverse("accounts:detail", args=[999999])).status_code == 404


def test_viewer_sees_no_edit_or_history_links(client_as):
    account = AccountFactory()
    html = client_as(Role.VIEWER).get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert reverse("accounts:edit", args=[account.pk]) not in html
    assert reverse("accounts:audit", args=[account.pk]) not in html


def test_account_360_query_count_is_bounded(client_as, django_assert_max_num_queries):
    account = AccountFactory(owner=UserFactory())
    contacts = [ContactFactory(account=account) for _ in range(8)]
    for c in contacts[:4]:
        c.successor = contacts[-1]
        c.left_on = datetime.date(2025, 1, 1)
        c.save()
    for i in range(6):
        ContractFactory(
            account=account,
            status=ContractStatus.CHURNED if i == 0 else ContractStatus.ACTIVE,
            churned_on=datetime.date(2025, 1, 1) if i == 0 else None,
        )
    now = timezone.now()
    Event.objects.bulk_create(
        Event(
            source="app",
            external_id=f"e{i}",
            account=account,
            kind="login",
            occurred_at=now - datetime.timedelta(hours=i),
        )
        for i in range(120)
    )
    client = client_as(Role.CSM)
    # session + user, account+owner, contacts+successors, contracts, events, audit entries, and the cards of
    # later apps: analytics (metric values, segments), health score 1, survey answers 1, churn records 2
    # (the records, churned contracts still without one), churn risk 1, success 4 (latest touches, success
    # settings, open next steps, the open renewal), playbooks 1 (the account's runs), funnels 2 (the default
    # funnel; the active staleness trackers, none of which watches this kind of account), support 1 (the
    # latest inquiries with the open count).
    with django_assert_max_num_queries(22):
        response = client.get(reverse("accounts:detail", args=[account.pk]))
    assert response.status_code == 200
    assert len(response.context["timeline"].items) == 50
