"""Proposal documents for a forecast (特別単価のご提案): an A4 PDF in Japanese (core.pdf) and an XLSX workbook
(core.xlsx) with the forecast and its interval, the promotion menu, the offer's results of the last 12 months,
its past special-rate periods with their uplift and the method's past accuracy (the latest backtest).

The documents go to advertisers in Japanese, so their fixed wording is Japanese here rather than translated
(as billing's documents do)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone
from openpyxl import Workbook

from banso.core import xlsx
from banso.core.pdf import Document

from .models import BacktestRun, Forecast, RewardType

# key: (name, short description)
PROMOTION_MENU: dict[str, tuple[str, str]] = {
    "push": (
        "プッシュ通知",
        "対象サイトを最近訪問したユーザーへ、拡張機能のプッシュ通知でキャンペーンをお知らせします。",
    ),
    "top_banner": ("トップバナー", "拡張機能と会員サイトのトップページにバナーを掲出します（期間中）。"),
    "feature": ("特集記事", "ポイントアップ特集の記事で案件を紹介し、検索・SNSからの流入を集めます。"),
    "newsletter": ("メルマガ", "会員向けメールマガジンで特別単価をご案内します（期間中1回）。"),
}


def jdate(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def yen(amount: int | None) -> str:
    return "—" if amount is None else f"¥{int(amount):,}"


def reward_text(reward_type: str, rate: Decimal | None, amount: int | None) -> str:
    if reward_type == RewardType.RATE:
        return f"購入金額の{rate}%" if rate is not None else "—"
    return f"1件 {yen(amount)}" if amount is not None else "—"


def current_reward_text(forecast: Forecast) -> str:
    offer = forecast.offer
    return reward_text(offer.base_reward_type, offer.base_rate, offer.base_amount)


def file_stem(forecast: Forecast) -> str:
    return f"proposal-{forecast.pk}-{forecast.period_start:%Y%m%d}"


def forecast_rows(forecast: Forecast) -> list[tuple[str, int, int, int, str]]:
    """(label, low, mid, high, kind) rows of the forecast table."""
    result = forecast.result
    rows = [("獲得件数", "acquisitions", "count"), ("成果報酬額", "reward_cost", "yen"), ("売上見込", "sales", "yen")]
    out = []
    for label, key, kind in rows:
        figures = result.get(key) or {}
        if figures:
            out.append((label, figures["low"], figures["mid"], figures["high"], kind))
    current = (result.get("current") or {}).get("acquisitions")
    if current:
        out.append(("（参考）現行単価での獲得件数", current["low"], current["mid"], current["high"], "count"))
    return out


def accuracy() -> dict[str, Any] | None:
    run = BacktestRun.objects.filter(status="succeeded").order_by("-finished_at", "-id").first()
    return run.summary if run else None


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def render_pdf(forecast: Forecast) -> bytes:
    offer = forecast.offer
    inputs, result = forecast.inputs, forecast.result
    document = Document(f"特別単価のご提案 {offer.name}")
    document.title_block("特別単価のご提案", f"作成日 {jdate(timezone.localdate(forecast.created_at))}")
    document.set_font_size(13)
    document.cell(120, 8, f"{offer.advertiser.name} 御中", new_x="LMARGIN", new_y="NEXT")
    document.set_font_size(10)
    for label, value in (
        ("案件", offer.name),
        (
            "期間",
            f"{jdate(forecast.period_start)}〜{jdate(forecast.period_end)}（{inputs.get('period_days', '')}日間）",
        ),
        ("ご提案単価", reward_text(forecast.reward_type, forecast.rate, forecast.amount)),
        ("現行単価", current_reward_text(forecast)),
    ):
        document.set_x(document.l_margin)
        document.table_row([(40, label, "L"), (140, str(value), "L")], 6, border=False)
    document.ln(2)

    document.heading("予測（80%予測区間）")
    document.data_table(
        [("項目", "text", 72), ("下限(10%)", "text", 36), ("中央値", "text", 36), ("上限(90%)", "text", 36)],
        [
            (label, *(f"{v:,}件" if kind == "count" else yen(v) for v in (low, mid, high)))
            for label, low, mid, high, kind in forecast_rows(forecast)
        ],
    )
    document.paragraph(
        f"予測の前提: 日次ユニーク訪問者数の見込み 合計{inputs.get('unique_visitors', 0):,.0f}人、"
        f"コンバージョン率 {inputs.get('conversion_rate', 0) * 100:.2f}%、"
        f"単価の引き上げ効果 {inputs.get('uplift', 1):.2f}倍"
        f"（過去の特別単価 {inputs.get('uplift_periods', 0)}件から推定）。"
        "過去8週間の同曜日平均の訪問者数、過去90日の成果率、過去の特別単価期間の実績をもとに、"
        "乱数シミュレーションで80%の区間を求めています。"
    )

    document.heading("プロモーションメニュー")
    chosen = set(forecast.promotions or [])
    document.data_table(
        [("実施", "text", 16), ("メニュー", "text", 34), ("内容", "text", 130)],
        [("○" if key in chosen else "", name, text) for key, (name, text) in PROMOTION_MENU.items()],
    )

    document.heading("過去実績（直近12か月）")
    document.data_table(
        [
            ("月", "text", 30),
            ("成果件数", "count", 30),
            ("確定", "count", 30),
            ("承認率", "rate", 30),
            ("報酬額", "yen", 60),
        ],
        [
            (m["month"], m["conversions"], m["approved"], m["approval_rate"], m["reward"])
            for m in result.get("monthly", [])
        ],
    )
    document.heading("過去の特別単価と効果")
    periods = result.get("past_periods", [])
    if periods:
        document.data_table(
            [("期間", "text", 70), ("単価倍率", "decimal", 36), ("成果率の伸び", "text", 36), ("", "text", 38)],
            [
                (f"{p['start']}〜{p['end']}", p["ratio"], f"{p['uplift']:.2f}倍" if p["uplift"] else "—", "")
                for p in periods
            ],
        )
    else:
        document.paragraph("この案件の過去の特別単価の実績はありません（同カテゴリの実績から推定しています）。")

    past = accuracy()
    document.heading("予測の精度（過去の特別単価での検証）")
    if past:
        category = (past.get("by_category") or {}).get(offer.category) or {}
        document.paragraph(
            f"全体: 検証期間 {past.get('periods', 0)}件、平均誤差率(MAPE) {_pct(past.get('mape'))}、"
            f"誤差率の中央値 {_pct(past.get('median_ape'))}、80%区間に実績が入った割合 {_pct(past.get('coverage'))}。"
            + (
                f" 同カテゴリ: {category.get('periods', 0)}件、MAPE {_pct(category.get('mape'))}、"
                f"区間内 {_pct(category.get('coverage'))}。"
                if category
                else ""
            )
        )
    else:
        document.paragraph("検証はまだ行われていません。")
    return document.to_bytes()


def render_xlsx(forecast: Forecast) -> bytes:
    offer = forecast.offer
    inputs, result = forecast.inputs, forecast.result
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "予測"
    facts: list[tuple[str, Any, str | None]] = [
        ("宛先", f"{offer.advertiser.name} 御中", None),
        ("案件", offer.name, None),
        ("開始日", forecast.period_start, xlsx.DATE),
        ("終了日", forecast.period_end, xlsx.DATE),
        ("ご提案単価", reward_text(forecast.reward_type, forecast.rate, forecast.amount), None),
        ("現行単価", current_reward_text(forecast), None),
        ("1件あたり報酬（円）", result.get("yen_per_acquisition"), xlsx.YEN),
        ("訪問者数の見込み（延べ日次UU）", inputs.get("unique_visitors"), xlsx.FLOAT),
        ("コンバージョン率", inputs.get("conversion_rate"), "0.00%"),
        ("単価引き上げ効果（倍）", inputs.get("uplift"), "0.00"),
        ("予測区間", result.get("interval"), xlsx.RATE),
    ]
    for label, low, mid, high, kind in forecast_rows(forecast):
        fmt = xlsx.YEN if kind == "yen" else xlsx.COUNT
        facts += [(f"{label} 下限", low, fmt), (f"{label} 中央値", mid, fmt), (f"{label} 上限", high, fmt)]
    xlsx.facts_sheet(summary, facts)
    xlsx.sheet(
        book,
        "過去実績",
        [
            ("月", None, lambda m: m["month"]),
            ("成果件数", xlsx.COUNT, lambda m: m["conversions"]),
            ("確定", xlsx.COUNT, lambda m: m["approved"]),
            ("否認", xlsx.COUNT, lambda m: m["rejected"]),
            ("承認率", xlsx.RATE, lambda m: m["approval_rate"]),
            ("報酬額", xlsx.YEN, lambda m: m["reward"]),
        ],
        result.get("monthly", []),
    )
    xlsx.sheet(
        book,
        "特別単価履歴",
        [
            ("開始日", None, lambda p: p["start"]),
            ("終了日", None, lambda p: p["end"]),
            ("単価倍率", "0.00", lambda p: p["ratio"]),
            ("期間前の成果率", "0.000%", lambda p: p["before_rate"]),
            ("期間中の成果率", "0.000%", lambda p: p["during_rate"]),
            ("伸び（倍）", "0.00", lambda p: p["uplift"]),
        ],
        result.get("past_periods", []),
    )
    chosen = set(forecast.promotions or [])
    xlsx.sheet(
        book,
        "プロモーションメニュー",
        [
            ("実施", None, lambda item: "○" if item[0] in chosen else ""),
            ("メニュー", None, lambda item: item[1][0]),
            ("内容", None, lambda item: item[1][1]),
        ],
        list(PROMOTION_MENU.items()),
    )
    return xlsx.to_bytes(book)
