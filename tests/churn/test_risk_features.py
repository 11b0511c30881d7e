"""Features are computed as of each prediction date only: later events, a later churn or a later departure
change nothing about an earlier date; labels look only forward, within the horizon."""

import datetime as dt

import pytest

from banso.accounts.choices import ContactRole
from banso.analytics.backends import get_backend
from banso.churn import risk
from tests.accounts.factories import ContactFactory
from tests.analytics.factories import add_events, at

from .factories import AccountFactory, contract

pytestmark = pytest.mark.django_db
D = dt.date


def features(day: dt.date, horizon: int | None = 90) -> dict[int, dict]:
    frame = risk.features_on(day, risk.History(), risk._ready(get_backend()), horizon)
    return {row["account_id"]: row for row in frame.iter_rows(named=True)}


def test_events_contract_and_departure_after_the_date_do_not_change_its_features():
    account = AccountFactory(name="東京精機", tier="high")
    contract(account, 120_000, D(2024, 4, 1), D(2025, 4, 1))  # renewed
    contract(account, 150_000, D(2025, 4, 1), D(2026, 4, 1), churned=True)
    add_events(*[(account, "login", at(D(2025, 9, d))) for d in range(2, 12)])  # the 30 days up to 10/1
    add_events((account, "inquiry_opened", at(D(2025, 9, 20))), (account, "survey_nps", at(D(2025, 9, 25))))
    day = D(2025, 10, 1)
    before = features(day)[account.pk]

    # Everything below happens after the prediction date.
    add_events(*[(account, "inquiry_opened", at(D(2025, 10, d))) for d in range(2, 20)])
    add_events(*[(account, "login", at(D(2025, 11, d))) for d in range(1, 20)])
    ContactFactory(account=account, role=ContactRole.CHAMPION, left_on=D(2025, 12, 1))
    assert features(day)[account.pk] == before

    assert before["logins_30d"] == 10 and before["inquiries_30d"] == 1
    assert before["mrr"] == 150_000 and before["days_to_renewal"] == (D(2026, 4, 1) - day).days
    assert before["tenure_days"] == (day - D(2024, 4, 1)).days and before["tier"] == 2
    assert before["champion_left"] == 0 and before["label"] == 0  # the churn is more than 90 days away


def test_the_label_is_a_churn_within_the_horizon_and_churned_accounts_drop_out():
    account = AccountFactory()
    contract(account, 80_000, D(2025, 1, 10), D(2026, 1, 10), churned=True)
    assert features(D(2025, 10, 1))[account.pk]["label"] == 0
    assert features(D(2025, 11, 1))[account.pk]["label"] == 1
    assert features(D(2025, 11, 1), horizon=30)[account.pk]["label"] == 0
    assert account.pk not in features(D(2026, 2, 1))  # gone: not scored any more


def test_a_key_contact_who_left_counts_for_270_days_and_a_successor_is_noted():
    with_successor, alone = AccountFactory(), AccountFactory()
    for a in (with_successor, alone):
        contract(a, 100_000, D(2024, 1, 1))
    successor = ContactFactory(account=with_successor, role=ContactRole.CHAMPION)
    ContactFactory(account=with_successor, role=ContactRole.CHAMPION, left_on=D(2025, 6, 1), successor=successor)
    ContactFactory(account=alone, is_primary=True, role=ContactRole.DECISION_MAKER, left_on=D(2025, 6, 1))
    ContactFactory(account=alone, role=ContactRole.USER, left_on=D(2025, 5, 1))  # not a key contact

    rows = features(D(2025, 7, 1))
    assert rows[with_successor.pk]["champion_left"] == 1 and rows[with_successor.pk]["champion_left_no_successor"] == 0
    assert rows[alone.pk]["champion_left_no_successor"] == 1 and rows[alone.pk]["days_since_champion_left"] == 30
    later = features(D(2026, 3, 1))  # 273 days after
    assert later[alone.pk]["champion_left"] == 0 and later[alone.pk]["days_since_champion_left"] is None


def test_prediction_dates_are_month_starts_whose_label_window_has_ended():
    dates = risk.month_starts(D(2026, 11, 20), 90)
    assert dates[0] == D(2023, 11, 1) and dates[-1] == D(2026, 8, 1)
    assert all(d.day == 1 and d + dt.timedelta(days=90) <= D(2026, 11, 20) for d in dates)
