"""The editable churn-reason taxonomy: Japanese defaults, two levels, audited edits."""

import pytest
from django.core.exceptions import ValidationError

from banso.churn import services
from banso.churn.models import ChurnReason
from banso.core.models import AuditEntry

from .factories import reason


def test_defaults_are_in_japanese_with_sub_reasons_in_order(db):
    tree = services.reason_tree()
    names = [node.reason.name for node in tree]
    assert names[:8] == [
        "利用定着せず",
        "主担当者の異動・退職",
        "サポート・品質への不満",
        "予算削減",
        "競合への乗り換え",
        "事業方針の変更",
        "機能不足",
        "価格",
    ]
    champion = next(node for node in tree if node.reason.code == "champion")
    assert [c.code for c in champion.children] == ["champion-left", "champion-moved", "champion-no-successor"]


def test_adding_a_sub_reason_is_audited(db):
    added = services.create_reason(None, parent=reason("budget"), code="budget-freeze", name="予算凍結", order=10)
    assert added.parent == reason("budget")
    entry = AuditEntry.objects.get(object_type="churn.churnreason")
    assert entry.changes["name"] == [None, "予算凍結"]


def test_three_levels_are_refused(db):
    with pytest.raises(ValidationError) as caught:
        services.create_reason(None, parent=reason("usage-low"), code="deeper", name="さらに下")
    assert "parent" in caught.value.message_dict
    assert not ChurnReason.objects.filter(code="deeper").exists()


def test_a_reason_with_sub_reasons_cannot_move_under_another(db):
    with pytest.raises(ValidationError) as caught:
        services.update_reason(reason("price"), None, parent=reason("budget"))
    assert "parent" in caught.value.message_dict


def test_codes_are_unique_and_checked(db):
    with pytest.raises(ValidationError) as caught:
        services.create_reason(None, code="budget", name="重複")
    assert "code" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.create_reason(None, code="スペース あり", name="x")
    assert "code" in caught.value.message_dict


def test_renaming_writes_one_entry_and_a_no_op_none(db):
    services.update_reason(reason("feature"), None, name="機能不足")
    assert not AuditEntry.objects.exists()
    services.update_reason(reason("feature"), None, name="機能・連携の不足", order=5)
    entry = AuditEntry.objects.get()
    assert entry.changes == {"name": ["機能不足", "機能・連携の不足"], "order": [70, 5]}
