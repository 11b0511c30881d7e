"""The churn pages in Japanese: overview, records (list, record from the list and from the Account 360,
edit, delete), the reason taxonomy and the analysis page with its download."""

import datetime

import pytest

from banso.accounts.choices import ContractStatus
from banso.churn.models import ChurnRecord
from banso.core.choices import Role

from .factories import AccountFactory, ChurnRecordFactory, contract, reason

D = datetime.date


@pytest.fixture
def csm(client_as):
    return client_as(Role.CSM)


def test_overview_lists_latest_records_and_links_to_the_parts(csm, db):
    ChurnRecordFactory(account=AccountFactory(name="東京精機"), note="予算が半分に")
    page = csm.get("/churn/").content.decode()
    assert "東京精機" in page
    assert "解約分析" in page and "解約理由" in page


def test_recording_a_churn_for_an_active_contract_from_the_360_churns_the_contract(csm, db):
    account = AccountFactory(name="大阪物産")
    running = contract(account, 120_000, D(2024, 4, 1))
    detail = csm.get(f"/accounts/{account.pk}/").content.decode()
    assert "解約を記録" in detail
    form_url = f"/churn/records/new/?account={account.pk}&next=account"
    assert "大阪物産" in csm.get(form_url).content.decode()
    response = csm.post(
        form_url,
        {
            "account": account.pk,
            "contract": running.pk,
            "churned_on": "2025-04-01",
            "reason": reason("competitor").pk,
            "note": "他社に移行",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/{account.pk}/"
    record = ChurnRecord.objects.get(account=account)
    assert record.lost_mrr == 120_000
    running.refresh_from_db()
    assert running.status == ContractStatus.CHURNED
    assert running.churned_on == D(2025, 4, 1)
    detail = csm.get(f"/accounts/{account.pk}/").content.decode()
    assert "競合への乗り換え" in detail and "¥120,000" in detail


def test_a_sub_reason_of_another_reason_is_refused_next_to_its_field(csm, db):
    account = AccountFactory()
    response = csm.post(
        f"/churn/records/new/?account={account.pk}",
        {
            "account": account.pk,
            "churned_on": "2025-04-01",
            "reason": reason("budget").pk,
            "sub_reason": reason("price-value").pk,
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="field-sub_reason"' in page and "選択した解約理由の下位理由ではありません" in page
    assert not ChurnRecord.objects.exists()


def test_the_list_shows_churned_contracts_still_without_a_record(csm, db):
    account = AccountFactory(name="北斗商事")
    churned = contract(account, 80_000, D(2023, 4, 1), D(2024, 4, 1), churned=True)
    churned.churn_reason = "予算削減のため"
    churned.save()
    page = csm.get("/churn/records/").content.decode()
    assert "北斗商事" in page and f"?contract={churned.pk}" in page
    form = csm.get(f"/churn/records/new/?contract={churned.pk}").content.decode()
    assert f'<option value="{reason("budget").pk}" selected>' in form
    csm.post(
        f"/churn/records/new/?contract={churned.pk}",
        {"account": account.pk, "contract": churned.pk, "churned_on": "2024-04-01", "reason": reason("budget").pk},
    )
    assert f"?contract={churned.pk}" not in csm.get("/churn/records/").content.decode()


def test_records_filter_by_reason_and_month(csm, db):
    ChurnRecordFactory(account=AccountFactory(name="甲社"), churned_on=D(2025, 1, 10), reason=reason("budget"))
    ChurnRecordFactory(account=AccountFactory(name="乙社"), churned_on=D(2025, 3, 10), reason=reason("price"))
    page = csm.get("/churn/records/", {"reason": reason("price").pk}).content.decode()
    assert "乙社" in page and "甲社" not in page
    page = csm.get("/churn/records/", {"start": "2025-01", "end": "2025-01"}).content.decode()
    assert "甲社" in page and "乙社" not in page


def test_editing_and_deleting_a_record(csm, db):
    record = ChurnRecordFactory(account=AccountFactory(), lost_mrr=10_000)
    response = csm.post(
        f"/churn/records/{record.pk}/edit/",
        {
            "account": record.account_id,
            "churned_on": "2025-03-01",
            "reason": reason("feature").pk,
            "lost_mrr": "12,000",
        },
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.reason.code, record.lost_mrr) == ("feature", 12_000)
    assert csm.post(f"/churn/records/{record.pk}/delete/").status_code == 302
    assert not ChurnRecord.objects.exists()


def test_only_managers_edit_the_taxonomy(client_as, db):
    csm, ops = client_as(Role.CSM), client_as(Role.OPS_MANAGER)
    page = csm.get("/churn/reasons/").content.decode()
    assert "主担当者の異動・退職" in page and "新しい解約理由" not in page
    assert csm.get("/churn/reasons/new/").status_code == 403
    response = ops.post(
        "/churn/reasons/new/",
        {
            "parent": reason("price").pk,
            "code": "price-discount-ended",
            "name": "割引期間の終了",
            "order": 30,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    assert "割引期間の終了" in ops.get("/churn/reasons/").content.decode()


def test_analysis_page_shows_tables_and_charts_and_downloads_excel(csm, four_accounts):
    response = csm.get("/churn/analysis/", {"start": "2025-01", "end": "2025-03"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-chart="chart-net"' in page and 'id="chart-net"' in page
    assert "¥350,000" in page and "33.33%" in page  # January: MRR at month start, logo churn
    assert "ハイタッチ" in page  # the lift table
    download = csm.get("/churn/analysis/export/", {"start": "2025-01", "end": "2025-03"})
    assert download["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="churn-202501-202503.xlsx"' in download["Content-Disposition"]


def test_analysis_refuses_a_backwards_period_naming_the_field(csm, db):
    response = csm.get("/churn/analysis/", {"start": "2025-05", "end": "2025-01"})
    assert response.status_code == 400
    assert "終了月" in response.content.decode() or "最後の月" in response.content.decode()


def test_the_analysis_follows_a_new_churn_record_at_once(csm, four_accounts):
    query = {"start": "2025-01", "end": "2025-03"}
    assert "予算削減" not in csm.get("/churn/analysis/", query).content.decode()
    ChurnRecordFactory(account=four_accounts["A"], churned_on=D(2025, 2, 1), reason=reason("budget"))
    assert "予算削減" in csm.get("/churn/analysis/", query).content.decode()
