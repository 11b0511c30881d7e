"""Building a segment: rows of conditions (or JSON), errors on the row and field they concern, the count
preview, and the row the "add a condition" button fetches."""

import datetime as dt
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from banso.activity import lake
from banso.analytics.models import Segment
from banso.analytics.services import segment_spec
from banso.analytics.specs import parse_segment
from banso.core.choices import Role
from tests.activity.factories import AccountFactory

from ..core.factories import UserFactory
from .factories import SegmentFactory, logins

pytestmark = pytest.mark.django_db


def rows(*conditions, deleted=()):
    """POST data for the builder's rows: (target, op, value[, attribute_key]) each."""
    data = {"rules-TOTAL_FORMS": str(len(conditions)), "rules-INITIAL_FORMS": "0"}
    for i, condition in enumerate(conditions):
        target, op, value, *key = condition
        data |= {f"rules-{i}-target": target, f"rules-{i}-op": op, f"rules-{i}-value": value}
        data[f"rules-{i}-attribute_key"] = key[0] if key else ""
        data[f"rules-{i}-DELETE"] = "true" if i in deleted else "False"
    return data


def segment_form(*conditions, deleted=(), **changes):
    data = {"name": "放置されている高タッチ顧客", "description": "", "subject_type": "account", "is_active": "on",
            "match": "all", "mode": "builder", "rules_json": ""}  # fmt: skip
    data.update(changes)
    return data | rows(*conditions, deleted=deleted)


def test_the_builder_turns_rows_into_rules(client_as):
    owner = UserFactory(username="csm-sato", display_name="佐藤 花子")
    client = client_as(Role.OPS_MANAGER)
    response = client.post(
        reverse("analytics:segment_create"),
        segment_form(
            ("metric:days_since_login", "gte", "３０"),  # full-width digits as a Japanese IME types them
            ("attr:tier", "eq", "ハイタッチ"),  # the label people read, stored as the code
            ("attr:owner", "eq", "佐藤 花子"),
            ("metric:usage_trend_30d", "between", "-50〜-10"),
            ("attr:attributes.", "in", "年間、月額", "契約形態"),
            ("attr:industry", "is_empty", "ignored"),
            ("metric:logins_30d", "eq", "1"),
            deleted=[6],
        ),
    )
    segment = Segment.objects.get()
    assert response.url == reverse("analytics:segment", args=[segment.pk])
    assert segment_spec(segment).rules == parse_segment({"rules": {
        "match": "all",
        "rules": [
            {"type": "metric", "metric": "days_since_login", "op": "gte", "value": 30},
            {"type": "attribute", "field": "tier", "op": "eq", "value": "high"},
            {"type": "attribute", "field": "owner", "op": "eq", "value": str(owner.pk)},
            {"type": "metric", "metric": "usage_trend_30d", "op": "between", "value": [-50, -10]},
            {"type": "attribute", "field": "attributes.契約形態", "op": "in", "value": ["年間", "月額"]},
            {"type": "attribute", "field": "industry", "op": "is_empty"},
        ],
    }}).rules  # fmt: skip
    detail = client.get(response.url).content.decode()
    assert "次のすべてに当てはまる" in detail
    assert "最終ログインからの日数 が 30 以上" in detail
    assert "タッチ区分 が ハイタッチ" in detail
    assert "担当CSM が 佐藤 花子" in detail
    assert "カスタム属性「契約形態」 が 年間、月額 のいずれか" in detail


@pytest.mark.parametrize(
    ("condition", "field", "message"),
    [
        (("metric:logins_30d", "gte", "たくさん"), "value", "「たくさん」は数値ではありません。"),
        (("metric:logins_30d", "between", "5"), "value", "下限と上限の2つの値を入力してください"),
        (("metric:logins_30d", "gte", ""), "value", "値を入力してください。"),
        (("attr:tier", "eq", "VIP"), "value", "次のいずれかを入力してください：ハイタッチ"),
        (("attr:owner", "eq", "存在しない人"), "value", "「存在しない人」というユーザーはいません。"),
        (("attr:attributes.", "eq", "x"), "attribute_key", "カスタム属性のキーを入力してください。"),
        (("attr:next_renewal_date", "gte", "来月"), "value", "日付は YYYY-MM-DD の形式で入力してください。"),
        (("metric:logins_30d", "between", "9〜1"), "value", "「between」の下限が上限より大きくなっています。"),
    ],
)
def test_a_bad_condition_is_marked_on_its_row_and_nothing_is_written(client_as, condition, field, message):
    response = client_as(Role.OPS_MANAGER).post(
        reverse("analytics:segment_create"), segment_form(("metric:logins_30d", "gte", "1"), condition)
    )
    assert response.status_code == 200
    bad_row = response.context["rows"].forms[1]
    assert any(message in str(e) for e in bad_row.errors.get(field, [])), bad_row.errors
    assert not response.context["rows"].forms[0].errors
    assert 'class="rule-row has-error"' in response.content.decode()
    assert not Segment.objects.exists()


def test_a_segment_needs_a_name_and_a_condition(client_as):
    response = client_as(Role.ADMIN).post(reverse("analytics:segment_create"), segment_form(name=""))
    page = response.content.decode()
    assert "セグメントの名称を入力してください。" in page and "条件を1つ以上追加してください。" in page
    assert not Segment.objects.exists()


def test_rules_can_be_written_as_json_with_nesting_and_then_open_in_the_json_editor(client_as):
    rules = {
        "match": "any",
        "rules": [
            {"type": "metric", "metric": "inquiries_30d", "op": "gte", "value": 5},
            {"type": "group", "match": "all", "negate": True, "rules": [
                {"type": "attribute", "field": "tier", "op": "eq", "value": "tech"}]},
        ],
    }  # fmt: skip
    client = client_as(Role.OPS_MANAGER)
    response = client.post(
        reverse("analytics:segment_create"), segment_form(mode="json", rules_json=json.dumps(rules)) | rows()
    )
    segment = Segment.objects.get()
    assert response.status_code == 302 and segment.rules["rules"][1]["negate"] is True
    detail = client.get(reverse("analytics:segment", args=[segment.pk])).content.decode()
    assert "次のいずれかに当てはまる" in detail and "次のすべてには当てはまらない" in detail
    edit = client.get(reverse("analytics:segment_edit", args=[segment.pk])).content.decode()
    assert "JSONで編集してください" in edit
    assert re.search(r'value="json"[^>]*checked', edit)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "JSONとして読めません"),
        ("[1, 2]", "JSONオブジェクト（ルールグループ）を入力してください。"),
        (
            '{"rules": [{"type": "metric", "metric": "nope", "op": "gte", "value": 1}]}',
            "「nope」という指標はありません",
        ),
        ('{"rules": [{"type": "metric", "metric": "logins_30d", "op": "gte"}]}', "rules.0.metric: 「gte」には値を1つ"),
    ],
)
def test_bad_json_rules_are_explained_under_the_json_box(client_as, text, message):
    response = client_as(Role.OPS_MANAGER).post(
        reverse("analytics:segment_create"), segment_form(mode="json", rules_json=text)
    )
    assert any(message in str(e) for e in response.context["form"].errors["rules_json"])
    assert not Segment.objects.exists()


def test_editing_a_segment_shows_its_rows_and_saves_changes(client_as):
    segment = SegmentFactory(
        rules={"match": "all", "rules": [{"type": "attribute", "field": "tier", "op": "in", "value": ["high", "low"]}]}
    )
    client = client_as(Role.OPS_MANAGER)
    page = client.get(reverse("analytics:segment_edit", args=[segment.pk])).content.decode()
    assert 'value="ハイタッチ, ロータッチ"' in page
    assert '<option value="attr:tier" selected>' in page
    response = client.post(
        reverse("analytics:segment_edit", args=[segment.pk]),
        segment_form(("attr:tier", "in", "ハイタッチ, ロータッチ"), ("metric:logins_30d", "lt", "3"), match="any"),
    )
    assert response.status_code == 302
    segment.refresh_from_db()
    assert segment.rules["match"] == "any" and len(segment.rules["rules"]) == 2


def test_end_user_segments_offer_end_user_metrics_and_attributes(client_as):
    page = client_as(Role.OPS_MANAGER).get(reverse("analytics:segment_create") + "?subject=end_user")
    html = page.content.decode()
    assert 'value="metric:eu_visits_7d"' in html and 'value="metric:logins_30d"' not in html
    assert 'value="attr:account"' in html and 'name="subject_type" value="end_user"' in html


def test_add_a_condition_returns_the_next_row_and_counts_it(client_as):
    response = client_as(Role.OPS_MANAGER).get(
        reverse("analytics:segment_rule_row"), {"rules-TOTAL_FORMS": "2", "subject_type": "account"}
    )
    html = response.content.decode()
    assert 'name="rules-2-target"' in html and 'name="rules-2-DELETE"' in html
    assert 'id="id_rules-TOTAL_FORMS" value="3" hx-swap-oob="true"' in html


def test_preview_counts_the_members_the_rules_select_now(client_as):
    today = timezone.localdate()
    busy, quiet = AccountFactory(tier="high"), AccountFactory(tier="high")
    AccountFactory(tier="low")
    logins(busy, today, [0, 1, 2, 3])
    logins(quiet, today, [40])
    lake.sync()
    response = client_as(Role.OPS_MANAGER).post(
        reverse("analytics:segment_preview"),
        segment_form(("attr:tier", "eq", "ハイタッチ"), ("metric:logins_30d", "lt", "2")),
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert "<strong data-preview-count>1</strong> 件の顧客が該当します" in html
    assert f"{today:%Y-%m-%d}時点" in html
    assert not Segment.objects.exists()  # a preview stores nothing


def test_preview_explains_what_is_wrong_instead_of_counting(client_as):
    response = client_as(Role.OPS_MANAGER).post(
        reverse("analytics:segment_preview"), segment_form(("metric:logins_30d", "gte", "abc"))
    )
    html = response.content.decode()
    assert "このルールではまだ件数を数えられません" in html and "条件1：「abc」は数値ではありません。" in html


@pytest.mark.parametrize("role", [Role.CSM, Role.SUPPORT_AGENT, Role.VIEWER])
def test_segments_are_defined_by_admins_and_ops_managers_only(client_as, role):
    client = client_as(role)
    assert (
        client.post(reverse("analytics:segment_create"), segment_form(("metric:logins_30d", "gte", "1"))).status_code
        == 403
    )
    assert client.post(reverse("analytics:segment_preview"), segment_form()).status_code == 403
    assert not Segment.objects.exists()
    assert "新しい顧客セグメント" not in client.get(reverse("analytics:segments")).content.decode()


def test_segment_list_shows_members_and_refresh_time(client_as):
    SegmentFactory(name="更新間近", member_count=1234, refreshed_at=timezone.now() - dt.timedelta(hours=1))
    html = client_as(Role.VIEWER).get(reverse("analytics:segments")).content.decode()
    assert "更新間近" in html and "1,234" in html and "<h1>セグメント</h1>" in html
