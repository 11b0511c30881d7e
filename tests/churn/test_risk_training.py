"""The churn-risk model learns from the workspace's own history: on the demo, where the generator plants
churn drivers, it ranks churners well and names those drivers; versions are stored as text and JSON and
predict the same after reloading; the scorecard measure and the command line reach the same code."""

import collections
import datetime as dt

import numpy as np
import pytest
from django.core.management import call_command

from banso.churn import risk
from banso.churn.drivers import cause_of, driver_texts
from banso.churn.models import RiskModel, RiskPrediction, RiskRun, RiskRunStatus
from banso.health.measures import sources

from .risk_factories import TODAY, demo_history

pytestmark = pytest.mark.django_db


def test_training_on_the_demo_recovers_the_planted_drivers_and_ranks_churners_well():
    demo_history(accounts=1500)
    model = risk.train(TODAY)

    m = model.metrics
    assert m["roc_auc"] > 0.9
    assert m["precision_top_decile"] > 3 * m["base_rate"]  # the top decile holds several times the base rate
    assert 0 < m["brier"] < m["base_rate"]
    # A time split: learn on earlier dates, calibrate later, judge on the latest; no label window crosses.
    w = m["windows"]
    horizon = dt.timedelta(days=model.horizon_days)
    assert dt.date.fromisoformat(w["train"]["to"]) + horizon <= dt.date.fromisoformat(w["calibration"]["from"])
    assert dt.date.fromisoformat(w["calibration"]["to"]) + horizon <= dt.date.fromisoformat(w["evaluation"]["from"])
    assert dt.date.fromisoformat(w["evaluation"]["to"]) + horizon <= TODAY
    assert sum(b["rows"] for b in m["calibration"]) == m["rows"] == w["evaluation"]["rows"]

    written = risk.predict(TODAY, model)
    assert written == RiskPrediction.objects.filter(day=TODAY).count() > 1000
    top = RiskPrediction.objects.filter(day=TODAY).order_by("-probability")[: written // 10]
    causes = collections.Counter(cause_of(d[0]) for p in top for d in p.drivers)
    # The generator's drivers: usage fading, inquiries piling up, NPS dropping, the champion leaving (rarer:
    # about one account in five loses its champion, so it is looked for among all explained accounts).
    for planted in ("usage", "inquiries", "nps"):
        assert causes[planted] > 0, causes
    explained = RiskPrediction.objects.filter(day=TODAY).exclude(drivers=[])
    assert any(cause_of(d[0]) == "champion" for p in explained for d in p.drivers)
    assert model.importance["days_since_champion_left"] + model.importance["champion_left"] > 0
    assert causes["usage"] + causes["inquiries"] > causes["contract"] / 2
    texts = [t for p in top for t in driver_texts(p.drivers)]
    assert any("利用" in t and "減" in t for t in texts)
    assert any("問い合わせ" in t for t in texts)
    assert any("担当者" in t for t in texts)


def test_a_stored_version_predicts_the_same_after_reloading_from_text_and_json():
    demo_history(accounts=300)
    model = risk.train(TODAY)
    stored = RiskModel.objects.get(pk=model.pk)
    assert stored.booster.startswith("tree") and stored.calibrator["kind"] in ("isotonic", "platt")
    assert stored.features == list(risk.FEATURES) and set(stored.importance) == set(risk.FEATURES)

    risk.predict(TODAY, stored)
    frame = risk.features_on(TODAY, risk.History(), risk._ready(None))
    probability = risk.score(stored, frame)
    saved = dict(RiskPrediction.objects.filter(day=TODAY).values_list("account_id", "probability"))
    assert np.allclose([saved[a] for a in frame["account_id"].to_list()], probability, atol=1e-5)
    # Drivers are the largest positive SHAP values, largest first.
    p = RiskPrediction.objects.filter(day=TODAY).exclude(drivers=[]).first()
    contributions = [d[2] for d in p.drivers]
    assert contributions == sorted(contributions, reverse=True) and all(c > 0 for c in contributions)
    # A day where no account reaches the base rate explains nobody instead of failing inside LightGBM.
    assert risk.contributions(stored, frame.head(0)).shape == (0, len(stored.features))


def test_the_scorecard_measure_predicts_the_day_when_nothing_is_stored_yet():
    demo_history(accounts=300)
    values = sources()["churn"].values
    assert values(["risk"], TODAY, None).height == 0  # no model yet: no data, no error

    risk.train(TODAY)
    frame = values(["risk"], TODAY, None)
    assert frame.columns == ["account_id", "risk"] and frame.height > 100
    stored = dict(RiskPrediction.objects.filter(day=TODAY).values_list("account_id", "probability"))
    assert all(abs(r - stored[a] * 100) < 1e-9 for a, r in frame.iter_rows())
    # A second read does not predict again.
    count = RiskPrediction.objects.count()
    some = frame["account_id"][:5].to_list()
    assert values(["risk"], TODAY, some)["account_id"].sort().to_list() == sorted(some)
    assert RiskPrediction.objects.count() == count


def test_the_command_line_trains_and_predicts(capsys):
    demo_history(accounts=300)
    call_command("churn", "train", "--as-of", TODAY.isoformat())
    out = capsys.readouterr().out
    assert "ROC AUC" in out and RiskModel.objects.count() == 1
    call_command("churn", "predict", "--as-of", TODAY.isoformat())
    assert "predictions written" in capsys.readouterr().out
    assert RiskRun.objects.filter(status=RiskRunStatus.SUCCEEDED).count() == 2
    assert RiskPrediction.objects.filter(day=TODAY).exists()
