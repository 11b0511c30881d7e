"""Month close pages, API and command: who may see and change what, and that every path goes through the
same services (rules refused for overlaps naming the field, charges and corrections only into open months)."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from pypdf import PdfReader

from banso.billing import closing
from banso.billing.models import Adjustment, CommissionRule, MerchantCharge, MonthClose, Statement
from banso.core.choices import Role
from banso.core.models import AuditEntry

from .factories_close import BookingFactory, MerchantFactory, RuleFactory, issuer, tokyo

OCTOBER = dt.date(2026, 10, 1)
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def october(db):
    issuer()
    merchant = MerchantFactory(name="旅館あおば")
    RuleFactory()
    BookingFactory(provider=merchant, scheduled_at=tokyo(2026, 10, 5), amount=33_000)
    return merchant


def test_ops_manager_previews_and_closes_a_month_from_the_pages(october, client_as, django_capture_on_commit_callbacks):
    client = client_as(Role.OPS_MANAGER)
    page = client.get("/billing/closes/")
    assert page.status_code == 200 and "2026-10" in page.content.decode()
    preview = client.get("/billing/closes/2026-10/preview/")
    assert preview.status_code == 200 and "旅館あおば" in preview.content.decode()
    assert "¥33,000" in preview.content.decode()

    with override_settings(TASKS=IMMEDIATE), django_capture_on_commit_callbacks(execute=True):
        response = client.post("/billing/closes/2026-10/close/")
    assert response.status_code == 302
    run = MonthClose.objects.get(as_of=OCTOBER)
    assert run.close_status == "closed" and run.status == "succeeded"
    progress = client.get(f"/billing/closes/runs/{run.pk}/progress/", HTTP_HX_REQUEST="true")
    assert progress["HX-Refresh"] == "true"

    statements = client.get("/billing/statements/?month=2026-10&q=あおば")
    assert "ST-202610-000001" in statements.content.decode()
    statement = Statement.objects.get()
    detail = client.get(f"/billing/statements/{statement.pk}/")
    body = detail.content.decode()
    assert detail.status_code == 200 and "¥33,000" in body and "INV-202610-000001" in body
    pdf = client.get(f"/billing/statements/{statement.pk}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "旅館あおば" in text and "33,000" in text
    again = client.post("/billing/closes/2026-10/close/", follow=True)
    assert "締め済み" in again.content.decode() or "already closed" in again.content.decode()


def test_a_csm_cannot_see_billing_and_a_viewer_cannot_close(october, client_as):
    assert client_as(Role.CSM).get("/billing/closes/").status_code == 403
    assert client_as(Role.CSM).post("/billing/closes/2026-10/close/").status_code == 403
    assert not MonthClose.objects.exists()


def test_rule_overlap_is_refused_naming_the_field(october, client_as):
    client = client_as(Role.OPS_MANAGER)
    client.post(
        "/billing/rules/new/",
        {"merchant": october.pk, "commission_rate": "12", "payment_fee_rate": "3.6", "effective_from": "2026-11-01"},
    )
    response = client.post(
        "/billing/rules/new/",
        {"merchant": october.pk, "commission_rate": "9", "payment_fee_rate": "3.6", "effective_from": "2026-12-01"},
    )
    assert response.status_code == 422
    assert CommissionRule.objects.filter(merchant=october).count() == 1
    assert AuditEntry.objects.filter(object_type="billing.commissionrule").count() == 1


def test_api_rules_refuse_overlap_and_dates_in_a_closed_month(october, api_as):
    closing.close_month(OCTOBER)
    api = api_as(Role.OPS_MANAGER)
    created = api.post(
        "/api/billing/rules",
        {"merchant_id": october.pk, "commission_rate": "12", "payment_fee_rate": "3.6", "effective_from": "2026-11-01"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    overlap = api.post(
        "/api/billing/rules",
        {"merchant_id": october.pk, "commission_rate": "9", "payment_fee_rate": "3", "effective_from": "2026-12-01"},
        content_type="application/json",
    )
    assert overlap.status_code == 422
    assert overlap.json()["detail"][0]["field"] == "effective_from"
    closed = api.post(
        "/api/billing/rules",
        {"commission_rate": "9", "payment_fee_rate": "3", "effective_from": "2026-10-20", "plan": ""},
        content_type="application/json",
    )
    assert closed.status_code == 422 and closed.json()["detail"][0]["field"] == "effective_from"
    ended = api.post(
        f"/api/billing/rules/{created.json()['id']}/end",
        {"effective_to": "2026-12-31"},
        content_type="application/json",
    )
    assert ended.status_code == 200 and ended.json()["effective_to"] == "2026-12-31"


def test_charges_and_corrections_go_only_into_open_months_and_are_audited(october, api_as, client_as):
    closing.close_month(OCTOBER)
    api = api_as(Role.OPS_MANAGER)
    refused = api.post(
        "/api/billing/charges",
        {"merchant_id": october.pk, "month": "2026-10", "description": "広告", "amount": 1000, "tax_rate": 10},
        content_type="application/json",
    )
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "month"
    bad_rate = api.post(
        "/api/billing/charges",
        {"merchant_id": october.pk, "month": "2026-11", "description": "土産品", "amount": 1000, "tax_rate": 5},
        content_type="application/json",
    )
    assert bad_rate.status_code == 422 and bad_rate.json()["detail"][0]["field"] == "tax_rate"
    ok = api.post(
        "/api/billing/charges",
        {"merchant_id": october.pk, "month": "2026-11", "description": "土産品", "amount": 1000, "tax_rate": 8},
        content_type="application/json",
    )
    assert ok.status_code == 201 and MerchantCharge.objects.get().tax_rate == 8

    client = client_as(Role.OPS_MANAGER)
    no_reason = client.post(
        "/billing/adjustments/new/",
        {"merchant": october.pk, "month": "2026-11", "description": "補正", "reason": "", "payout_amount": "-500"},
    )
    assert no_reason.status_code == 422 and not Adjustment.objects.exists()
    client.post(
        "/billing/adjustments/new/",
        {
            "merchant": october.pk,
            "month": "2026-11",
            "description": "補正",
            "reason": "二重計上",
            "payout_amount": "-500",
        },
    )
    adjustment = Adjustment.objects.get()
    assert (adjustment.payout_amount, adjustment.kind, adjustment.reason) == (-500, "correction", "二重計上")
    entry = AuditEntry.objects.get(object_type="billing.adjustment")
    assert entry.changes["reason"] == [None, "二重計上"] and entry.account_id == october.pk
    assert client.get("/billing/adjustments/").status_code == 200
    assert client.get("/billing/charges/").status_code == 200


def test_api_preview_close_and_statements(october, api_as, django_capture_on_commit_callbacks):
    api = api_as(Role.ADMIN)
    preview = api.get("/api/billing/closes/2026-10/preview")
    assert preview.status_code == 200
    row = preview.json()["merchants"][0]
    assert (row["sales"], row["invoice_total"]) == (33_000, 4_900)  # 3,300 + 1,155 = 4,455, tax 445
    with override_settings(TASKS=IMMEDIATE), django_capture_on_commit_callbacks(execute=True):
        queued = api.post("/api/billing/closes/2026-10/close")
    assert queued.status_code == 202
    run = api.get(f"/api/billing/closes/runs/{queued.json()['id']}").json()
    assert run["close_status"] == "closed" and run["merchants"] == 1
    listed = api.get("/api/billing/statements?month=2026-10").json()
    assert listed["count"] == 1 and listed["items"][0]["payout"] == 33_000 - row["invoice_total"]
    detail = api.get(f"/api/billing/statements/{listed['items'][0]['id']}").json()
    assert detail["lines"][0]["commission"] == 3_300
    assert api.post("/api/billing/closes/2026-10/close").status_code == 422
    assert api.get("/api/billing/closes").status_code == 200
    assert api_as(Role.CSM).get("/api/billing/closes").status_code == 403


def test_command_previews_and_closes(october, capsys):
    call_command("billing", "preview", "--month", "2026-10")
    assert "旅館あおば" in capsys.readouterr().out
    call_command("billing", "close", "--month", "2026-10")
    assert "2026-10 closed: 1 statements" in capsys.readouterr().out
    call_command("billing", "documents", "--month", "2026-10")
    assert "2026-10: 2 documents" in capsys.readouterr().out
    with pytest.raises(CommandError, match="2026-10"):
        call_command("billing", "close", "--month", "2026-10")
    with pytest.raises(CommandError, match="2026-11"):
        call_command("billing", "close", "--month", "2026-11")


def test_statement_pages_keep_their_query_count_whatever_the_number_of_merchants(
    october, client_as, django_assert_max_num_queries
):
    for i in range(6):
        BookingFactory(provider=MerchantFactory(name=f"宿{i}"), scheduled_at=tokyo(2026, 10, 10), amount=5_000)
    closing.close_month(OCTOBER)
    client = client_as(Role.OPS_MANAGER)
    with django_assert_max_num_queries(12):
        assert client.get("/billing/statements/?month=2026-10").status_code == 200
    statement = Statement.objects.filter(merchant=october).get()
    with django_assert_max_num_queries(15):
        assert client.get(f"/billing/statements/{statement.pk}/").status_code == 200
