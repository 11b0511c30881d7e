"""Staleness board, tracker editor, check now, the API and the Account 360 card: permissions, filters and
refusals that name the field."""

import datetime as dt
import json

import pytest
from django.urls import reverse

from banso.core.choices import Role
from banso.funnels.models import StalenessAlert, StalenessMeasure, StalenessRule

from ..accounts.factories import AccountFactory
from ..core.factories import UserFactory
from .factories import FunnelFactory

pytestmark = pytest.mark.django_db


def rule(**kwargs):
    values = {"name": "最新応募からの経過日数", "measure": StalenessMeasure.DAYS_SINCE_TOUCH, "thresholds": {"high": 7}}
    return StalenessRule.objects.create(**(values | kwargs))


def alert(r, name, days, owner=None, tier="high"):
    account = AccountFactory(name=name, kind="client", tier=tier, owner=owner)
    return StalenessAlert.objects.create(rule=r, account=account, days=days, threshold=7, last_seen_on=dt.date.today())


def test_board_lists_open_alerts_by_days_and_filters_by_owner_and_tier(client_as, django_assert_max_num_queries):
    r = rule()
    mine = UserFactory(role=Role.CSM, username="suzuki")
    alert(r, "遅いA", 20, owner=mine)
    alert(r, "遅いB", 9, tier="low")
    closed = alert(r, "解決済", 30)
    StalenessAlert.objects.filter(pk=closed.pk).update(resolved_at=dt.datetime.now(dt.UTC))
    viewer = client_as(Role.VIEWER)
    for n in range(30):  # more alerts, no more queries
        alert(r, f"他{n}", 8)
    with django_assert_max_num_queries(12):
        page = viewer.get(reverse("funnels:staleness")).content.decode()
    assert page.index("遅いA") < page.index("遅いB") and "解決済" not in page
    filtered = client_as(Role.CSM).get(reverse("funnels:staleness"), {"owner": mine.pk}).content.decode()
    assert "遅いA" in filtered.split('id="per-csm"')[0] and "遅いB" not in filtered.split('id="per-csm"')[0]
    by_tier = client_as(Role.CSM).get(reverse("funnels:staleness"), {"tier": "low"}).content.decode()
    assert "遅いB" in by_tier and "遅いA" not in by_tier.split('id="per-csm"')[0]


def test_rules_page_is_for_managers_and_names_the_tier_at_fault(client_as):
    url = reverse("funnels:staleness_rules")
    assert client_as(Role.CSM).get(url).status_code == 403
    manager = client_as(Role.OPS_MANAGER)
    stage = FunnelFactory().stages.first()
    bad = {"name": "応募", "measure": "stage", "stage_id": stage.pk, "thresholds.high": "0", "is_active": "on"}
    response = manager.post(url, bad)
    assert response.status_code == 422
    assert 'id="field-thresholds.high"' in response.content.decode()
    assert 'has-error" id="field-thresholds.high"' in response.content.decode()
    response = manager.post(url, bad | {"thresholds.high": "7", "thresholds.low": "14"})
    assert response.status_code == 302
    saved = StalenessRule.objects.get()
    assert (saved.stage, saved.thresholds, saved.account_kinds) == (stage, {"high": 7, "low": 14}, ["client"])


def test_check_now_is_for_managers(client_as):
    rule()
    AccountFactory(kind="client", tier="high", created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert client_as(Role.CSM).post(reverse("funnels:staleness_check")).status_code == 403
    assert client_as(Role.OPS_MANAGER).post(reverse("funnels:staleness_check")).status_code == 302
    assert StalenessAlert.objects.count() == 1


def test_api_rules_refuse_unknown_tiers_and_bad_days_by_field(api_as):
    manager, csm = api_as(Role.OPS_MANAGER), api_as(Role.CSM)
    body = {"name": "接点", "measure": "touch", "thresholds": {"high": 7}}
    post = lambda c, b: c.post("/api/funnels/staleness/rules", json.dumps(b), content_type="application/json")  # noqa: E731
    assert post(csm, body).status_code == 403
    refused = post(manager, body | {"thresholds": {"vip": 3, "low": -1}})
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["detail"]} == {"thresholds.vip", "thresholds.low"}
    created = post(manager, body)
    assert created.status_code == 201 and created.json()["thresholds"] == {"high": 7}
    changed = manager.put(
        f"/api/funnels/staleness/rules/{created.json()['id']}",
        json.dumps(body | {"thresholds": {"high": 5, "tech": 30}}),
        content_type="application/json",
    )
    assert changed.json()["thresholds"] == {"high": 5, "tech": 30}
    assert [r["name"] for r in csm.get("/api/funnels/staleness/rules").json()] == ["接点"]


def test_api_alerts_filter_and_check(api_as):
    r = rule()
    alert(r, "A", 10)
    alert(r, "B", 8, tier="low")
    csm = api_as(Role.CSM)
    assert [a["account_name"] for a in csm.get("/api/funnels/staleness/alerts").json()] == ["A", "B"]
    assert [a["account_name"] for a in csm.get("/api/funnels/staleness/alerts?tier=low").json()] == ["B"]
    assert csm.post("/api/funnels/staleness/check").status_code == 403
    result = api_as(Role.ADMIN).post("/api/funnels/staleness/check").json()
    assert result["rules"] == 1 and result["resolved"] == 2  # neither client is past 7 days since creation


def test_account_360_card_shows_each_trackers_days(client_as):
    rule(thresholds={"high": 7})
    account = AccountFactory(kind="client", tier="high", created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=3))
    page = client_as(Role.CSM).get(reverse("accounts:detail", args=[account.pk])).content.decode()
    card = page.split('id="staleness-card"')[1].split("</section>")[0]
    assert "最新応募からの経過日数" in card and '<td class="num">3</td>' in card
