"""The account list downloads for Excel: CSV with a BOM and XLSX with real yen and date cells, filtered."""

import csv
import datetime
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from banso.accounts import exports
from banso.core.choices import Role

from .factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts():
    AccountFactory(name="青葉商事", name_kana="アオバショウジ", tier="high", mrr=120_000,
                   next_renewal_date=datetime.date(2027, 1, 15))  # fmt: skip
    AccountFactory(name="桜テック", name_kana="サクラテック", tier="low", mrr=30_000)


def test_csv_download_opens_in_excel_with_japanese_headers_and_only_the_filtered_rows(client_as, accounts):
    response = client_as(Role.VIEWER).get(reverse("accounts:export", args=["csv"]), {"tier": "high"})
    assert response["Content-Disposition"].startswith('attachment; filename="accounts-')
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][2:4] == ["名称", "フリガナ"] and "MRR" in rows[0]
    assert [r[2] for r in rows[1:]] == ["青葉商事"]
    assert rows[1][rows[0].index("MRR")] == "120000"


def test_xlsx_download_has_yen_and_date_cells(client_as, accounts):
    response = client_as(Role.CSM).get(reverse("accounts:export", args=["xlsx"]), {"sort": "-mrr"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    mrr, renewal = sheet.cell(2, header.index("MRR") + 1), sheet.cell(2, header.index("次回契約更新日") + 1)
    assert sheet.cell(2, 3).value == "青葉商事"
    assert mrr.value == 120_000 and isinstance(mrr.value, int)
    assert "¥" in mrr.number_format
    assert renewal.value.date() == datetime.date(2027, 1, 15)
    assert sheet.max_row == 3


def test_too_many_rows_for_xlsx_sends_the_user_back_to_choose_csv(client_as, accounts, monkeypatch):
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 1)
    client = client_as(Role.CSM)
    response = client.get(reverse("accounts:export", args=["xlsx"]), {"kind": "customer"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/?kind=customer"
    assert "CSV" in client.get(response["Location"]).content.decode()


def test_unknown_format_is_not_found(client_as):
    assert client_as(Role.CSM).get("/accounts/export.pdf").status_code == 404
