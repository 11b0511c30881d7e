"""The default churn-reason taxonomy in Japanese; users edit it afterwards (MANAGE_HEALTH)."""

from typing import Any

from django.db import migrations

# (code, name, [(sub-code, sub-name), ...]) in display order.
DEFAULT_REASONS: list[tuple[str, str, list[tuple[str, str]]]] = [
    (
        "usage",
        "利用定着せず",
        [
            ("usage-onboarding", "導入・立ち上げがうまくいかなかった"),
            ("usage-low", "利用頻度の低下（社内で活用が定着しなかった）"),
        ],
    ),
    (
        "champion",
        "主担当者の異動・退職",
        [
            ("champion-left", "推進担当者の退職"),
            ("champion-moved", "推進担当者の異動"),
            ("champion-no-successor", "後任の推進者が不在"),
        ],
    ),
    (
        "support",
        "サポート・品質への不満",
        [
            ("support-response", "問い合わせへの対応への不満"),
            ("support-quality", "不具合・品質への不満"),
        ],
    ),
    ("budget", "予算削減", []),
    ("competitor", "競合への乗り換え", []),
    (
        "policy",
        "事業方針の変更",
        [
            ("policy-reorg", "組織再編"),
            ("policy-exit", "事業撤退・廃業"),
            ("policy-merger", "合併・買収"),
        ],
    ),
    ("feature", "機能不足", []),
    (
        "price",
        "価格",
        [
            ("price-value", "価格に見合う価値を感じられなかった"),
            ("price-increase", "値上げ"),
        ],
    ),
    ("other", "その他", []),
]


def add_defaults(apps: Any, schema_editor: Any) -> None:
    reason = apps.get_model("churn", "ChurnReason")
    for order, (code, name, children) in enumerate(DEFAULT_REASONS, start=1):
        parent, _ = reason.objects.get_or_create(code=code, defaults={"name": name, "order": order * 10})
        for sub_order, (sub_code, sub_name) in enumerate(children, start=1):
            reason.objects.get_or_create(
                code=sub_code, defaults={"name": sub_name, "order": sub_order * 10, "parent": parent}
            )


class Migration(migrations.Migration):
    dependencies = [("churn", "0001_churn_records")]

    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
