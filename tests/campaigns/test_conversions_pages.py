"""The conversions pages, API and command line: the filtered list with its totals, the reconciliation and its
drill-down, the cashback owed with its CSV/XLSX and marking it paid, the batch upsert with per-row errors, and
`banso campaigns reconcile` / `import-conversions`."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from banso.activity.models import ImportJob, ImportStatus
from banso.campaigns.models import Conversion, ConversionStatus
from banso.core.choices import Role

from .factories import ConversionFactory, OfferFactory, UserFactory, tokyo
from .factories_conversions import click, report, store_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def data():
    offer = OfferFactory(asp_offer_id="s1", cashback_share=Decimal("50.00"))
    other = OfferFactory(asp_offer_id="s2")
    u1, u2 = UserFactory(external_id="m-1"), UserFactory(external_id="m-2")
    store_events([click(offer, u1, tokyo(2026, 11, 2), "k1"), click(offer, u2, tokyo(2026, 11, 3), "k2")])
    approved = ConversionStatus.APPROVED
    ConversionFactory(
        offer=offer,
        end_user=u1,
        click_id="k1",
        status=approved,
        reward=1000,
        cashback=500,
        occurred_at=tokyo(2026, 11, 2, 1),
        decided_at=tokyo(2026, 11, 30),
        asp_conversion_id="cv-a",
    )
    ConversionFactory(
        offer=offer,
        end_user=u2,
        click_id="k2",
        status=ConversionStatus.REJECTED,
        reward=300,
        cashback=0,
        occurred_at=tokyo(2026, 11, 3, 1),
        decided_at=tokyo(2026, 11, 30),
    )
    ConversionFactory(
        offer=other,
        end_user=u2,
        status=ConversionStatus.PENDING,
        reward=700,
        cashback=350,
        occurred_at=tokyo(2026, 10, 3, 1),
    )
    return offer, other, u1, u2


def test_list_filters_and_totals(client_as, data):
    offer, _other, _u1, _u2 = data
    page = client_as(Role.VIEWER).get(reverse("campaigns:conversions"), {"offer": offer.pk, "month": "2026-11"})
    assert page.status_code == 200
    assert [c.asp_conversion_id for c in page.context["page"]][-1] == "cv-a"
    assert page.context["totals"]["count"] == 2
    assert page.context["totals"]["reward"] == 1300
    assert page.context["totals"]["approved"] == 1
    by_user = client_as(Role.VIEWER).get(reverse("campaigns:conversions"), {"user": "m-2"})
    assert by_user.context["totals"]["count"] == 2
    bad = client_as(Role.VIEWER).get(reverse("campaigns:conversions"), {"month": "November"})
    assert bad.status_code == 200 and bad.context["totals"]["count"] == 0 and "month" in bad.context["form"].errors


def test_reconcile_page_and_drill_down(client_as, data):
    offer, _other, _u1, _u2 = data
    client = client_as(Role.CSM)
    page = client.get(reverse("campaigns:reconcile"), {"month": "2026-11"})
    assert page.status_code == 200
    [row] = page.context["rows"]
    assert (row.offer.pk, row.clicks, row.approved, row.rejected, row.cashback_owed) == (offer.pk, 2, 1, 1, 500)
    assert row.approval_rate == 0.5
    detail = client.get(reverse("campaigns:reconcile_offer", args=[offer.pk]), {"month": "2026-11"})
    assert detail.status_code == 200
    assert detail.context["f"].unmatched == 0
    assert client.get(reverse("campaigns:reconcile"), {"month": "2026-13"}).status_code == 404


def test_cashback_owed_downloads_and_marking_paid(client_as, data):
    _offer, _other, u1, _u2 = data
    viewer = client_as(Role.VIEWER)
    page = viewer.get(reverse("campaigns:cashback"))
    assert [(u.external_id, u.owed) for u in page.context["owed"]] == [("m-1", 500)]  # m-2's only result is pending

    book = load_workbook(io.BytesIO(viewer.get(reverse("campaigns:cashback_xlsx")).content))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:5] == ("user_id", "name", "email", "results", "cashback_owed")
    assert rows[1][0] == "m-1" and rows[1][4] == 500
    text = viewer.get(reverse("campaigns:cashback_csv")).content.decode("utf-8-sig")
    assert text.splitlines()[1].startswith("m-1,")

    assert viewer.post(reverse("campaigns:cashback_paid"), {"end_user": u1.pk}).status_code == 403
    done = client_as(Role.CSM).post(reverse("campaigns:cashback_paid"), {"end_user": u1.pk, "month": "2026-11"})
    assert done.status_code == 302
    assert Conversion.objects.get(asp_conversion_id="cv-a").cashback_paid_at is not None
    assert viewer.get(reverse("campaigns:cashback")).context["owed"] == []


def test_api_batch_upsert_with_per_row_errors(api_as, data):
    offer, _other, _u1, _u2 = data
    api = api_as(Role.CSM)
    record = {
        "asp": offer.asp.code,
        "asp_conversion_id": "api-1",
        "asp_offer_id": "s1",
        "status": "発生",
        "occurred_at": "2026-11-12 10:00",
        "reward": "1,200",
    }
    ok = api.post(
        "/api/campaigns/conversions/batch", {"source": "plug", "records": [record]}, content_type="application/json"
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["created"] == 1
    again = api.post(
        "/api/campaigns/conversions/batch", {"source": "plug", "records": [record]}, content_type="application/json"
    )
    assert again.json()["unchanged"] == 1

    bad = api.post(
        "/api/campaigns/conversions/batch",
        {"source": "plug", "records": [{**record, "asp_conversion_id": "api-2", "asp_offer_id": "nope"}]},
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert [(e["row"], e["column"]) for e in bad.json()["errors"]] == [(1, "asp_offer_id")]
    assert ImportJob.objects.filter(entity="conversions", status=ImportStatus.FAILED).count() == 1
    assert (
        api_as(Role.VIEWER)
        .post(
            "/api/campaigns/conversions/batch", {"source": "plug", "records": [record]}, content_type="application/json"
        )
        .status_code
        == 403
    )


def test_api_list_and_reconcile(api_as, data):
    offer, _other, _u1, _u2 = data
    api = api_as(Role.VIEWER)
    listed = api.get("/api/campaigns/conversions", {"month": "2026-11", "status": "approved"}).json()
    assert [i["asp_conversion_id"] for i in listed["items"]] == ["cv-a"]
    assert listed["totals"]["cashback"] == 500
    rec = api.get("/api/campaigns/conversions/reconcile", {"month": "2026-11"}).json()
    [row] = rec["offers"]
    assert (row["offer"], row["clicks"], row["approval_rate"], row["cvr"]) == (offer.pk, 2, 0.5, 1.0)
    bad = api.get("/api/campaigns/conversions/reconcile", {"month": "11/2026"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "month"


def test_import_page_takes_an_asp_report(client_as, data):
    offer, _other, _u1, _u2 = data
    file = io.BytesIO(
        report(
            [
                {
                    "asp_conversion_id": "p-1",
                    "asp_offer_id": "s1",
                    "status": "確定",
                    "decided_at": "2026-11-30 09:00",
                    "occurred_at": "2026-11-05 10:00",
                    "reward": "400",
                }
            ],
            encoding="cp932",
        )
    )
    file.name = "a8-report.csv"
    response = client_as(Role.ADMIN).post(
        reverse("activity:imports"), {"entity": "conversions", "source": offer.asp.code, "file": file}
    )
    assert response.status_code == 302
    job = ImportJob.objects.get(entity="conversions")
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert Conversion.objects.get(asp_conversion_id="p-1").cashback == 200


def test_command_line_reconcile_and_import(data, tmp_path):
    out = io.StringIO()
    call_command("campaigns", "reconcile", "--month", "2026-11", stdout=out)
    assert "50.0%" in out.getvalue()
    path = tmp_path / "rec.csv"
    call_command("campaigns", "reconcile", "--month", "2026-11", "--csv", str(path), stdout=io.StringIO())
    assert path.read_text(encoding="utf-8-sig").splitlines()[0].startswith("offer,offer_name")

    report_path = tmp_path / "report.csv"
    report_path.write_bytes(
        report(
            [
                {
                    "asp": "a8",
                    "asp_conversion_id": "cli-1",
                    "asp_offer_id": "s1",
                    "status": "発生",
                    "occurred_at": "2026-11-05 10:00",
                    "reward": "100",
                }
            ]
        )
    )
    out = io.StringIO()
    call_command("campaigns", "import-conversions", str(report_path), stdout=out)
    assert "1 created" in out.getvalue()
    assert Conversion.objects.filter(asp_conversion_id="cli-1").exists()
