"""The churn-risk model in the JSON API: versions with their quality, queueing a training or a prediction
(ops managers and admins only), a day's predictions and one account's, with drivers in words."""

import pytest
from django.test import Client

from banso.churn.models import RiskRun, RiskRunKind
from banso.core.choices import Role

from .factories import AccountFactory
from .risk_factories import TODAY, prediction, trained_model

pytestmark = pytest.mark.django_db
BASE = "/api/churn/risk"


def test_models_are_listed_with_their_quality_and_detailed_with_importance(api_as):
    model = trained_model()
    listed = api_as(Role.VIEWER).get(f"{BASE}/models").json()
    assert [m["id"] for m in listed] == [model.pk]
    assert listed[0]["roc_auc"] == pytest.approx(model.metrics["roc_auc"])
    detail = api_as(Role.VIEWER).get(f"{BASE}/models/{model.pk}").json()
    assert detail["features"] == model.features and detail["calibrator"]["kind"] in ("isotonic", "platt")
    assert detail["metrics"]["calibration"] and set(detail["importance"]) == set(model.features)
    assert "booster" not in detail
    assert api_as(Role.VIEWER).get(f"{BASE}/models/999999").status_code == 404


def test_training_is_queued_by_ops_managers_only(api_as, django_capture_on_commit_callbacks):
    assert api_as(Role.CSM).post(f"{BASE}/train", {}, content_type="application/json").status_code == 403
    assert Client().post(f"{BASE}/train", {}, content_type="application/json").status_code == 401
    with django_capture_on_commit_callbacks(execute=False):
        response = api_as(Role.OPS_MANAGER).post(
            f"{BASE}/train", {"as_of": "2026-11-01"}, content_type="application/json"
        )
    assert response.status_code == 202
    run = RiskRun.objects.get()
    assert response.json()["id"] == run.pk and run.kind == RiskRunKind.TRAIN and str(run.as_of) == "2026-11-01"
    assert api_as(Role.VIEWER).get(f"{BASE}/runs/{run.pk}").json()["status"] == "queued"


def test_a_bad_date_or_predicting_without_a_model_is_refused_with_422(api_as):
    ops = api_as(Role.OPS_MANAGER)
    bad = ops.post(f"{BASE}/train", {"as_of": "2026-13-01"}, content_type="application/json")
    assert bad.status_code == 422
    refused = ops.post(f"{BASE}/predict", {}, content_type="application/json")
    assert refused.status_code == 422 and refused.json()["detail"][0]["message"]
    assert not RiskRun.objects.exists()


def test_predictions_of_a_day_and_of_one_account_carry_drivers_in_words(api_as):
    model = trained_model()
    high = AccountFactory(name="高リスク工業")
    low = AccountFactory(name="低リスク商事")
    prediction(high, model, 0.7, drivers=[["open_inquiries_90d", 5.0, 0.6]])
    prediction(low, model, 0.1)
    client = api_as(Role.CSM)
    page = client.get(f"{BASE}/predictions").json()
    assert page["day"] == TODAY.isoformat() and page["count"] == 2
    assert [r["account_name"] for r in page["results"]] == ["高リスク工業", "低リスク商事"]
    first = page["results"][0]
    assert first["band"] == "high" and first["drivers"][0]["text"] == "未解決の問い合わせが5件"
    assert client.get(f"{BASE}/predictions", {"min_probability": 0.5}).json()["count"] == 1
    history = client.get(f"{BASE}/predictions/accounts/{low.pk}").json()
    assert [h["probability"] for h in history] == [0.1]
