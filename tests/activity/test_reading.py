"""Files in every encoding Japanese users send, and workbooks, read into the same rows."""

import datetime

import pytest

from banso.accounts.models import Account, Contract
from banso.activity.importing import ImportRefused, import_bytes

from .factories import AccountFactory
from .helpers import csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db

ACCOUNTS = ("external_id,name,name_kana", "A1,株式会社伴走,バンソウ", "A2,ｱｲｳ商事,アイウショウジ")


def test_cp932_file_from_excel_is_read():
    result = import_bytes("accounts", "crm", csv_bytes(*ACCOUNTS, encoding="cp932"), "accounts.csv")
    assert result.created == 2
    assert Account.objects.get(external_id="A1").name == "株式会社伴走"


def test_utf8_with_bom_is_read_and_bom_is_not_part_of_the_first_column():
    result = import_bytes("accounts", "crm", csv_bytes(*ACCOUNTS, bom=True), "accounts.csv")
    assert result.created == 2
    assert Account.objects.get(external_id="A2").search_text  # filled by the bulk path too


def test_utf8_without_bom_is_read():
    assert import_bytes("accounts", "crm", csv_bytes(*ACCOUNTS), "a.csv").created == 2


def test_undecodable_bytes_are_refused_naming_the_encoding_and_line():
    data = csv_bytes("external_id,name", "A1,ok") + b"A2,\x80\xff\xfe\n"
    with pytest.raises(ImportRefused) as refused:
        import_bytes("accounts", "crm", data, "a.csv")
    (error,) = refused.value.errors
    assert error["row"] == 3
    assert "UTF-8" in error["reason"] and "Shift_JIS" in error["reason"]
    assert not Account.objects.exists()


def test_bom_followed_by_invalid_utf8_is_refused():
    with pytest.raises(ImportRefused):
        import_bytes("accounts", "crm", b"\xef\xbb\xbfexternal_id,name\nA1,\x82\xa0\n", "a.csv")


def test_xlsx_workbook_is_read_with_dates_and_numbers():
    AccountFactory(external_id="A1")
    data = xlsx_bytes(
        [
            ["external_id", "account", "plan", "mrr", "start_date", "auto_renew"],
            ["C1", "A1", "Pro", 12000, datetime.datetime(2024, 4, 1), True],
            ["C2", "A1", "Basic", 3000.0, "2024/5/1", None],
        ]
    )
    result = import_bytes("contracts", "crm", data, "contracts.xlsx")
    assert result.created == 2
    c1 = Contract.objects.get(external_id="C1")
    assert (c1.mrr, c1.start_date, c1.auto_renew) == (12000, datetime.date(2024, 4, 1), True)
    assert Contract.objects.get(external_id="C2").start_date == datetime.date(2024, 5, 1)


def test_xlsx_fractional_yen_is_reported_with_its_row():
    AccountFactory(external_id="A1")
    data = xlsx_bytes(
        [["external_id", "account", "plan", "mrr", "start_date"], ["C1", "A1", "Pro", 1200.5, "2024-04-01"]]
    )
    with pytest.raises(ImportRefused) as refused:
        import_bytes("contracts", "crm", data, "contracts.xlsx")
    assert [(e["row"], e["column"]) for e in refused.value.errors] == [(2, "mrr")]


def test_empty_rows_and_blank_trailing_columns_from_excel_are_ignored():
    data = csv_bytes("external_id,name,", "A1,伴走,", ",,", "A2,二社目,")
    assert import_bytes("accounts", "crm", data, "a.csv").created == 2
