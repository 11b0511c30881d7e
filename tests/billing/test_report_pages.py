"""The monthly report's pages, API and command: who may see them, what they show and what they download."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from banso.core.choices import Role

from .factories_report import BookingFactory, MerchantFactory, build_mall, tokyo


@pytest.fixture
def mall(db):
    return build_mall()


def test_billing_index_leads_to_last_months_report(client_as):
    client = client_as(Role.OPS_MANAGER)
    response = client.get(reverse("billing:index"))
    assert response.status_code == 302 and response["Location"] == reverse("billing:report")
    assert client.get(reverse("billing:report")).status_code == 200


def test_report_page_shows_headline_merchants_and_definitions(client_as, mall):
    response = client_as(Role.OPS_MANAGER).get(reverse("billing:report"), {"month": "2025-05"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "¥60,000" in page
    assert "+140.0%" in page  # sales month on month
    assert "湯けむり旅館" in page and "港の朝市" in page
    assert "66.7%" in page  # repeat rate 2 of 3
    assert 'data-chart="chart-sales"' in page


def test_report_table_searches_by_reading_and_sorts(client_as, mall):
    client = client_as(Role.ADMIN)
    page = client.get(reverse("billing:report"), {"month": "2025-05", "q": "みなと"}).content.decode()
    table = page.split('id="report-merchant-table"')[1].split("</table>")[0]
    assert "港の朝市" in table and "湯けむり旅館" not in table
    page = client.get(reverse("billing:report"), {"month": "2025-05", "sort": "name", "dir": "asc"}).content.decode()
    table = page.split('id="report-merchant-table"')[1].split("</table>")[0]
    assert table.index("港の朝市") < table.index("湯けむり旅館")  # みなと before ゆけむり


def test_bad_month_is_not_found(client_as):
    assert client_as(Role.OPS_MANAGER).get(reverse("billing:report"), {"month": "2025-13"}).status_code == 404


def test_merchant_drill_down_lists_its_bookings_and_refunds(client_as, mall):
    url = reverse("billing:report_merchant", args=[mall["a"].pk])
    response = client_as(Role.OPS_MANAGER).get(url, {"month": "2025-05"})
    assert response.status_code == 200
    page = response.content.decode()
    bookings = page.split('id="merchant-bookings"')[1].split("</table>")[0]
    assert bookings.count("<tr>") == 3  # header + two May bookings
    refunds = page.split('id="merchant-refunds"')[1].split("</table>")[0]
    assert "¥5,000" in refunds and "2025-04-20" in refunds


def test_downloads(client_as, mall):
    client = client_as(Role.OPS_MANAGER)
    xlsx = client.get(reverse("billing:report_xlsx"), {"month": "2025-05"})
    assert xlsx.status_code == 200 and "merchant-report-2025-05.xlsx" in xlsx["Content-Disposition"]
    assert load_workbook(io.BytesIO(xlsx.content)).sheetnames[0] == "概要"
    pdf = client.get(reverse("billing:report_pdf"), {"month": "2025-05"})
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert "湯けむり旅館" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)


@pytest.mark.parametrize("role", [Role.CSM, Role.VIEWER, Role.SUPPORT_AGENT, Role.MERCHANT_USER])
def test_roles_without_billing_are_refused(client_as, api_as, mall, role):
    client = client_as(role)
    for name in ("billing:report", "billing:report_xlsx", "billing:report_pdf"):
        assert client.get(reverse(name), {"month": "2025-05"}).status_code == 403
    assert client.get(reverse("billing:report_merchant", args=[mall["a"].pk])).status_code == 403
    api = api_as(role)
    for suffix in ("", "/xlsx", "/pdf"):
        assert api.get(f"/api/billing/reports/2025-05{suffix}").status_code == 403


def test_api_report_json(api_as, mall):
    response = api_as(Role.OPS_MANAGER).get("/api/billing/reports/2025-05")
    assert response.status_code == 200
    data = response.json()
    assert data["month"] == "2025-05"
    assert data["totals"]["current"]["sales"] == 60_000
    assert data["totals"]["sales_mom"] == pytest.approx(1.4)
    assert data["members"]["repeat"] == 2 and data["members"]["repeat_window_days"] == 365
    assert [m["name"] for m in data["merchants"]] == ["湯けむり旅館", "港の朝市"]
    assert len(data["trend"]) == 13
    assert data["by_tax_rate"][1] == {"rate": 8, "sales": 10_000, "refunds": 0, "excluding_tax": 9_260, "tax": 740}


def test_api_refuses_a_bad_month_naming_it(api_as, db):
    response = api_as(Role.ADMIN).get("/api/billing/reports/May-2025")
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "month"


def test_api_files(api_as, mall):
    api = api_as(Role.ADMIN)
    xlsx = api.get("/api/billing/reports/2025-05/xlsx")
    assert xlsx.status_code == 200
    assert load_workbook(io.BytesIO(xlsx.content))["概要"]["B1"].value == dt.datetime(2025, 5, 1)
    pdf = api.get("/api/billing/reports/2025-05/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_command_writes_xlsx_and_pdf(mall, tmp_path):
    xlsx = tmp_path / "report.xlsx"
    call_command("billing", "report", "--month", "2025-05", "-o", str(xlsx))
    book = load_workbook(xlsx)
    assert book.sheetnames[0] == "概要"
    pdf = tmp_path / "report.pdf"
    call_command("billing", "report", "--month", "2025-05", "-o", str(pdf))
    text = "".join(p.extract_text() for p in PdfReader(pdf).pages)
    assert "湯けむり旅館" in text


def test_command_refuses_other_file_types(mall, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=r"xlsx or \.pdf"):
        call_command("billing", "report", "--month", "2025-05", "-o", str(tmp_path / "r.csv"))


def test_report_page_query_count_does_not_grow_with_merchants(client_as, mall, django_assert_max_num_queries):
    for _ in range(30):
        BookingFactory(provider=MerchantFactory(), end_user=None, scheduled_at=tokyo(2025, 5, 7))
    client = client_as(Role.OPS_MANAGER)
    with django_assert_max_num_queries(25):
        assert client.get(reverse("billing:report"), {"month": "2025-05"}).status_code == 200
