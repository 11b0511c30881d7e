"""Client reports: the content frozen at generation, the PDF (Japanese text read back with pypdf) and the
XLSX (values and number formats read back with openpyxl), and "mark as sent"."""

import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from banso.accounts.choices import AccountKind
from banso.core.choices import Role
from banso.funnels.models import ClientReport
from banso.success.models import Touch
from tests.accounts.factories import AccountFactory

from .factories import FunnelFactory, add_funnel

DAY = dt.date(2026, 10, 20)


def _plain(text: str) -> str:
    """pypdf puts spaces (or NULs) between CJK glyphs of the embedded subset: drop them before comparing."""
    return re.sub(r"[\s\x00]+", "", text)


@pytest.fixture
def report(client_as, db):
    FunnelFactory()
    clients = [AccountFactory(kind=AccountKind.CLIENT, industry="IT", name=f"顧客{i}") for i in range(4)]
    for client in clients[:3]:
        add_funnel(client, DAY, applied=20, interviewed=10, offered=5)
    add_funnel(clients[3], DAY, applied=1200, interviewed=120, offered=60)
    Touch.objects.create(
        account=clients[3], channel="phone", outcome="question", occurred_at=dt.datetime(2026, 10, 5, 3, tzinfo=dt.UTC)
    )
    response = client_as(Role.OPS_MANAGER).post(
        "/funnels/reports/generate/", {"account": clients[3].pk, "period": "2026-10"}
    )
    assert response.status_code == 302
    return ClientReport.objects.get(account=clients[3])


def test_report_content_is_frozen_with_funnel_trend_and_actions(report):
    data = report.data
    assert (report.period_start, report.period_end) == (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    assert [s["count"] for s in data["stages"]] == [1200, 120, 60]
    assert data["stages"][1]["rate"] == pytest.approx(0.1) and data["stages"][1]["benchmark"] == pytest.approx(0.5)
    assert data["bottleneck"]["stage"] == "面接実施"
    assert data["trend"][-1]["counts"] == [1200, 120, 60]
    assert len(data["actions"]) == 1 and data["actions"][0]["date"] == "2026-10-05"


def test_report_pdf_is_japanese_with_numbers(client_as, report):
    response = client_as(Role.CSM).get(f"/funnels/reports/{report.pk}.pdf")
    assert response["Content-Type"] == "application/pdf"
    text = _plain("".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages))
    assert "顧客3" in text and "面接実施" in text
    assert "1,200" in text and "10.0%" in text and "50.0%" in text
    assert "2026-10-05" in text


def test_report_xlsx_has_real_numbers_and_formats(client_as, report):
    response = client_as(Role.CSM).get(f"/funnels/reports/{report.pk}.xlsx")
    book = load_workbook(io.BytesIO(response.content))
    assert len(book.sheetnames) == 4
    funnel = book.worksheets[1]
    assert funnel["A3"].value == "面接実施"
    assert (funnel["B2"].value, funnel["B2"].number_format) == (1200, "#,##0")
    assert funnel["C3"].value == pytest.approx(0.1) and funnel["C3"].number_format == "0.0%"
    summary = book.worksheets[0]
    assert summary["B3"].value == dt.datetime(2026, 10, 1) and summary["B3"].number_format == "yyyy-mm-dd"
    actions = book.worksheets[3]
    assert actions["A2"].value == dt.datetime(2026, 10, 5) and actions["A2"].number_format == "yyyy-mm-dd"


def test_mark_sent_once_and_only_by_managers(client_as, report):
    assert client_as(Role.CSM).post(f"/funnels/reports/{report.pk}/sent/").status_code == 403
    client_as(Role.OPS_MANAGER).post(f"/funnels/reports/{report.pk}/sent/")
    report.refresh_from_db()
    first = report.sent_at
    assert first is not None and report.sent_by is not None
    client_as(Role.OPS_MANAGER).post(f"/funnels/reports/{report.pk}/sent/")
    report.refresh_from_db()
    assert report.sent_at == first


def test_report_command_writes_the_workbook(report, tmp_path):
    from django.core.management import call_command

    out = tmp_path / "r.xlsx"
    call_command("funnels", "report", str(report.account_id), "--period", "2026-10", "-o", str(out))
    assert load_workbook(out).worksheets[1]["B2"].value == 1200


def test_bulk_reports_for_one_csm_run_in_the_background(
    client_as, db, user_with_role, django_capture_on_commit_callbacks
):
    from banso.funnels import computing
    from banso.funnels.models import ReportBatch
    from banso.funnels.report_tasks import generate_reports_task

    funnel = FunnelFactory()
    csm = user_with_role(Role.CSM)
    mine = [AccountFactory(kind=AccountKind.CLIENT, industry="IT", owner=csm) for _ in range(2)]
    other = AccountFactory(kind=AccountKind.CLIENT, industry="IT")
    for client in [*mine, other]:
        add_funnel(client, DAY, applied=4, interviewed=2, offered=1)
    computing.compute_now(funnel, dt.date(2026, 10, 31))
    with django_capture_on_commit_callbacks(execute=False):
        response = client_as(Role.OPS_MANAGER).post("/funnels/reports/bulk/", {"period": "2026-10", "owner": csm.pk})
    batch = ReportBatch.objects.get()
    assert response["Location"] == f"/funnels/reports/bulk/{batch.pk}/" and batch.status == "queued"
    generate_reports_task.call(batch.pk)
    batch.refresh_from_db()
    assert (batch.status, batch.reports, batch.percent) == ("succeeded", 2, 100)
    assert set(ClientReport.objects.values_list("account_id", flat=True)) == {c.pk for c in mine}
    assert generate_reports_task.call(batch.pk) == "succeeded"  # a second delivery does nothing
    assert ClientReport.objects.count() == 2
