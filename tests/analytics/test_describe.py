"""Definitions as people read them, in Japanese: the catalogue, the segment pages and the API share these."""

import pytest
from django.utils import translation

from banso.analytics import describe, services
from banso.analytics.specs import MetricSpec, Window, parse_segment

from ..core.factories import UserFactory


@pytest.fixture(autouse=True)
def _japanese():
    with translation.override("ja"):
        yield


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        (MetricSpec(aggregate="count", kinds=("login",), window=Window(days=30)), "ログイン の件数・直近30日"),
        (MetricSpec(aggregate="days_since", kinds=("login",)), "最終ログインからの日数"),
        (
            MetricSpec(aggregate="count", kinds=("login", "search"), window=Window(days=5, offset=3)),
            "ログイン、検索 の件数・3〜7日前",
        ),
        (MetricSpec(aggregate="count", kinds=("visit",), window=Window(days=1, offset=2)), "訪問 の件数・2日前"),
        (
            MetricSpec(aggregate="trend", kinds=("booking",), window=Window(days=30)),
            "予約 の件数の増減率・直近30日とその前の同じ日数の比較（%）",
        ),
        (MetricSpec(aggregate="sum", kinds=("booking",), window=Window(days=7)), "予約 の値の合計・直近7日"),
        (MetricSpec(aggregate="count", kinds=("my_code",), window=Window(days=7)), "my_code の件数・直近7日"),
    ],
)
def test_a_metric_reads_as_a_sentence(spec, text):
    assert describe.metric_text(spec) == text


def test_a_metric_at_some_accounts_names_them():
    spec = MetricSpec(
        subject="end_user", aggregate="count", kinds=("visit",), window=Window(days=7), at_accounts=(1, 2, 3, 4)
    )
    text = describe.metric_text(spec, {1: "湯の宿", 2: "海の家"})
    assert text == "訪問 の件数・直近7日（湯の宿、海の家、#3 ほか1件でのもの）"


@pytest.mark.django_db
def test_segment_rules_read_as_nested_lines_with_labels_for_codes_and_owners():
    owner = UserFactory(display_name="佐藤 花子")
    spec = parse_segment({"rules": {"match": "any", "rules": [
        {"type": "metric", "metric": "inquiries_30d", "op": "between", "value": [3, 10]},
        {"type": "attribute", "field": "owner", "op": "eq", "value": str(owner.pk)},
        {"type": "group", "match": "any", "negate": True, "rules": [
            {"type": "attribute", "field": "lifecycle_stage", "op": "in", "value": ["churned", "at_risk"]},
            {"type": "attribute", "field": "attributes.plan", "op": "is_not_empty"},
            {"type": "attribute", "field": "mrr", "op": "gte", "value": 100000},
        ]},
    ]}})  # fmt: skip
    line = describe.rules_text(spec.rules, "account", services.catalogue("account"))
    assert line.text == "次のいずれかに当てはまる"
    assert [child.text for child in line.children[:2]] == [
        "問い合わせ数（直近30日） が 3 〜 10",
        "担当CSM が 佐藤 花子",
    ]
    negated = line.children[2]
    assert negated.text == "次のいずれにも当てはまらない"
    assert [child.text for child in negated.children] == [
        "ライフサイクルステージ が 解約、解約リスク のいずれか",
        "カスタム属性「plan」 に値がある",
        "MRR（円） が 100,000 以上",
    ]
