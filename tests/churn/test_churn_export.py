"""The churn analysis workbook read back with openpyxl: sheets, Japanese headers, values and number formats;
also through `banso churn export`."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from banso.churn import analysis, exports
from banso.churn.analysis import Period

from .factories import ChurnRecordFactory, reason

D = datetime.date
Q1 = Period(D(2025, 1, 1), D(2025, 3, 1))


def _book(four_accounts):
    ChurnRecordFactory(
        account=four_accounts["A"],
        churned_on=D(2025, 2, 1),
        reason=reason("usage"),
        sub_reason=reason("usage-low"),
        lost_mrr=100_000,
    )
    return load_workbook(io.BytesIO(exports.workbook_bytes(analysis.analyse(Q1))))


def test_workbook_has_one_sheet_per_table_with_japanese_headers(four_accounts):
    book = _book(four_accounts)
    assert book.sheetnames == ["概要", "月次", "解約理由", "属性リフト", "コホート別継続率", "継続率曲線"]
    headers = [c.value for c in book["月次"][1]]
    assert headers[:6] == ["月", "月初の有効顧客数", "新規顧客数", "解約顧客数", "顧客数解約率", "月初MRR"]


def test_monthly_sheet_holds_real_numbers_with_yen_and_rate_formats(four_accounts):
    sheet = _book(four_accounts)["月次"]
    headers = [c.value for c in sheet[1]]
    jan = dict(zip(headers, sheet[2], strict=True))
    assert jan["月"].value == datetime.datetime(2025, 1, 1)
    assert jan["月"].number_format == "yyyy-mm"
    assert jan["月初MRR"].value == 350_000 and jan["月初MRR"].number_format == "#,##0"
    assert jan["NetMRR"].value == -60_000 and jan["NetMRR"].number_format == "#,##0"
    assert jan["顧客数解約率"].value == pytest.approx(1 / 3) and jan["顧客数解約率"].number_format == "0.0%"
    assert jan["GRR（月次）"].value == pytest.approx(200_000 / 350_000)
    assert jan["NRR（直近12か月）"].value == 0
    assert sheet.max_row == 4  # header + three months


def test_reasons_and_lift_sheets(four_accounts):
    book = _book(four_accounts)
    reasons = [[c.value for c in row] for row in book["解約理由"].iter_rows(min_row=2)]
    assert reasons == [
        ["利用定着せず", "（小計）", 1, 1, 100_000],
        ["利用定着せず", "利用頻度の低下（社内で活用が定着しなかった）", 1, 1, 100_000],
    ]
    assert book["解約理由"]["E2"].number_format == "#,##0"
    lift = {(r[0].value, r[1].value): r for r in book["属性リフト"].iter_rows(min_row=2)}
    high = lift[("タッチ区分", "ハイタッチ")]
    assert [c.value for c in high[2:4]] == [2, 1]  # A and C at risk, A churned
    assert high[6].value == pytest.approx((1 / 1) / (2 / 4))
    assert high[4].number_format == "0.0%"


def test_cli_writes_the_workbook(four_accounts, tmp_path):
    target = tmp_path / "churn.xlsx"
    call_command("churn", "export", "--from", "2025-01", "--to", "2025-03", "-o", str(target))
    book = load_workbook(target)
    assert book["月次"]["F2"].value == 350_000
    assert book["概要"]["B1"].value == datetime.datetime(2025, 1, 1)


def test_cli_refuses_a_backwards_period(db, tmp_path):
    with pytest.raises(CommandError, match="--to"):
        call_command("churn", "export", "--from", "2025-03", "--to", "2025-01", "-o", str(tmp_path / "x.xlsx"))
    with pytest.raises(CommandError, match="--from"):
        call_command("churn", "export", "--from", "March", "-o", str(tmp_path / "x.xlsx"))
