"""The merchant portal: a merchant user sees and downloads only the documents of its own merchants."""

import pytest

from banso.core.choices import Role

from .factories_invoicing import MerchantFactory, closed_month, issuer, merchant_documents


@pytest.fixture(autouse=True)
def _documents_in_tmp(settings, tmp_path):
    settings.BANSO_DOCUMENTS_DIR = tmp_path / "documents"


@pytest.fixture
def two_merchants(db):
    issuer()
    close = closed_month()
    a, b = MerchantFactory(name="旅館あさひ"), MerchantFactory(name="ホテルみなと")
    return {"a": (a, *merchant_documents(a, close)), "b": (b, *merchant_documents(b, close))}


def merchant_client(client_as, user_with_role, merchant):
    from django.test import Client

    user = user_with_role(Role.MERCHANT_USER)
    merchant.portal_users.add(user)
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_a_merchant_user_sees_only_its_own_documents(client_as, user_with_role, two_merchants):
    a, statement_a, invoice_a = two_merchants["a"]
    _b, statement_b, invoice_b = two_merchants["b"]
    page = merchant_client(client_as, user_with_role, a).get("/billing/portal/").content.decode()
    assert statement_a.number in page and invoice_a.number in page
    assert statement_b.number not in page and invoice_b.number not in page
    assert "ホテルみなと" not in page


@pytest.mark.django_db
def test_a_merchant_user_downloads_its_own_pdfs(client_as, user_with_role, two_merchants):
    a, statement_a, invoice_a = two_merchants["a"]
    client = merchant_client(client_as, user_with_role, a)
    for url in (f"/billing/portal/statements/{statement_a.pk}/pdf/", f"/billing/portal/invoices/{invoice_a.pk}/pdf/"):
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")


@pytest.mark.django_db
def test_another_merchants_documents_are_not_found(client_as, user_with_role, two_merchants):
    a, _statement_a, _invoice_a = two_merchants["a"]
    _b, statement_b, invoice_b = two_merchants["b"]
    client = merchant_client(client_as, user_with_role, a)
    assert client.get(f"/billing/portal/statements/{statement_b.pk}/pdf/").status_code == 404
    assert client.get(f"/billing/portal/invoices/{invoice_b.pk}/pdf/").status_code == 404


@pytest.mark.django_db
def test_a_merchant_user_cannot_reach_staff_pages_or_staff_downloads(client_as, user_with_role, two_merchants):
    a, statement_a, invoice_a = two_merchants["a"]
    client = merchant_client(client_as, user_with_role, a)
    assert client.get("/billing/invoices/").status_code == 403
    assert client.get(f"/billing/invoices/{invoice_a.pk}/pdf/").status_code == 403
    assert client.get(f"/billing/statements/{statement_a.pk}/pdf/").status_code == 403


@pytest.mark.django_db
def test_staff_download_any_merchants_documents(client_as, two_merchants):
    _b, statement_b, invoice_b = two_merchants["b"]
    staff = client_as(Role.OPS_MANAGER)
    assert staff.get(f"/billing/invoices/{invoice_b.pk}/pdf/").content.startswith(b"%PDF")
    assert staff.get(f"/billing/statements/{statement_b.pk}/pdf/").content.startswith(b"%PDF")


@pytest.mark.django_db
def test_a_merchant_user_without_a_linked_merchant_sees_no_documents(client_as, two_merchants):
    page = client_as(Role.MERCHANT_USER).get("/billing/portal/").content.decode()
    for _merchant, statement, invoice in two_merchants.values():
        assert statement.number not in page and invoice.number not in page


@pytest.mark.django_db
def test_the_portal_api_lists_and_serves_only_the_callers_documents(user_with_role, two_merchants):
    from django.test import Client

    from banso.core.models import ApiToken

    a, statement_a, invoice_a = two_merchants["a"]
    _b, statement_b, invoice_b = two_merchants["b"]
    user = user_with_role(Role.MERCHANT_USER)
    a.portal_users.add(user)
    _, raw = ApiToken.issue(user, "test")
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    body = api.get("/api/billing/portal/documents").json()
    assert {(d["kind"], d["number"]) for d in body["documents"]} == {
        ("statement", statement_a.number),
        ("invoice", invoice_a.number),
    }
    assert body["merchants"] == [{"id": a.pk, "name": a.name}]
    assert api.get(f"/api/billing/portal/invoices/{invoice_a.pk}/pdf").content.startswith(b"%PDF")
    assert api.get(f"/api/billing/portal/statements/{statement_a.pk}/pdf").content.startswith(b"%PDF")
    assert api.get(f"/api/billing/portal/invoices/{invoice_b.pk}/pdf").status_code == 404
    assert api.get(f"/api/billing/portal/statements/{statement_b.pk}/pdf").status_code == 404
    assert api.get("/api/billing/invoices").status_code == 403


@pytest.mark.django_db
def test_the_portal_api_refuses_staff_without_the_portal_capability(api_as, two_merchants):
    assert api_as(Role.ADMIN).get("/api/billing/portal/documents").status_code == 403
