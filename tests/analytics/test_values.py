"""Metric values kept as a history of changes: what a day's value was, without a row per subject per day."""

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from banso.analytics.models import MetricValue
from banso.analytics.specs import MetricSpec, Window
from banso.analytics.values import history, values_on, write_values

METRICS = {
    "logins_30d": MetricSpec(aggregate="count", kinds=["login"], window=Window(days=30)),
    "days_since_login": MetricSpec(aggregate="days_since", kinds=["login"]),
    "trend": MetricSpec(aggregate="trend", kinds=["login"], window=Window(days=30)),
}
DAY1, DAY2, DAY3 = dt.date(2026, 11, 23), dt.date(2026, 11, 24), dt.date(2026, 11, 25)


def table(rows: list[tuple[int, int, int | None, float | None]]) -> pa.Table:
    ids, logins, since, trend = (list(column) for column in zip(*rows, strict=True))
    return pa.table(
        {
            "subject_id": pa.array(ids, pa.int64()),
            "logins_30d": pa.array(logins, pa.int64()),
            "days_since_login": pa.array(since, pa.int64()),
            "trend": pa.array(trend, pa.float64()),
        }
    )


@pytest.mark.django_db
def test_only_changes_are_written_and_each_day_reads_back_its_own_values():
    assert write_values("account", DAY1, table([(1, 5, 0, 25.0), (2, 3, 2, None)]), METRICS) == 5
    assert write_values("account", DAY2, table([(1, 5, 0, 25.0), (2, 3, 3, None)]), METRICS) == 1  # one value moved
    assert MetricValue.objects.count() == 6

    assert values_on("account", 2, DAY1)["days_since_login"] == Decimal(2)
    assert values_on("account", 2, DAY2)["days_since_login"] == Decimal(3)
    assert values_on("account", 2)["logins_30d"] == Decimal(3)
    assert history("account", 2, "days_since_login") == [(DAY1, DAY2, Decimal(2)), (DAY2, None, Decimal(3))]


@pytest.mark.django_db
def test_a_subject_that_drops_out_takes_the_empty_value_and_one_never_seen_gets_no_row():
    write_values("account", DAY1, table([(1, 5, 0, 33.3333333)]), METRICS)
    assert values_on("account", 1)["trend"] == Decimal("33.3333")
    write_values("account", DAY2, table([(3, 0, None, None)]), METRICS)

    assert values_on("account", 1) == {"logins_30d": Decimal(0), "days_since_login": None, "trend": None}
    assert values_on("account", 1, DAY1)["logins_30d"] == Decimal(5)
    # Subject 3's values are all empty values: nothing to store, and reading it gives nothing either.
    assert values_on("account", 3) == {}


@pytest.mark.django_db
def test_recomputing_the_same_day_replaces_that_days_values_and_an_older_day_never_rewrites_history():
    write_values("account", DAY1, table([(1, 5, 0, None)]), METRICS)
    write_values("account", DAY2, table([(1, 6, 0, None)]), METRICS)
    write_values("account", DAY2, table([(1, 7, 0, None)]), METRICS)
    assert history("account", 1, "logins_30d") == [(DAY1, DAY2, Decimal(5)), (DAY2, None, Decimal(7))]

    assert write_values("account", DAY1, table([(1, 99, 0, None)]), METRICS) == 0
    assert values_on("account", 1, DAY1)["logins_30d"] == Decimal(5)

    write_values("account", DAY3, table([(1, 7, 1, None)]), METRICS)
    assert values_on("account", 1, DAY3) == {"logins_30d": Decimal(7), "days_since_login": Decimal(1)}


@pytest.mark.django_db
def test_end_user_values_are_kept_apart_from_account_values_with_the_same_id():
    write_values("account", DAY1, table([(1, 5, 0, None)]), METRICS)
    write_values("end_user", DAY1, table([(1, 9, 4, None)]), METRICS)
    assert values_on("account", 1)["logins_30d"] == Decimal(5)
    assert values_on("end_user", 1)["logins_30d"] == Decimal(9)
