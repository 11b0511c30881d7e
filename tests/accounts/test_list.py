import datetime

import pytest
from django.urls import reverse

from banso.accounts.choices import AccountKind, LifecycleStage, TouchTier
from banso.accounts.services import AccountFilters, account_queryset
from banso.core.choices import Role

from ..core.factories import UserFactory
from .factories import AccountFactory

pytestmark = pytest.mark.django_db


def names(filters: AccountFilters) -> list[str]:
    return [a.name for a in account_queryset(filters)]


def test_filters_by_owner_kind_tier_and_stage():
    csm = UserFactory(role=Role.CSM)
    AccountFactory(name="A", owner=csm, kind=AccountKind.MERCHANT, tier=TouchTier.HIGH)
    AccountFactory(name="B", owner=csm, kind=AccountKind.CUSTOMER, tier=TouchTier.HIGH)
    AccountFactory(name="C", kind=AccountKind.MERCHANT, tier=TouchTier.TECH, lifecycle_stage=LifecycleStage.AT_RISK)

    assert sorted(names(AccountFilters(owner=csm.pk))) == ["A", "B"]
    assert names(AccountFilters(owner="none")) == ["C"]
    assert sorted(names(AccountFilters(kind=AccountKind.MERCHANT))) == ["A", "C"]
    assert names(AccountFilters(kind=AccountKind.MERCHANT, tier=TouchTier.HIGH)) == ["A"]
    assert names(AccountFilters(stage=LifecycleStage.AT_RISK)) == ["C"]


def test_filters_by_renewal_month_on_next_renewal_date():
    AccountFactory(name="march-end", next_renewal_date=datetime.date(2026, 3, 31))
    AccountFactory(name="april-first", next_renewal_date=datetime.date(2026, 4, 1))
    AccountFactory(name="april-last", next_renewal_date=datetime.date(2026, 4, 30))
    AccountFactory(name="none")
    AccountFactory(name="december", next_renewal_date=datetime.date(2026, 12, 15))

    assert sorted(names(AccountFilters(renewal_month="2026-04"))) == ["april-first", "april-last"]
    assert names(AccountFilters(renewal_month="2026-12")) == ["december"]


def test_a_bad_renewal_month_is_refused():
    with pytest.raises(ValueError):
        account_queryset(AccountFilters(renewal_month="2026-13"))


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["あ", "か", "さ"]),
        ("-name", ["さ", "か", "あ"]),
        ("mrr", ["か", "さ", "あ"]),
        ("-mrr", ["あ", "さ", "か"]),
        ("renewal", ["さ", "あ", "か"]),
        ("-renewal", ["あ", "さ", "か"]),
    ],
)
def test_sorts_in_both_directions_with_missing_renewals_last(sort, expected):
    AccountFactory(name="あ", name_kana="あ", mrr=300, next_renewal_date=datetime.date(2026, 6, 1))
    AccountFactory(name="か", name_kana="か", mrr=100, next_renewal_date=None)
    AccountFactory(name="さ", name_kana="さ", mrr=200, next_renewal_date=datetime.date(2026, 5, 1))
    assert names(AccountFilters(sort=sort)) == expected


def test_sorts_by_last_update():
    old = AccountFactory(name="old", updated_at=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC))
    new = AccountFactory(name="new", updated_at=datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC))
    assert [a.pk for a in account_queryset(AccountFilters(sort="-updated"))] == [new.pk, old.pk]
    assert [a.pk for a in account_queryset(AccountFilters(sort="updated"))] == [old.pk, new.pk]


def test_list_page_shows_name_reading_and_mrr_in_yen(client_as):
    AccountFactory(name="株式会社伴走", name_kana="ばんそう", mrr=1234567, next_renewal_date=datetime.date(2026, 4, 1))
    response = client_as(Role.VIEWER).get(reverse("accounts:list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "株式会社伴走" in html
    assert "ばんそう" in html
    assert "¥1,234,567" in html
    assert "2026-04-01" in html


def test_list_is_paginated_by_fifty(client_as):
    for i in range(55):
        AccountFactory(name_kana=f"あ{i:03d}")
    client = client_as(Role.VIEWER)
    first = client.get(reverse("accounts:list"))
    assert len(first.context["page"].object_list) == 50
    assert first.context["page"].paginator.count == 55
    second = client.get(reverse("accounts:list"), {"page": 2})
    assert len(second.context["page"].object_list) == 5
    assert 'rel="next"' in first.content.decode()


def test_filter_form_narrows_the_page(client_as):
    AccountFactory(name="高タッチ社", tier=TouchTier.HIGH)
    AccountFactory(name="テック社", tier=TouchTier.TECH)
    response = client_as(Role.CSM).get(reverse("accounts:list"), {"tier": "high"})
    html = response.content.decode()
    assert "高タッチ社" in html
    assert "テック社" not in html


def test_htmx_request_gets_only_the_table_partial(client_as):
    AccountFactory(name="部分更新社")
    response = client_as(Role.CSM).get(reverse("accounts:list"), {"q": "部分"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "部分更新社" in html
    assert "<html" not in html
    assert 'id="account-table"' in html


def test_sort_header_links_reverse_the_current_order(client_as):
    AccountFactory()
    response = client_as(Role.CSM).get(reverse("accounts:list"), {"sort": "mrr", "tier": "high"})
    mrr = next(c for c in response.context["columns"] if c.numeric)
    assert "sort=-mrr" in mrr.url
    assert mrr.state == "ascending"
    assert "tier=high" in mrr.url


def test_a_bad_page_or_month_in_the_url_still_shows_a_list(client_as):
    AccountFactory(name="ある社")
    response = client_as(Role.CSM).get(reverse("accounts:list"), {"page": "zzz", "renewal": "soon"})
    assert response.status_code == 200
    assert "ある社" in response.content.decode()


def test_list_query_count_does_not_grow_with_rows(client_as, django_assert_max_num_queries):
    owners = [UserFactory(role=Role.CSM) for _ in range(5)]
    for i in range(60):
        AccountFactory(owner=owners[i % 5])
    client = client_as(Role.CSM)
    # session + user, owner choices, count, the page's ids, the page's rows (owner joined).
    with django_assert_max_num_queries(6):
        response = client.get(reverse("accounts:list"), {"tier": "low", "sort": "-mrr"})
    assert response.status_code == 200
