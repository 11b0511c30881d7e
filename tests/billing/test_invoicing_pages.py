"""Staff invoice pages and the billing settings page (and the same rules through the API)."""

import datetime as dt

import pytest
from django.db import transaction

from banso.billing.invoicing import LineSpec, issue_credit_note
from banso.billing.models import BillingSettings
from banso.core.choices import Role
from banso.core.models import AuditEntry

from .factories_invoicing import MerchantFactory, closed_month, issuer, merchant_documents


@pytest.fixture(autouse=True)
def _documents_in_tmp(settings, tmp_path):
    settings.BANSO_DOCUMENTS_DIR = tmp_path / "documents"


@pytest.fixture
def documents(db):
    issuer()
    close = closed_month()
    a = merchant_documents(MerchantFactory(name="旅館あさひ"), close)
    b = merchant_documents(MerchantFactory(name="ホテルみなと"), close)
    with transaction.atomic():
        note = issue_credit_note(
            merchant=a[1].merchant,
            original=a[1],
            lines=[LineSpec("販売手数料の返還", 500, 10, dt.date(2026, 11, 10))],
            issue_date=dt.date(2026, 11, 10),
        )
    return {"a": a, "b": b, "note": note}


def test_the_invoice_list_filters_by_month_merchant_and_kind(client_as, documents):
    staff = client_as(Role.OPS_MANAGER)
    (_sa, invoice_a), (_sb, invoice_b), note = documents["a"], documents["b"], documents["note"]
    page = staff.get("/billing/invoices/").content.decode()
    assert invoice_a.number in page and invoice_b.number in page and note.number in page
    page = staff.get("/billing/invoices/", {"merchant": "みなと"}).content.decode()
    assert invoice_b.number in page and invoice_a.number not in page
    page = staff.get("/billing/invoices/", {"kind": "credit_note"}).content.decode()
    assert note.number in page and invoice_a.number not in page
    page = staff.get("/billing/invoices/", {"month": "2026-10"}).content.decode()
    assert invoice_a.number in page and note.number not in page  # the note's period is November


def test_an_invoice_page_shows_lines_and_totals_per_rate(client_as, documents):
    _statement, invoice = documents["a"]
    page = client_as(Role.ADMIN).get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert "T7000012050002" in page
    assert "ご当地グルメ特集の試食品 ※" in page
    assert "¥5,222" in page and "¥522" in page  # 10%
    assert "¥1,000" in page and "¥80" in page  # 8%
    assert "¥6,824" in page
    assert documents["note"].number in page  # its credit note


def test_invoice_pages_need_the_billing_role(client_as, documents):
    _statement, invoice = documents["a"]
    assert client_as(Role.CSM).get("/billing/invoices/").status_code == 403
    assert client_as(Role.CSM).get(f"/billing/invoices/{invoice.pk}/").status_code == 403


def test_settings_are_saved_with_the_registration_number_normalised_and_audited(client_as):
    staff = client_as(Role.OPS_MANAGER)
    data = {
        "issuer_name": "株式会社バンソウ観光",
        "registration_number": "ｔ７０００-０１２０-５０００２",
        "address": "東京都千代田区",
        "phone": "",
        "bank_account": "",
        "invoice_prefix": "INV",
        "credit_note_prefix": "CN",
        "default_commission_rate": "12.5",
        "default_payment_fee_rate": "3.6",
        "payment_terms_days": "25",
        "repeat_window_days": "180",
        "fiscal_year_start_month": "4",
    }
    response = staff.post("/billing/invoices/settings/", data)
    assert response.status_code == 302
    billing = BillingSettings.current()
    assert billing.registration_number == "T7000012050002"
    assert billing.payment_terms_days == 25 and str(billing.default_commission_rate) == "12.50"
    assert AuditEntry.objects.filter(object_type="billing.billingsettings").exists()


def test_a_wrong_registration_number_is_refused_and_nothing_changes(client_as):
    issuer()
    staff = client_as(Role.ADMIN)
    response = staff.post(
        "/billing/invoices/settings/",
        {
            "issuer_name": "別名",
            "registration_number": "T8000012050002",
            "invoice_prefix": "INV",
            "credit_note_prefix": "CN",
            "default_commission_rate": "10",
            "default_payment_fee_rate": "3.6",
            "payment_terms_days": "30",
            "repeat_window_days": "365",
            "fiscal_year_start_month": "4",
        },
    )
    assert response.status_code == 422
    assert "T8000012050002" in response.content.decode()
    assert BillingSettings.current().issuer_name == "株式会社バンソウ観光"


def test_the_settings_page_needs_the_manage_role(client_as):
    assert client_as(Role.CSM).get("/billing/invoices/settings/").status_code == 403
    assert client_as(Role.OPS_MANAGER).get("/billing/invoices/settings/").status_code == 200


def test_the_api_lists_invoices_with_filters_and_serves_detail_and_pdf(api_as, documents):
    api = api_as(Role.OPS_MANAGER)
    (_sa, invoice_a), note = documents["a"], documents["note"]
    body = api.get("/api/billing/invoices", {"kind": "credit_note"}).json()
    assert body["count"] == 1 and body["items"][0]["number"] == note.number
    body = api.get("/api/billing/invoices", {"month": "2026-10", "merchant": str(invoice_a.merchant_id)}).json()
    assert [item["number"] for item in body["items"]] == [invoice_a.number]
    detail = api.get(f"/api/billing/invoices/{invoice_a.pk}").json()
    assert detail["totals_per_rate"] == [
        {"rate": 10, "subtotal": 5222, "tax": 522, "total": 5744},
        {"rate": 8, "subtotal": 1000, "tax": 80, "total": 1080},
    ]
    assert [line["reduced_rate"] for line in detail["lines"]] == [False, False, True]
    assert detail["credit_note_ids"] == [note.pk]
    pdf = api.get(f"/api/billing/invoices/{invoice_a.pk}/pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert api.get("/api/billing/invoices", {"month": "10/2026"}).status_code == 422
    assert api_as(Role.CSM).get("/api/billing/invoices").status_code == 403


def test_the_api_reads_and_changes_settings_with_the_same_rules(api_as, db):
    issuer()
    api = api_as(Role.ADMIN)
    assert api.get("/api/billing/invoices/settings").json()["registration_number_valid"] is True
    refused = api.put(
        "/api/billing/invoices/settings", {"registration_number": "T123"}, content_type="application/json"
    )
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["field"] == "registration_number"
    changed = api.put(
        "/api/billing/invoices/settings", {"payment_terms_days": 45}, content_type="application/json"
    ).json()
    assert changed["payment_terms_days"] == 45 and changed["registration_number"] == "T7000012050002"
    assert api_as(Role.CSM).get("/api/billing/invoices/settings").status_code == 403
