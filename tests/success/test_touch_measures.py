"""Touches as scorecard measures: days since the last touch and recent touch counts, as of any day."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from banso.health.measures import sources
from banso.success.models import Touch, TouchChannel, TouchOutcome
from tests.accounts.factories import AccountFactory

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")


def _touch(account, when, outcome=TouchOutcome.CONVERSATION):
    return Touch.objects.create(account=account, channel=TouchChannel.CALL, outcome=outcome, occurred_at=when)


def _values(keys, day, ids=None):
    return {r["account_id"]: r for r in sources()["success"].values(keys, day, ids).to_dicts()}


def test_days_since_touch_counts_japanese_calendar_days_up_to_the_scored_day():
    account = AccountFactory()
    # 2026-11-10 00:30 in Tokyo is still 11-09 in UTC: the Japanese date counts.
    _touch(account, dt.datetime(2026, 11, 10, 0, 30, tzinfo=TOKYO))
    assert _values(["days_since_touch"], dt.date(2026, 11, 20))[account.pk]["days_since_touch"] == 10.0


def test_a_touch_after_the_scored_day_is_not_seen_when_rescoring_the_past():
    account = AccountFactory()
    _touch(account, dt.datetime(2026, 9, 1, 10, 0, tzinfo=TOKYO))
    _touch(account, dt.datetime(2026, 11, 1, 10, 0, tzinfo=TOKYO))
    row = _values(["days_since_touch", "touches_90d"], dt.date(2026, 10, 1))[account.pk]
    assert row == {"account_id": account.pk, "days_since_touch": 30.0, "touches_90d": 1.0}


def test_recent_counts_keep_only_the_last_90_days_and_appointments_by_outcome():
    account = AccountFactory()
    day = dt.date(2026, 11, 30)
    _touch(account, dt.datetime(2026, 9, 1, 10, 0, tzinfo=TOKYO))  # day 91 before: outside the window
    _touch(account, dt.datetime(2026, 9, 2, 10, 0, tzinfo=TOKYO), TouchOutcome.APPOINTMENT)
    _touch(account, dt.datetime(2026, 11, 30, 17, 0, tzinfo=TOKYO), TouchOutcome.NO_REACTION)
    row = _values(["touches_90d", "appointments_90d"], day)[account.pk]
    assert (row["touches_90d"], row["appointments_90d"]) == (2.0, 1.0)


def test_an_account_never_touched_has_no_data_and_only_asked_accounts_are_read():
    touched, never, other = AccountFactory(), AccountFactory(), AccountFactory()
    _touch(touched, dt.datetime(2026, 11, 2, 10, 0, tzinfo=TOKYO))
    _touch(other, dt.datetime(2026, 11, 2, 10, 0, tzinfo=TOKYO))
    assert set(_values(["touches_90d"], dt.date(2026, 11, 3), [touched.pk, never.pk])) == {touched.pk}
