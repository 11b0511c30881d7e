"""Reconciliation pages and API: summary, items with differences, both sides of an item, resolving with a
reason (audited, who and when shown), imports with errors per row, and who may do what."""

import datetime as dt
import json
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from banso.billing import reconcile
from banso.billing.models import MatchStatus, ProcessorImport, ReconciliationItem
from banso.core.choices import Role
from banso.core.models import AuditEntry
from tests.billing.factories_recon import PaidBookingFactory, bank_csv, charge, listing

pytestmark = pytest.mark.django_db
OCTOBER = dt.date(2026, 10, 1)


@pytest.fixture
def mismatch():
    booking = PaidBookingFactory(amount=20_000)
    reconcile.import_payjp(json.dumps(listing(charge(booking, amount=19_500))).encode(), "c.json")
    reconcile.match(OCTOBER)
    return ReconciliationItem.objects.get(kind="charge", booking=booking)


def test_summary_counts_items_per_month_and_status(client_as, mismatch):
    page = client_as(Role.OPS_MANAGER).get(reverse("billing:recon"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "2026-10" in body
    assert "¥-500" in body


def test_item_list_filters_by_status_kind_and_month(client_as, mismatch):
    client = client_as(Role.OPS_MANAGER)
    url = reverse("billing:recon_items")
    assert (
        mismatch.booking.external_id in client.get(url, {"status": "mismatched", "month": "2026-10"}).content.decode()
    )
    assert mismatch.booking.external_id not in client.get(url, {"status": "matched", "kind": "charge"}).content.decode()
    assert mismatch.booking.external_id not in client.get(url, {"kind": "transfer"}).content.decode()
    assert mismatch.booking.external_id not in client.get(url, {"month": "2026-09"}).content.decode()


def test_item_detail_shows_both_sides(client_as, mismatch):
    body = client_as(Role.OPS_MANAGER).get(reverse("billing:recon_item", args=[mismatch.pk])).content.decode()
    assert mismatch.transaction.external_id in body
    assert "¥20,000" in body and "¥19,500" in body


def test_resolving_needs_a_reason_and_is_audited(client_as, mismatch):
    client = client_as(Role.OPS_MANAGER)
    url = reverse("billing:recon_resolve", args=[mismatch.pk])
    refused = client.post(url, {"resolution": "  "})
    assert refused.status_code == 422
    mismatch.refresh_from_db()
    assert mismatch.status == MatchStatus.MISMATCHED
    done = client.post(url, {"resolution": "割引クーポン(500円)を事業者と確認"})
    assert done.status_code == 302
    mismatch.refresh_from_db()
    assert (mismatch.status, mismatch.resolution) == (MatchStatus.RESOLVED, "割引クーポン(500円)を事業者と確認")
    entry = AuditEntry.objects.get(object_type="billing.reconciliationitem", object_id=str(mismatch.pk))
    assert entry.actor == mismatch.resolved_by
    assert entry.changes["status"] == ["mismatched", "resolved"]
    body = client.get(reverse("billing:recon_item", args=[mismatch.pk])).content.decode()
    assert "割引クーポン" in body and str(mismatch.resolved_by) in body


def test_viewers_of_billing_cannot_resolve_or_import(client_as, mismatch):
    for role in (Role.CSM, Role.VIEWER, Role.MERCHANT_USER):
        client = client_as(role)
        assert client.get(reverse("billing:recon")).status_code == 403
        assert client.post(reverse("billing:recon_resolve", args=[mismatch.pk]), {"resolution": "x"}).status_code == 403
        assert client.post(reverse("billing:recon_imports"), {"kind": "bank"}).status_code == 403
        assert client.post(reverse("billing:recon_match")).status_code == 403
    mismatch.refresh_from_db()
    assert mismatch.status == MatchStatus.MISMATCHED


def test_import_page_lists_errors_per_row(client_as):
    client = client_as(Role.OPS_MANAGER)
    bad = bank_csv([("2026/11/04", "入金", "1,000", "", "1"), ("2026/11/05", "入金", "千円", "", "2")])
    page = client.post(
        reverse("billing:recon_imports"), {"kind": "bank", "file": SimpleUploadedFile("meisai.csv", bad)}
    )
    assert page.status_code == 422
    assert page.context["errors"][0]["row"] == 3
    assert page.context["errors"][0]["column"] == "お預り金額"
    assert not ProcessorImport.objects.exists()
    good = bank_csv([("2026/11/04", "入金", "1,000", "", "1")])
    done = client.post(
        reverse("billing:recon_imports"), {"kind": "bank", "file": SimpleUploadedFile("meisai.csv", good)}
    )
    assert done.status_code == 302
    assert "meisai.csv" in client.get(reverse("billing:recon_imports")).content.decode()


def test_match_now_rebuilds_a_month(client_as, mismatch):
    response = client_as(Role.ADMIN).post(reverse("billing:recon_match"), {"month": "2026-10"})
    assert response.status_code == 302
    assert ReconciliationItem.objects.filter(kind="charge", status=MatchStatus.MISMATCHED).count() == 1


def test_api_lists_items_and_resolves_with_a_reason(api_as, mismatch):
    manager = api_as(Role.OPS_MANAGER)
    listed = manager.get("/api/billing/reconciliation/items", {"status": "open", "month": "2026-10"}).json()
    assert [(i["id"], i["difference"], i["booking"]["amount"]) for i in listed] == [(mismatch.pk, -500, 20_000)]
    summary = manager.get("/api/billing/reconciliation/summary").json()
    assert summary[0]["statuses"]["mismatched"]["count"] == 1
    url = f"/api/billing/reconciliation/items/{mismatch.pk}/resolve"
    refused = manager.post(url, {"resolution": ""}, content_type="application/json")
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["field"] == "resolution"
    done = manager.post(url, {"resolution": "確認済み"}, content_type="application/json")
    assert done.status_code == 200
    assert done.json()["status"] == "resolved"
    assert AuditEntry.objects.filter(object_id=str(mismatch.pk), via="api").exists()


def test_api_imports_files_and_objects_and_refuses_viewers(api_as):
    manager = api_as(Role.OPS_MANAGER)
    bad = manager.post(
        "/api/billing/reconciliation/imports",
        {"kind": "bank", "file": SimpleUploadedFile("b.csv", bank_csv([("2026/11/04", "入金", "x", "", "1")]))},
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["row"] == 2
    booking = PaidBookingFactory()
    done = manager.post(
        "/api/billing/reconciliation/imports/payjp-objects", listing(charge(booking)), content_type="application/json"
    )
    assert done.status_code == 201, done.content
    assert done.json()["created"] == 2
    matched = manager.post("/api/billing/reconciliation/match", {"month": "2026-10"}, content_type="application/json")
    assert matched.json()["by_status"] == {"matched": 2}
    assert api_as(Role.CSM).get("/api/billing/reconciliation/items").status_code == 403
    assert (
        api_as(Role.VIEWER).post("/api/billing/reconciliation/match", {}, content_type="application/json").status_code
        == 403
    )


def test_a_large_month_is_matched_by_the_worker(client_as, mismatch, monkeypatch):
    from banso.billing import recon_tasks

    queued = []
    real = recon_tasks.match_task
    monkeypatch.setattr(recon_tasks, "INLINE_MAX_CHARGES", 0)
    monkeypatch.setattr(recon_tasks, "match_task", SimpleNamespace(enqueue=queued.append))
    response = client_as(Role.OPS_MANAGER).post(reverse("billing:recon_match"), {"month": "2026-10"})
    assert response.status_code == 302
    assert queued == ["2026-10-01"]
    assert real.call("2026-10-01") == 2  # the charge and its fee


def test_api_queues_a_large_month(api_as, mismatch, monkeypatch):
    from banso.billing import recon_tasks

    monkeypatch.setattr(recon_tasks, "INLINE_MAX_CHARGES", 0)
    response = api_as(Role.ADMIN).post(
        "/api/billing/reconciliation/match", {"month": "2026-10"}, content_type="application/json"
    )
    assert response.status_code == 202
    assert response.json()["queued"] is True
