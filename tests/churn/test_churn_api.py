"""Churn in the JSON API: reasons, churn records (CRUD, 422 naming the field), unrecorded contracts,
and the analysis as JSON and XLSX."""

import datetime
import io

import pytest
from openpyxl import load_workbook

from banso.accounts.choices import ContractStatus
from banso.churn.models import ChurnRecord
from banso.core.choices import Role

from .factories import AccountFactory, contract, reason

pytestmark = pytest.mark.django_db
BASE = "/api/churn"
D = datetime.date


def send(client, method, path, data=None):
    return getattr(client, method)(BASE + path, data, content_type="application/json")


def fields(response) -> list[str]:
    assert response.status_code == 422, response.content
    return [error["field"] for error in response.json()["detail"]]


def test_reasons_come_as_a_tree(api_as):
    tree = api_as(Role.CSM).get(BASE + "/reasons").json()
    usage = tree[0]
    assert usage["name"] == "利用定着せず"
    assert [c["code"] for c in usage["children"]] == ["usage-onboarding", "usage-low"]


def test_only_managers_change_reasons(api_as):
    payload = {"code": "tax", "name": "税制変更", "order": 95}
    assert send(api_as(Role.CSM), "post", "/reasons", payload).status_code == 403
    created = send(api_as(Role.OPS_MANAGER), "post", "/reasons", payload)
    assert created.status_code == 201
    bad = send(
        api_as(Role.OPS_MANAGER), "post", "/reasons", {**payload, "code": "x2", "parent_id": reason("usage-low").pk}
    )
    assert fields(bad) == ["parent_id"]
    moved = send(
        api_as(Role.ADMIN), "put", f"/reasons/{created.json()['id']}", {**payload, "parent_id": reason("policy").pk}
    )
    assert moved.json()["parent_id"] == reason("policy").pk


def test_a_record_is_created_read_listed_changed_and_deleted(api_as):
    client = api_as(Role.CSM)
    account = AccountFactory(name="九州電力サービス")
    running = contract(account, 250_000, D(2024, 4, 1))
    created = send(
        client,
        "post",
        "/records",
        {
            "contract_id": running.pk,
            "churned_on": "2025-04-01",
            "reason_id": reason("support").pk,
            "sub_reason_id": reason("support-quality").pk,
            "note": "障害が続いた",
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["account_id"], body["lost_mrr"], body["sub_reason"]) == (account.pk, 250_000, "不具合・品質への不満")
    running.refresh_from_db()
    assert running.status == ContractStatus.CHURNED
    assert client.get(f"{BASE}/records/{body['id']}").json()["note"] == "障害が続いた"
    listed = client.get(BASE + "/records", {"reason_id": reason("support").pk, "start": "2025-04-01"}).json()
    assert listed["count"] == 1 and listed["results"][0]["account_name"] == "九州電力サービス"
    assert client.get(BASE + "/records", {"end": "2025-03-31"}).json()["count"] == 0
    changed = send(
        client,
        "put",
        f"/records/{body['id']}",
        {"contract_id": running.pk, "churned_on": "2025-04-01", "reason_id": reason("feature").pk, "lost_mrr": 200_000},
    )
    assert changed.status_code == 200 and changed.json()["lost_mrr"] == 200_000
    assert send(client, "delete", f"/records/{body['id']}").status_code == 204
    assert not ChurnRecord.objects.exists()


def test_bad_records_are_refused_naming_the_request_fields(api_as):
    account = AccountFactory()
    other = contract(AccountFactory(), 10_000, D(2024, 1, 1))
    response = send(
        api_as(Role.CSM),
        "post",
        "/records",
        {
            "account_id": account.pk,
            "contract_id": other.pk,
            "churned_on": "2025-01-01",
            "reason_id": reason("budget").pk,
            "sub_reason_id": reason("price-value").pk,
            "lost_mrr": -1,
        },
    )
    assert sorted(fields(response)) == ["contract_id", "lost_mrr", "sub_reason_id"]
    assert not ChurnRecord.objects.exists()


def test_readers_cannot_record(api_as):
    account = AccountFactory()
    payload = {"account_id": account.pk, "churned_on": "2025-01-01", "reason_id": reason("budget").pk}
    assert send(api_as(Role.VIEWER), "post", "/records", payload).status_code == 403


def test_unrecorded_contracts_list_what_still_needs_a_reason(api_as):
    churned = contract(AccountFactory(name="未記録社"), 10_000, D(2024, 1, 1), D(2025, 1, 1), churned=True)
    rows = api_as(Role.CSM).get(BASE + "/unrecorded-contracts").json()
    assert [(r["contract_id"], r["account_name"]) for r in rows] == [(churned.pk, "未記録社")]


def test_analysis_json_and_xlsx(api_as, four_accounts):
    client = api_as(Role.VIEWER)
    data = client.get(BASE + "/analysis", {"start": "2025-01", "end": "2025-03"}).json()
    jan = data["months"][0]
    assert jan["month"] == "2025-01"
    assert (jan["start_mrr"], jan["net_mrr"], jan["churned_accounts"]) == (350_000, -60_000, 1)
    assert jan["nrr"] == pytest.approx(230 / 350)
    assert data["period"] == {"start": "2025-01-01", "end": "2025-03-01"}
    assert {c["cohort"] for c in data["cohorts"]} == {"2024", "2025"}
    high = client.get(BASE + "/analysis", {"start": "2025-01", "end": "2025-03", "tier": "high"}).json()
    assert high["months"][0]["start_mrr"] == 300_000
    xlsx = client.get(BASE + "/analysis.xlsx", {"start": "2025-01", "end": "2025-03"})
    assert xlsx.status_code == 200
    assert load_workbook(io.BytesIO(xlsx.content))["月次"]["F2"].value == 350_000


def test_analysis_refuses_a_bad_month(api_as):
    response = api_as(Role.CSM).get(BASE + "/analysis", {"start": "2025-13"})
    assert fields(response) == ["start"]
