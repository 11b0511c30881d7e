"""The funnels API: definitions read and replaced (refusals name stages.N.event_kind), clients sorted by loss
with paging, one client, queued runs (202), reports generated, downloaded and marked sent."""

import datetime as dt
import io

import pytest
from pypdf import PdfReader

from banso.accounts.choices import AccountKind
from banso.core.choices import Role
from banso.funnels import computing
from banso.funnels.models import FunnelRun
from tests.accounts.factories import AccountFactory

from .factories import FunnelFactory, add_funnel

DAY, AS_OF = dt.date(2026, 10, 20), dt.date(2026, 10, 31)


@pytest.fixture
def computed(db):
    funnel = FunnelFactory()
    clients = [AccountFactory(kind=AccountKind.CLIENT, industry="IT", name=f"顧客{i}") for i in range(4)]
    for client in clients[:3]:
        add_funnel(client, DAY, applied=20, interviewed=10, offered=5)
    add_funnel(clients[3], DAY, applied=20, interviewed=2, offered=1)
    computing.compute_now(funnel, AS_OF)
    return funnel, clients


def test_put_definition_refuses_duplicate_kinds_naming_the_stage(api_as, db):
    funnel = FunnelFactory()
    body = {
        "name": "採用",
        "stages": [
            {"label": "応募", "event_kind": "application"},
            {"label": "面接", "event_kind": "interview_held"},
            {"label": "内定", "event_kind": "interview_held"},
        ],
        "business_hours": [["13:00", "12:00"]],
    }
    response = api_as(Role.OPS_MANAGER).put(
        f"/api/funnels/definitions/{funnel.pk}", body, content_type="application/json"
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["detail"]] == ["stages.2.event_kind", "business_hours.0"]
    assert (
        api_as(Role.CSM).put(f"/api/funnels/definitions/{funnel.pk}", body, content_type="application/json").status_code
        == 403
    )


def test_put_definition_replaces_stages(api_as, db):
    funnel = FunnelFactory()
    body = {
        "name": "SaaS",
        "stages": [
            {"label": "トライアル", "event_kind": "trial"},
            {"label": "有料", "rate_label": "有料化率", "event_kind": "paid"},
        ],
    }
    response = api_as(Role.OPS_MANAGER).put(
        f"/api/funnels/definitions/{funnel.pk}", body, content_type="application/json"
    )
    assert response.status_code == 200
    assert [s["event_kind"] for s in response.json()["stages"]] == ["trial", "paid"]
    assert [s["label"] for s in api_as(Role.CSM).get(f"/api/funnels/definitions/{funnel.pk}").json()["stages"]] == [
        "トライアル",
        "有料",
    ]


def test_clients_sorted_by_loss_and_paged(api_as, computed):
    _funnel, clients = computed
    api = api_as(Role.CSM)
    page = api.get("/api/funnels/clients?limit=2").json()
    assert page["total"] == 4 and len(page["items"]) == 2
    top = page["items"][0]
    assert top["account_id"] == clients[3].pk and top["bottleneck_stage"] == "面接実施"
    assert top["stages"][1]["rate"] == pytest.approx(0.1) and top["stages"][1]["difference_pt"] == -40
    assert top["loss_per_month"] == pytest.approx(4.0)
    assert api.get(f"/api/funnels/clients/{clients[3].pk}").json()["stages"][0]["count"] == 20


def test_post_run_answers_202_and_the_run(api_as, computed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = api_as(Role.OPS_MANAGER).post("/api/funnels/runs", {}, content_type="application/json")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    run = FunnelRun.objects.get(pk=response.json()["id"])
    assert api_as(Role.CSM).get(f"/api/funnels/runs/{run.pk}").json()["id"] == run.pk


def test_report_generate_download_and_send(api_as, computed):
    _funnel, clients = computed
    api = api_as(Role.OPS_MANAGER)
    bad = api.post(
        "/api/funnels/reports", {"account_id": clients[3].pk, "period": "10/2026"}, content_type="application/json"
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "period"
    made = api.post(
        "/api/funnels/reports", {"account_id": clients[3].pk, "period": "2026-10"}, content_type="application/json"
    )
    assert made.status_code == 201
    report_id = made.json()["id"]
    pdf = api.get(f"/api/funnels/reports/{report_id}.pdf")
    assert pdf.status_code == 200 and len(PdfReader(io.BytesIO(pdf.content)).pages) >= 1
    assert api.get(f"/api/funnels/reports/{report_id}.xlsx").status_code == 200
    assert api.post(f"/api/funnels/reports/{report_id}/sent").json()["sent_at"] is not None
