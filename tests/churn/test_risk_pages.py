"""The churn-risk pages in Japanese: the model page with its quality figures and charts, the 「再学習」 button
for those who manage health only, run progress, accounts by risk with drivers in words, the Account 360 card."""

import json
import re

import pytest

from banso.churn.models import RiskRun, RiskRunKind, RiskRunStatus
from banso.core.choices import Role

from .factories import AccountFactory
from .risk_factories import TODAY, prediction, trained_model

pytestmark = pytest.mark.django_db


def test_the_model_page_shows_quality_calibration_and_importance(client_as):
    model = trained_model()
    page = client_as(Role.CSM).get("/churn/risk/").content.decode()
    assert "解約リスクモデル" in page
    assert f"{model.metrics['roc_auc']:.3f}" in page
    for label in ("上位10%の適合率", "ベースレート", "ブライアスコア", "確率の較正", "特徴量の重要度"):
        assert label in page
    assert "未解決の問い合わせ（直近90日）" in page  # importance names features in words
    script = re.search(r'<script id="risk-calibration" type="application/json">(.*?)</script>', page)
    config = json.loads(script.group(1))
    assert len(config["data"]["datasets"][0]["data"]) == len(model.metrics["calibration"])
    assert "再学習" not in page  # a CSM reads but does not retrain


def test_retraining_is_queued_for_ops_managers_and_refused_to_csms(client_as):
    assert client_as(Role.CSM).post("/churn/risk/runs/train/start/").status_code == 403
    assert not RiskRun.objects.exists()
    ops = client_as(Role.OPS_MANAGER)
    assert "再学習" in ops.get("/churn/risk/").content.decode()
    response = ops.post("/churn/risk/runs/train/start/")
    run = RiskRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/churn/risk/runs/{run.pk}/"
    assert run.kind == RiskRunKind.TRAIN and run.status in (RiskRunStatus.QUEUED, RiskRunStatus.FAILED)
    # A second press while it waits shows the same run instead of queueing another.
    if run.status == RiskRunStatus.QUEUED:
        assert ops.post("/churn/risk/runs/train/start/")["Location"] == f"/churn/risk/runs/{run.pk}/"
        assert RiskRun.objects.count() == 1


def test_a_failed_training_says_why_on_its_page(client_as):
    run = RiskRun.objects.create(kind=RiskRunKind.TRAIN, as_of=TODAY)
    from banso.churn.risk import execute

    execute(run)  # no history at all
    page = client_as(Role.CSM).get(f"/churn/risk/runs/{run.pk}/").content.decode()
    assert "失敗" in page and "履歴が不足しています" in page
    partial = client_as(Role.CSM).get(f"/churn/risk/runs/{run.pk}/progress/", headers={"HX-Request": "true"})
    assert partial["HX-Refresh"] == "true"


def test_predicting_without_a_model_is_refused_with_a_message(client_as):
    response = client_as(Role.ADMIN).post("/churn/risk/runs/predict/start/", follow=True)
    assert "解約リスクモデルはまだ学習されていません" in response.content.decode()
    assert not RiskRun.objects.exists()


def test_accounts_by_risk_are_sorted_with_drivers_in_words(client_as):
    model = trained_model()
    low = AccountFactory(name="低リスク商事", mrr=50_000)
    high = AccountFactory(name="高リスク工業", mrr=300_000)
    prediction(low, model, 0.05, drivers=[["days_to_renewal", 200.0, 0.1]])
    prediction(high, model, 0.72, drivers=[["usage_trend_30d", -40.0, 0.9], ["champion_left_no_successor", 1.0, 0.4]])
    csm = client_as(Role.CSM)
    page = csm.get("/churn/risk/accounts/").content.decode()
    assert page.index("高リスク工業") < page.index("低リスク商事")
    assert "72.0%" in page and "利用が前月比40%減" in page and "主担当者が退職し後任未設定" in page
    by_name = csm.get("/churn/risk/accounts/?sort=-risk").content.decode()
    assert by_name.index("低リスク商事") < by_name.index("高リスク工業")
    high_only = csm.get("/churn/risk/accounts/?band=high").content.decode()
    assert "高リスク工業" in high_only and "低リスク商事" not in high_only


def test_the_account_360_card_shows_probability_band_drivers_and_model_date(client_as):
    model = trained_model()
    account = AccountFactory(name="名古屋精機")
    page = client_as(Role.CSM).get(f"/accounts/{account.pk}/").content.decode()
    assert "この顧客の解約リスク予測はまだありません" in page
    prediction(account, model, 0.55, drivers=[["open_inquiries_90d", 5.0, 0.7], ["nps_latest", 3.0, 0.3]])
    page = client_as(Role.CSM).get(f"/accounts/{account.pk}/").content.decode()
    assert "55.0%" in page and "高" in page
    assert "未解決の問い合わせが5件" in page and "NPSが3点" in page
    assert "90日以内に解約する確率" in page and TODAY.isoformat() in page


def test_a_queued_run_is_carried_out_once_by_the_worker_task():
    from banso.churn.tasks import run_risk

    run = RiskRun.objects.create(kind=RiskRunKind.TRAIN, as_of=TODAY)
    assert run_risk.call(run.pk) == RiskRunStatus.FAILED  # nothing to learn from here
    finished = RiskRun.objects.get(pk=run.pk).finished_at
    assert run_risk.call(run.pk) == RiskRunStatus.FAILED  # a second delivery finds it taken
    assert RiskRun.objects.get(pk=run.pk).finished_at == finished
