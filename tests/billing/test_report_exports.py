"""The monthly report's files read back: the workbook's values, number formats and Japanese headers, and the
PDF's text."""

import datetime as dt
import io

import pytest
from django.utils import translation
from openpyxl import load_workbook
from pypdf import PdfReader

from banso.billing import report_exports, reports

from .factories_report import build_mall

MAY = dt.date(2025, 5, 1)


@pytest.fixture
def report(db):
    build_mall()
    return reports.build(MAY)


def test_workbook_has_values_formats_and_japanese_headers(report):
    with translation.override("ja"):
        book = load_workbook(io.BytesIO(report_exports.workbook(report)))
        merchant_header = translation.gettext("Sales (yen)")
    assert book.sheetnames[0] == "概要"
    assert "推移" in book.sheetnames
    summary = {row[0].value: row[1] for row in book["概要"].iter_rows() if row[0].value}
    month = summary["月"]
    assert month.value == dt.datetime(2025, 5, 1) and month.number_format == "yyyy-mm"
    merchants = book[book.sheetnames[1]]
    headers = [c.value for c in merchants[1]]
    assert headers[0] == "事業者"
    sales_col = headers.index(merchant_header) + 1
    first = merchants.cell(row=2, column=sales_col)
    assert (first.value, first.number_format) == (45_000, "#,##0")
    assert merchants.cell(row=2, column=1).value == "湯けむり旅館"
    mom = merchants.cell(row=2, column=headers.index(translation.gettext("Sales month on month")) + 1)
    assert mom.value == pytest.approx(0.8) and mom.number_format == "0.0%"
    no_base = merchants.cell(row=3, column=headers.index(translation.gettext("Sales month on month")) + 1)
    assert no_base.value is None
    trend = book["推移"]
    assert trend["A1"].value == "月"
    assert trend.cell(row=14, column=1).value == dt.datetime(2025, 5, 1)
    assert trend.cell(row=14, column=1).number_format == "yyyy-mm"
    assert trend.cell(row=14, column=4).value == 60_000
    plans = book[book.sheetnames[2]]
    assert [c.value for c in plans[1]][:2] == ["事業者", "プラン"]
    assert plans.cell(row=2, column=2).value == "一泊二食プラン"


def test_pdf_text_names_the_merchants_and_figures(report):
    with translation.override("ja"):
        body = report_exports.pdf(report)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    assert "湯けむり旅館" in text
    assert "¥60,000" in text  # the month's sales
    assert "¥45,000" in text
    assert "140.0%" in text  # sales month on month
    assert "2025-05" in text
    assert "一泊二食プラン" in text
