"""Analytics in the JSON API: catalogue, custom metrics and segments refused with the field named,
an account's values, segment preview, members and history, and recompute runs to poll."""

import datetime as dt

import pytest
from django.utils import timezone

from banso.activity import lake
from banso.analytics import services
from banso.analytics.models import AnalyticsRun, MetricDefinition, Segment
from banso.core.choices import Role
from tests.activity.factories import AccountFactory

from .factories import SegmentFactory, logins

pytestmark = pytest.mark.django_db
BASE = "/api/analytics"


def post(client, path, data):
    return client.post(BASE + path, data, content_type="application/json")


def fields(response) -> list[str]:
    assert response.status_code == 422, response.content
    return [error["field"] for error in response.json()["detail"]]


def test_the_catalogue_lists_metrics_with_their_definition_in_words(api_as):
    metrics = {m["key"]: m for m in api_as(Role.VIEWER).get(BASE + "/metrics").json()}
    login = metrics["logins_30d"]
    assert login["builtin"] and login["subject"] == "account" and login["category"] == "利用状況"
    assert login["definition"] == "ログイン の件数・直近30日"
    assert login["spec"] == {"aggregate": "count", "kinds": ["login"], "window": {"days": 30}}
    end_users = api_as(Role.VIEWER).get(BASE + "/metrics", {"subject": "end_user"}).json()
    assert {m["subject"] for m in end_users} == {"end_user"}


def test_a_custom_metric_is_created_and_changed(api_as):
    client = api_as(Role.OPS_MANAGER)
    spec = {"aggregate": "count", "kinds": ["report_export"], "window": {"days": 7}}
    created = post(client, "/metrics", {"key": "exports_7d", "label": "週次レポート", "spec": spec})
    assert created.status_code == 201 and created.json()["definition"] == "レポート出力 の件数・直近7日"
    changed = client.put(
        BASE + "/metrics/exports_7d",
        {"label": "週次レポート", "spec": spec | {"window": {"days": 14}}, "is_active": False},
        content_type="application/json",
    )
    assert changed.status_code == 200 and changed.json()["is_active"] is False
    assert MetricDefinition.objects.get().spec["window"] == {"days": 14}
    assert "exports_7d" not in {m["key"] for m in client.get(BASE + "/metrics").json()}
    listed = client.get(BASE + "/metrics", {"include_inactive": True}).json()
    assert next(m for m in listed if m["key"] == "exports_7d")["is_active"] is False


def test_a_bad_metric_is_refused_naming_each_field_and_nothing_is_written(api_as):
    response = post(
        api_as(Role.ADMIN),
        "/metrics",
        {"key": "logins_30d", "label": "", "spec": {"aggregate": "count", "kinds": [], "window": {"days": 0}}},
    )
    assert set(fields(response)) >= {"key", "label", "spec.kinds", "spec.window.days"}
    assert not MetricDefinition.objects.exists()


def test_switching_off_a_metric_a_segment_uses_is_refused(api_as):
    client = api_as(Role.ADMIN)
    spec = {"aggregate": "count", "kinds": ["report_export"], "window": {"days": 7}}
    post(client, "/metrics", {"key": "exports_7d", "label": "週次", "spec": spec})
    SegmentFactory(
        rules={"match": "all", "rules": [{"type": "metric", "metric": "exports_7d", "op": "eq", "value": 0}]}
    )
    response = client.put(
        BASE + "/metrics/exports_7d",
        {"label": "週次", "spec": spec, "is_active": False},
        content_type="application/json",
    )
    assert fields(response) == ["is_active"]
    assert MetricDefinition.objects.get().is_active


def test_an_accounts_values_latest_and_on_a_day(api_as):
    today = timezone.localdate()
    account = AccountFactory()
    logins(account, today, [0, 1])
    services.recompute_now(today)
    client = api_as(Role.CSM)
    body = client.get(f"{BASE}/accounts/{account.pk}/values").json()
    values = {v["metric"]: v for v in body["values"]}
    assert float(values["logins_30d"]["value"]) == 2 and values["logins_30d"]["label"] == "ログイン数（直近30日）"
    before = client.get(f"{BASE}/accounts/{account.pk}/values", {"on": (today - dt.timedelta(days=1)).isoformat()})
    assert before.json()["values"] == []
    assert client.get(f"{BASE}/accounts/999999/values").status_code == 404


def test_segments_are_created_previewed_refreshed_and_read_with_members_and_history(api_as):
    today = timezone.localdate()
    active, idle = AccountFactory(name="活発"), AccountFactory(name="休眠")
    logins(active, today, [0, 1, 2])
    logins(idle, today, [0])
    lake.sync()
    client = api_as(Role.OPS_MANAGER)
    rules = {"match": "all", "rules": [{"type": "metric", "metric": "logins_30d", "op": "gte", "value": 2}]}
    preview = post(client, "/segments/preview", {"rules": rules})
    assert preview.status_code == 200 and preview.json() == {"count": 1, "as_of": today.isoformat()}

    created = post(client, "/segments", {"name": "活発な顧客", "rules": rules})
    assert created.status_code == 201
    segment_id = created.json()["id"]
    refreshed = client.post(f"{BASE}/segments/{segment_id}/refresh")
    assert refreshed.json() == {"member_count": 1, "entered": 1, "left": 0}

    reader = api_as(Role.VIEWER)
    assert [s["name"] for s in reader.get(BASE + "/segments").json()] == ["活発な顧客"]
    members = reader.get(f"{BASE}/segments/{segment_id}/members").json()
    assert members["count"] == 1 and members["results"][0]["name"] == "活発" and members["results"][0]["exists"]
    history = reader.get(f"{BASE}/segments/{segment_id}/history").json()
    assert [(c["subject_id"], c["change"]) for c in history["results"]] == [(active.pk, "entered")]


def test_a_bad_segment_is_refused_naming_the_rule_and_field(api_as):
    client = api_as(Role.ADMIN)
    rules = {"match": "all", "rules": [{"type": "metric", "metric": "logins_30d", "op": "between", "value": [5]}]}
    assert fields(post(client, "/segments", {"name": "", "rules": rules})) == ["name", "rules.rules.0.metric"]
    unknown = {"match": "all", "rules": [{"type": "attribute", "field": "colour", "op": "eq", "value": "red"}]}
    response = post(client, "/segments/preview", {"rules": unknown})
    assert (
        fields(response) == ["rules"]
        and "「colour」という属性はありません。" in response.json()["detail"][0]["message"]
    )
    assert not Segment.objects.exists()


def test_a_recompute_is_started_and_polled(api_as, django_capture_on_commit_callbacks):
    client = api_as(Role.OPS_MANAGER)
    with django_capture_on_commit_callbacks(execute=False):
        started = post(client, "/runs", {})
    assert started.status_code == 201
    run = started.json()
    assert run["status"] == "queued" and run["percent"] == 0
    again = post(client, "/runs", {})
    assert again.status_code == 200 and again.json()["id"] == run["id"]  # one at a time
    polled = api_as(Role.VIEWER).get(f"{BASE}/runs/{run['id']}").json()
    assert set(polled) >= {"status", "percent", "step", "events_synced", "values_written", "segments_refreshed"}
    assert AnalyticsRun.objects.count() == 1


@pytest.mark.parametrize("role", [Role.CSM, Role.SUPPORT_AGENT, Role.VIEWER])
def test_readers_cannot_define_or_recompute(api_as, role):
    client = api_as(role)
    assert client.get(BASE + "/metrics").status_code == 200
    assert post(client, "/segments", {"name": "x", "rules": {"rules": []}}).status_code == 403
    assert post(client, "/runs", {}).status_code == 403
