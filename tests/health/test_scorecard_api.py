"""Scorecards and scores in the JSON API: cards created and updated (a changed definition is a new version),
bad definitions refused with 422 naming the field path, an account's score now, its history and the
explanation of a day, and rescore runs started and polled."""

import datetime as dt
from decimal import Decimal

import pytest

from banso.core.choices import Role
from banso.health.models import HealthRun, HealthSnapshot, Scorecard
from tests.accounts.factories import AccountFactory
from tests.analytics.factories import SegmentFactory

from .factories import LOGINS, OPEN_INQUIRIES, definition, make_card

pytestmark = pytest.mark.django_db
BASE = "/api/health"


def send(client, method, path, data):
    return getattr(client, method)(BASE + path, data, content_type="application/json")


def test_a_card_is_created_and_each_change_of_definition_is_a_new_version(api_as):
    client = api_as(Role.OPS_MANAGER)
    segment = SegmentFactory()
    created = send(
        client,
        "post",
        "/scorecards",
        {"name": "セグメント別", "segment_id": segment.pk, "priority": 3, "definition": definition()},
    )
    assert created.status_code == 201, created.content
    card = created.json()
    assert (card["version"], card["segment_id"], card["is_default"]) == (1, segment.pk, False)

    changed = definition(LOGINS, red_below=30)
    updated = send(
        client,
        "put",
        f"/scorecards/{card['id']}",
        {"name": "セグメント別", "segment_id": segment.pk, "definition": changed, "note": "問い合わせを外す"},
    )
    body = updated.json()
    assert updated.status_code == 200 and body["version"] == 2
    assert [v["number"] for v in body["versions"]] == [2, 1]
    assert body["versions"][0]["note"] == "問い合わせを外す"
    assert "未解決の問い合わせを削除" in body["versions"][0]["changes"]
    assert Scorecard.objects.get().versions.count() == 2


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "", "definition": definition()}, "name"),
        ({"name": "x", "definition": {"measures": []}}, "definition.measures"),
        (
            {"name": "x", "definition": definition({**LOGINS, "key": "metric:nothing_like_it"})},
            "definition.measures.0.key",
        ),
        (
            {"name": "x", "definition": definition({**LOGINS, "mapping": {"type": "range", "bad": 1}})},
            "definition.measures.0.mapping.good",
        ),
        ({"name": "x", "definition": definition(LOGINS, red_below=90, green_from=50)}, "definition.bands"),
        ({"name": "x", "segment_id": 999999, "definition": definition()}, "segment_id"),
    ],
)
def test_a_bad_card_is_refused_with_the_field_path(api_as, payload, field):
    response = send(api_as(Role.OPS_MANAGER), "post", "/scorecards", payload)
    assert response.status_code == 422
    assert field in [error["field"] for error in response.json()["detail"]]
    assert not Scorecard.objects.exists()


def test_a_csm_reads_cards_but_cannot_write_them(api_as):
    make_card()
    client = api_as(Role.CSM)
    assert client.get(BASE + "/scorecards").status_code == 200
    assert send(client, "post", "/scorecards", {"name": "x", "definition": definition()}).status_code == 403


def test_score_history_and_the_explanation_of_a_day(api_as):
    account = AccountFactory()
    card = make_card(definition_data=definition(LOGINS, OPEN_INQUIRIES))
    for day, values, score, band in (
        (dt.date(2026, 11, 19), {"metric:logins_30d": 10.0, "inquiries:open": 0.0}, "70.0", "green"),
        (dt.date(2026, 11, 20), {"metric:logins_30d": 4.0, "inquiries:open": None}, "20.0", "red"),
    ):
        HealthSnapshot.objects.create(
            account=account,
            day=day,
            score=Decimal(score),
            band=band,
            scorecard=card,
            version=card.current,
            values=values,
        )
    client = api_as(Role.CSM)

    now = client.get(f"{BASE}/accounts/{account.pk}/score").json()
    assert (now["day"], now["score"], now["band"], now["version"]) == ("2026-11-20", "20.0", "red", 1)
    history = client.get(f"{BASE}/accounts/{account.pk}/history").json()
    assert [(p["day"], p["score"]) for p in history] == [("2026-11-19", "70.0"), ("2026-11-20", "20.0")]
    explained = client.get(f"{BASE}/accounts/{account.pk}/explanation", {"day": "2026-11-20"}).json()
    assert explained["redistributed"] is True
    logins, inquiries = explained["measures"]
    assert (logins["raw"], logins["points"], logins["effective_weight"], logins["contribution"]) == (
        4.0,
        20.0,
        100.0,
        20.0,
    )
    assert (inquiries["raw"], inquiries["effective_weight"], inquiries["weight"]) == (None, 0.0, 40.0)


def test_an_account_never_scored_answers_404(api_as):
    account = AccountFactory()
    assert api_as(Role.CSM).get(f"{BASE}/accounts/{account.pk}/score").status_code == 404


def test_a_rescore_is_queued_and_its_run_polled(api_as, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = send(api_as(Role.OPS_MANAGER), "post", "/rescore", {"as_of": "2026-11-20"})
    assert response.status_code == 202
    run = response.json()
    assert (run["as_of"], run["status"]) == ("2026-11-20", "queued")
    polled = api_as(Role.CSM).get(f"{BASE}/runs/{run['id']}").json()
    assert polled["status"] == "queued" and HealthRun.objects.count() == 1
    assert send(api_as(Role.CSM), "post", "/rescore", {}).status_code == 403
