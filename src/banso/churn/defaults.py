"""The default churn-reason taxonomy in Japanese, installed by migration 0002 and, where a database was
emptied since (tests that flush it), by `services.ensure_default_reasons`; users edit it afterwards."""

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
