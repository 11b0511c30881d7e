"""The metric catalogue in words, and custom metrics: add, edit, switch off, with errors next to the field."""

import pytest
from django.urls import reverse

from banso.analytics.models import MetricDefinition
from banso.core.choices import Role

from .factories import MetricDefinitionFactory, SegmentFactory

pytestmark = pytest.mark.django_db


def form(**changes):
    data = {
        "key": "exports_7d",
        "label": "レポート出力（直近7日）",
        "description": "",
        "subject": "account",
        "aggregate": "count",
        "kinds": ["report_export"],
        "other_kinds": "",
        "window_days": "7",
        "window_offset": "0",
        "at_accounts": "",
        "is_active": "on",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OPS_MANAGER, Role.CSM, Role.SUPPORT_AGENT, Role.VIEWER])
def test_catalogue_shows_builtins_by_category_in_readable_japanese(client_as, role):
    page = client_as(role).get(reverse("analytics:metrics")).content.decode()
    assert "<h1>指標カタログ</h1>" in page
    assert "利用状況" in page and "サポート" in page  # categories
    assert "ログイン の件数・直近30日" in page
    assert "最終ログインからの日数" in page


def test_catalogue_shows_custom_metrics_with_actions_only_for_managers(client_as):
    MetricDefinitionFactory(key="exports_7d", label="週次レポート")
    manager = client_as(Role.OPS_MANAGER).get(reverse("analytics:metrics")).content.decode()
    assert "週次レポート" in manager and "レポート出力 の件数・直近7日" in manager
    assert reverse("analytics:metric_edit", args=["exports_7d"]) in manager
    viewer = client_as(Role.VIEWER).get(reverse("analytics:metrics")).content.decode()
    assert "週次レポート" in viewer and reverse("analytics:metric_edit", args=["exports_7d"]) not in viewer


def test_a_custom_metric_is_built_from_the_structured_fields(client_as):
    client = client_as(Role.OPS_MANAGER)
    response = client.post(
        reverse("analytics:metric_create"),
        form(kinds=["report_export", "search"], other_kinds="pdf_download、 csv_download", window_offset="3"),
    )
    assert response.status_code == 302
    metric = MetricDefinition.objects.get(key="exports_7d")
    assert metric.spec == {
        "aggregate": "count",
        "kinds": ["report_export", "search", "pdf_download", "csv_download"],
        "window": {"days": 7, "offset": 3},
    }
    assert metric.created_by is not None
    page = client.get(reverse("analytics:metrics")).content.decode()
    assert "3〜9日前" in page


def test_days_since_needs_no_window_and_accounts_limit_where_events_count(client_as):
    client = client_as(Role.ADMIN)
    client.post(
        reverse("analytics:metric_create"),
        form(key="eu_days_since_x", subject="end_user", aggregate="days_since", kinds=["visit"], window_days="",
             window_offset="", at_accounts="12, 13"),
    )  # fmt: skip
    assert MetricDefinition.objects.get().spec == {
        "subject": "end_user",
        "aggregate": "days_since",
        "kinds": ["visit"],
        "at_accounts": [12, 13],
    }


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"window_days": ""}, "aggregate", "この集計方法には期間（window）の指定が必要です。"),
        ({"kinds": [], "other_kinds": ""}, "kinds", "1つ以上指定してください。"),
        ({"window_days": "0"}, "window_days", "1以上を入力してください。"),
        ({"key": "logins_30d"}, "key", "このキーの指標はすでにあります。"),
        ({"key": "Bad Key"}, "key", "英小文字で始まる2〜63文字"),
        ({"label": ""}, "label", "指標の名称を入力してください。"),
        ({"aggregate": "distinct_accounts"}, "aggregate", "顧客ごとの顧客数は常に0か1です。"),
        ({"at_accounts": "abc"}, "at_accounts", "顧客番号をカンマ区切りで入力してください。"),
    ],
)
def test_a_bad_definition_shows_the_error_on_its_field_and_writes_nothing(client_as, changes, field, message):
    response = client_as(Role.OPS_MANAGER).post(reverse("analytics:metric_create"), form(**changes))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert any(message in str(e) for e in errors[field]), errors
    assert 'class="field has-error" id="field-' + field + '"' in response.content.decode()
    assert not MetricDefinition.objects.exists()


def test_editing_keeps_the_key_and_shows_the_definition_in_words(client_as):
    metric = MetricDefinitionFactory(key="exports_7d", label="週次レポート")
    client = client_as(Role.OPS_MANAGER)
    page = client.get(reverse("analytics:metric_edit", args=[metric.key])).content.decode()
    assert "レポート出力 の件数・直近7日" in page and 'name="key"' not in page
    response = client.post(reverse("analytics:metric_edit", args=[metric.key]), form(key=None, window_days="14"))
    assert response.status_code == 302
    metric.refresh_from_db()
    assert metric.key == "exports_7d" and metric.spec["window"] == {"days": 14}


def test_a_metric_in_use_by_a_segment_cannot_be_switched_off(client_as):
    metric = MetricDefinitionFactory(key="exports_7d")
    SegmentFactory(
        name="レポート離れ",
        rules={"match": "all", "rules": [{"type": "metric", "metric": "exports_7d", "op": "eq", "value": 0}]},
    )
    client = client_as(Role.OPS_MANAGER)
    page = client.post(reverse("analytics:metric_active", args=[metric.key]), {"active": "0"}, follow=True)
    assert "次のセグメントがこの指標を使っています：レポート離れ。" in page.content.decode()
    metric.refresh_from_db()
    assert metric.is_active
    edit = client.post(
        reverse("analytics:metric_edit", args=[metric.key]), form(key=None, is_active=None, label="新名")
    )
    assert "レポート離れ" in str(edit.context["form"].errors["is_active"])
    metric.refresh_from_db()
    assert metric.is_active and metric.label != "新名"  # the refused edit wrote nothing


def test_an_unused_metric_is_switched_off_and_on(client_as):
    metric = MetricDefinitionFactory(key="exports_7d", label="週次レポート")
    client = client_as(Role.ADMIN)
    page = client.post(reverse("analytics:metric_active", args=[metric.key]), {"active": "0"}, follow=True)
    assert "「週次レポート」を無効にしました。" in page.content.decode() and "無効</span>" in page.content.decode()
    metric.refresh_from_db()
    assert not metric.is_active
    client.post(reverse("analytics:metric_active", args=[metric.key]), {"active": "1"})
    metric.refresh_from_db()
    assert metric.is_active


@pytest.mark.parametrize("role", [Role.CSM, Role.SUPPORT_AGENT, Role.VIEWER])
def test_custom_metrics_are_managed_by_admins_and_ops_managers_only(client_as, role):
    metric = MetricDefinitionFactory()
    client = client_as(role)
    assert client.get(reverse("analytics:metric_create")).status_code == 403
    assert client.post(reverse("analytics:metric_create"), form()).status_code == 403
    assert client.post(reverse("analytics:metric_active", args=[metric.key]), {"active": "0"}).status_code == 403
    assert MetricDefinition.objects.count() == 1
