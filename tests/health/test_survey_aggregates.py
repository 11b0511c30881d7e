"""NPS and CSAT aggregates and the `survey:` scorecard measures, read from answers in the event store."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from banso.activity import lake
from banso.analytics.models import SegmentMembership
from banso.health import surveys
from banso.health.measures import sources
from tests.accounts.factories import AccountFactory, ContactFactory
from tests.analytics.factories import SegmentFactory

from .survey_factories import SurveyFactory, add_scores, at

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 20)


def test_nps_by_month_tier_and_segment_matches_a_hand_count():
    high, low = AccountFactory(tier="high"), AccountFactory(tier="low")
    segment = SegmentFactory()
    SegmentMembership.objects.create(segment=segment, subject_id=high.pk, entered_at=timezone.now())
    october, november = dt.date(2026, 10, 5), dt.date(2026, 11, 3)
    add_scores(
        # October: 10, 9 promoters; 8 passive; 6, 3 detractors -> NPS (2 - 2) / 5 = 0
        (high, "survey_nps", at(october), 10),
        (high, "survey_nps", at(october), 9),
        (low, "survey_nps", at(october), 8),
        (low, "survey_nps", at(october), 6),
        (low, "survey_nps", at(october), 3),
        # November: 10, 10, 7 -> (2 - 0) / 3 = 66.7
        (high, "survey_nps", at(november), 10),
        (low, "survey_nps", at(november), 10),
        (low, "survey_nps", at(november), 7),
        # not NPS, and after the day: ignored
        (low, "survey_csat", at(november), 1),
        (low, "survey_nps", at(DAY + dt.timedelta(days=1)), 0),
    )
    found = surveys.aggregate("nps", as_of=DAY, months=3)

    assert [m["month"] for m in found["by_month"]] == ["2026-09", "2026-10", "2026-11"]
    sep, octo, nov = found["by_month"]
    assert sep["responses"] == 0
    assert (octo["responses"], octo["promoters"], octo["passives"], octo["detractors"]) == (5, 2, 1, 2)
    assert octo["nps"] == 0
    assert (nov["responses"], nov["promoters"], nov["detractors"]) == (3, 2, 0)
    assert nov["nps"] == pytest.approx(200 / 3)
    assert found["overall"]["responses"] == 8 and found["overall"]["nps"] == pytest.approx(100 * (4 - 2) / 8)

    tiers = {row["tier"]: row for row in found["by_tier"]}
    assert tiers["high"]["responses"] == 3 and tiers["high"]["nps"] == 100  # 10, 9, 10
    assert tiers["low"]["responses"] == 5 and tiers["low"]["nps"] == pytest.approx(100 * (1 - 2) / 5)  # 8 6 3 10 7
    (member_row,) = found["by_segment"]
    assert member_row["label"] == segment.name and member_row["nps"] == 100


def test_csat_average_and_share_satisfied():
    account = AccountFactory()
    add_scores(*[(account, "survey_csat", at(DAY), s) for s in (5, 4, 3, 1)])
    overall = surveys.aggregate("csat", as_of=DAY, months=1)["overall"]
    assert overall["responses"] == 4
    assert overall["average"] == pytest.approx(13 / 4)
    assert overall["satisfied_pct"] == 50


def test_survey_measures_as_of_a_day_for_all_accounts_at_once():
    a, b, quiet = AccountFactory.create_batch(3)
    add_scores(
        (a, "survey_nps", at(DAY - dt.timedelta(days=400)), 2),  # older than 365 days
        (a, "survey_nps", at(DAY - dt.timedelta(days=100)), 6),
        (a, "survey_nps", at(DAY - dt.timedelta(days=10)), 9),
        (a, "survey_csat", at(DAY - dt.timedelta(days=200)), 1),  # older than 180 days
        (a, "survey_csat", at(DAY - dt.timedelta(days=20)), 4),
        (a, "survey_csat", at(DAY - dt.timedelta(days=5)), 5),
        (b, "survey_nps", at(DAY, hour=23), 10),  # 23:00 in Japan on the day counts
        (b, "survey_nps", dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(0, 30), at(DAY).tzinfo), 0),
    )
    lake.sync()  # the measures are computed by the analytics engine, over its copy of the events
    source = sources()["survey"]
    assert {o.key for o in source.options()} >= {"nps_latest", "nps_365d", "csat_avg_180d"}

    keys = ["nps_latest", "nps_365d", "csat_avg_180d"]
    values = {r["account_id"]: r for r in source.values(keys, DAY, None).to_dicts()}
    assert values[a.pk] == {"account_id": a.pk, "nps_latest": 9.0, "nps_365d": 0.0, "csat_avg_180d": 4.5}
    assert values[b.pk] == {"account_id": b.pk, "nps_latest": 10.0, "nps_365d": 100.0, "csat_avg_180d": None}
    assert quiet.pk not in values

    earlier = {
        r["account_id"]: r for r in source.values(keys, DAY - dt.timedelta(days=50), [a.pk, quiet.pk]).to_dicts()
    }
    # 50 days earlier: the 2 (350 days before) and the 6 are in the window, both detractors; the CSAT 1 is
    # 150 days before, inside 180.
    assert earlier[a.pk]["nps_latest"] == 6.0 and earlier[a.pk]["nps_365d"] == -100.0
    assert earlier[a.pk]["csat_avg_180d"] == 1.0
    assert earlier[quiet.pk] == {"account_id": quiet.pk, "nps_latest": None, "nps_365d": None, "csat_avg_180d": None}


def test_a_real_answer_counts_in_the_measures_like_imported_history(settings):
    settings.BANSO_PUBLIC_URL = "https://banso.example.jp"
    account = AccountFactory()
    ContactFactory(account=account, is_primary=True)
    add_scores((account, "survey_nps", at(timezone.localdate() - dt.timedelta(days=30)), 3))
    wave = surveys.start_wave(SurveyFactory(), enqueue=False)
    token = surveys.token_for(wave.invitations.get())
    assert Client().post(f"/survey/{token}/", {"score": "10"}).status_code == 200
    lake.sync()

    row = sources()["survey"].values(["nps_latest", "nps_365d"], timezone.localdate(), [account.pk]).to_dicts()[0]
    assert row["nps_latest"] == 10.0
    assert row["nps_365d"] == 0.0  # one promoter, one detractor


@pytest.mark.django_db(transaction=True)
def test_survey_measures_are_the_same_on_the_postgresql_engine():
    from django.db import connection

    from banso.analytics.backends import DuckDBBackend, PostgresBackend
    from banso.health.measures import using_backend

    if connection.vendor != "postgresql":
        pytest.skip("the postgres engine reads the app database, which is SQLite here")
    a, b = AccountFactory.create_batch(2)
    add_scores(
        (a, "survey_nps", at(DAY - dt.timedelta(days=30)), 3),
        (a, "survey_nps", at(DAY - dt.timedelta(days=3)), 10),
        (b, "survey_csat", at(DAY - dt.timedelta(days=3)), 4),
    )
    lake.sync()
    keys = ["nps_latest", "nps_365d", "csat_avg_180d"]
    results = []
    for backend in (DuckDBBackend(), PostgresBackend()):
        try:
            with using_backend(backend):
                results.append(sources()["survey"].values(keys, DAY, None).to_dicts())
        finally:
            backend.con.disconnect()  # the test database is dropped at the end: no session may linger
    assert (
        results[0]
        == results[1]
        == [
            {"account_id": a.pk, "nps_latest": 10.0, "nps_365d": 0.0, "csat_avg_180d": None},
            {"account_id": b.pk, "nps_latest": None, "nps_365d": None, "csat_avg_180d": 4.0},
        ]
    )
