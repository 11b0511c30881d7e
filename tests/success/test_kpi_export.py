"""The month's KPIs as XLSX, read back with openpyxl: sheets, Japanese headers, values and number formats."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from openpyxl import load_workbook

from banso.core.choices import Role
from banso.success import kpi_exports

from ..accounts.factories import AccountFactory, ContractFactory
from ..core.factories import UserFactory
from .factories import CoveragePlanFactory, CoverageTargetFactory, TouchFactory

pytestmark = pytest.mark.django_db
APRIL = dt.date(2026, 4, 1)


def _data():
    csm = UserFactory(display_name="山田")
    plan = CoveragePlanFactory(month=APRIL)
    targets = [CoverageTargetFactory(plan=plan, assignee=csm) for _ in range(4)]
    TouchFactory(
        account=targets[0].account, csm=csm, occurred_at=dt.datetime(2026, 4, 8, tzinfo=ZoneInfo("Asia/Tokyo"))
    )
    account = AccountFactory(owner=csm, name="継続商事", mrr=123_456)
    ContractFactory(account=account, start_date=dt.date(2025, 1, 1), mrr=123_456)
    return csm


def _header_index(sheet) -> dict[str, int]:
    return {cell.value: cell.column for cell in sheet[1]}


def test_workbook_has_japanese_headers_real_rates_and_yen():
    _data()
    with translation.override("ja"):
        book = load_workbook(io.BytesIO(kpi_exports.workbook_bytes(APRIL)))
        per_person = book[book.sheetnames[1]]
        headers = _header_index(per_person)

        touch_rate = gettext("Touch rate")

    assert len(book.sheetnames) == 5 and book.sheetnames[0] == "概要"
    assert "月初MRR" in headers and touch_rate in headers
    rate = per_person.cell(row=2, column=headers[touch_rate])
    assert rate.value == pytest.approx(0.25) and rate.number_format == "0.0%"
    mrr = per_person.cell(row=2, column=headers["月初MRR"])
    assert mrr.value == 123_456 and mrr.number_format == "#,##0"
    accounts = book[book.sheetnames[4]]
    names = [row[0] for row in accounts.iter_rows(min_row=2, values_only=True)]
    assert "継続商事" in names
    assert len(book[book.sheetnames[3]]["A"]) == 13  # header + twelve months


def test_download_is_named_by_month(client_as):
    response = client_as(Role.VIEWER).get(reverse("success:kpi_export"), {"month": "2026-04"})

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="kpis-202604.xlsx"'
    assert load_workbook(io.BytesIO(response.content)).sheetnames
