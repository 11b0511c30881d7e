"""What a metric means, day by day: windows on Japanese calendar days, days since, trends, distinct counts,
and segment rules — computed by the engine on embedded DuckDB over hand-made events."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import ibis
import pyarrow as pa
import pytest

from banso.analytics.engine import can_match_without_events, metric_table, plan_segment, segment_members
from banso.analytics.specs import Group, MetricRule, MetricSpec, SpecError, Window, parse_metric, parse_segment

JST = ZoneInfo("Asia/Tokyo")
AS_OF = dt.date(2026, 11, 25)


def jst(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=JST)


def events_table(rows, con=None):
    """rows: (account_id, end_user_id, kind, occurred_at, value)"""
    columns = list(zip(*rows, strict=True)) if rows else [[]] * 5
    table = pa.table(
        {
            "account_id": pa.array(columns[0], pa.int64()),
            "end_user_id": pa.array(columns[1], pa.int64()),
            "kind": pa.array(columns[2], pa.string()),
            "occurred_at": pa.array([t.astimezone(dt.UTC) for t in columns[3]], pa.timestamp("us", "UTC")),
            "value": pa.array(columns[4], pa.decimal128(18, 4)),
        }
    )
    return (con or ibis.duckdb.connect()).create_table("events", table)


def compute(rows, subject="account", **metrics):
    result = metric_table(events_table(rows), metrics, subject, AS_OF).to_pyarrow().to_pylist()
    return {row.pop("subject_id"): row for row in result}


def test_last_30_days_start_at_midnight_tokyo_30_days_back_and_end_with_the_as_of_day():
    logins = MetricSpec(aggregate="count", kinds=["login"], window=Window(days=30))
    rows = [
        (1, None, "login", jst(2026, 10, 27, 0, 0, 0), None),  # first instant of the window
        (1, None, "login", jst(2026, 10, 26, 23, 59, 59), None),  # a second too early
        (1, None, "login", jst(2026, 11, 25, 23, 59, 59), None),  # last second of the as-of day
        (1, None, "login", jst(2026, 11, 26, 0, 0, 0), None),  # tomorrow: not yet
        (1, None, "search", jst(2026, 11, 20), None),  # another kind
    ]
    assert compute(rows, logins=logins)[1]["logins"] == 2


def test_days_since_counts_japanese_calendar_days_not_24_hour_periods():
    since = MetricSpec(aggregate="days_since", kinds=["login"])
    rows = [
        (1, None, "login", jst(2026, 11, 25, 0, 0, 0, 500), None),
        (2, None, "login", jst(2026, 11, 24, 23, 59, 59, 999999), None),
        (3, None, "login", jst(2026, 11, 1, 12), None),
        (3, None, "login", jst(2025, 1, 1, 12), None),
        (4, None, "search", jst(2026, 11, 24), None),
    ]
    result = compute(rows, since=since)
    assert [result[i]["since"] for i in (1, 2, 3)] == [0, 1, 24]
    assert 4 not in result  # no login ever: absent, i.e. the metric's empty value
    assert since.empty_value is None


def test_trend_is_the_percent_change_against_the_window_before_and_empty_when_there_was_nothing_before():
    trend = MetricSpec(aggregate="trend", kinds=["login"], window=Window(days=30))
    now = [(1, None, "login", jst(2026, 11, d), None) for d in (1, 2, 3)]
    before = [(1, None, "login", jst(2026, 10, d), None) for d in (1, 2)]  # 2026-09-27..10-26 is "before"
    only_now = [(2, None, "login", jst(2026, 11, 10), None)]
    result = compute(now + before + only_now, trend=trend)
    assert result[1]["trend"] == 50.0
    assert result[2]["trend"] is None


def test_distinct_end_users_sums_and_filters_by_the_account_where_it_happened():
    metrics = {
        "users": MetricSpec(aggregate="distinct_end_users", kinds=["visit"], window=Window(days=7)),
        "sales": MetricSpec(aggregate="sum", kinds=["booking"], window=Window(days=7)),
    }
    rows = [
        (10, 1, "visit", jst(2026, 11, 20), None),
        (10, 1, "visit", jst(2026, 11, 21), None),
        (10, 2, "visit", jst(2026, 11, 22), None),
        (10, None, "booking", jst(2026, 11, 22), Decimal("1200.5")),
        (10, None, "booking", jst(2026, 11, 23), Decimal("800")),
        (11, 3, "visit", jst(2026, 11, 23), None),
    ]
    result = compute(rows, **metrics)
    assert result[10] == {"users": 2, "sales": Decimal("2000.5")}
    assert result[11] == {"users": 1, "sales": Decimal("0")}  # a sum over nothing is 0, not empty

    at_merchant = MetricSpec(
        subject="end_user", aggregate="count", kinds=["visit"], at_accounts=[10], window=Window(days=7)
    )
    by_user = compute(rows, subject="end_user", visits_at_10=at_merchant)
    # User 3 visited only another merchant: absent, i.e. at the metric's empty value, 0.
    assert {user: row["visits_at_10"] for user, row in by_user.items()} == {1: 2, 2: 1}


def test_three_to_seven_days_ago_is_a_five_day_window_offset_by_three():
    window = Window(days=5, offset=3)
    assert window.bounds(AS_OF) == (dt.date(2026, 11, 18), dt.date(2026, 11, 22))
    assert window.previous().bounds(AS_OF) == (dt.date(2026, 11, 13), dt.date(2026, 11, 17))


def test_a_bad_metric_definition_is_refused_with_the_field_named():
    with pytest.raises(SpecError) as refused:
        parse_metric({"aggregate": "count", "kinds": [], "window": {"days": 0}})
    fields = [field for field, _ in refused.value.errors]
    assert "kinds" in fields and "window.days" in fields

    with pytest.raises(SpecError) as refused:
        parse_metric({"aggregate": "count", "kinds": ["login"]})
    assert "window" in str(refused.value).lower()

    with pytest.raises(SpecError) as refused:
        parse_metric({"aggregate": "median", "kinds": ["login"], "window": {"days": 3}})
    assert refused.value.errors[0][0] == "aggregate"


def test_a_bad_segment_rule_is_refused_with_the_field_named():
    with pytest.raises(SpecError) as refused:
        parse_segment(
            {"rules": {"match": "all", "rules": [{"type": "metric", "metric": "x", "op": "between", "value": [5, 1]}]}}
        )
    assert "between" in str(refused.value)


# Segments ----------------------------------------------------------------------------------------

VISITED_X = MetricSpec(
    subject="end_user", aggregate="count", kinds=["visit"], at_accounts=[7], window=Window(days=5, offset=3)
)
BOUGHT_AT_X = MetricSpec(
    subject="end_user", aggregate="count", kinds=["purchase"], at_accounts=[7], window=Window(days=8)
)


def visited_x_and_did_not_buy() -> Group:
    return Group(
        match="all",
        rules=[
            MetricRule(metric=VISITED_X, op="gte", value=1),
            MetricRule(metric=BOUGHT_AT_X, op="eq", value=0),
        ],
    )


def test_visited_merchant_x_three_to_seven_days_ago_and_did_not_purchase():
    rows = [
        (7, 1, "visit", jst(2026, 11, 20), None),  # 5 days ago, no purchase: in
        (7, 2, "visit", jst(2026, 11, 19), None),  # bought afterwards: out
        (7, 2, "purchase", jst(2026, 11, 21), None),
        (7, 3, "visit", jst(2026, 11, 24), None),  # 1 day ago: too recent
        (7, 4, "visit", jst(2026, 11, 10), None),  # 15 days ago: too old
        (8, 5, "visit", jst(2026, 11, 20), None),  # another merchant
        (7, 6, "visit", jst(2026, 11, 18, 0, 0), None),  # exactly 7 days ago: in
        (8, 6, "purchase", jst(2026, 11, 20), None),  # bought elsewhere: still in
    ]
    plan = plan_segment(visited_x_and_did_not_buy(), {})
    assert not can_match_without_events(plan)  # so no table of all end users is needed
    members = segment_members(plan, events_table(rows), "end_user", AS_OF).to_pyarrow()
    assert sorted(members["subject_id"].to_pylist()) == [1, 6]


def test_a_rule_met_by_silence_needs_every_subject_and_finds_those_without_events():
    rules = parse_segment(
        {
            "rules": {
                "match": "all",
                "rules": [
                    {
                        "type": "metric",
                        "metric": {"aggregate": "count", "kinds": ["login"], "window": {"days": 30}},
                        "op": "eq",
                        "value": 0,
                    },
                    {"type": "attribute", "field": "tier", "op": "eq", "value": "high"},
                ],
            }
        }
    ).rules
    plan = plan_segment(rules, {})
    assert can_match_without_events(plan)
    con = ibis.duckdb.connect()
    subjects = con.create_table(
        "subjects", pa.table({"subject_id": [1, 2, 3, 4], "a0": ["high", "high", "low", "high"]})
    )
    rows = [(1, None, "login", jst(2026, 11, 20), None), (3, None, "search", jst(2026, 11, 20), None)]
    members = segment_members(plan, events_table(rows, con), "account", AS_OF, subjects, {"tier": "a0"})
    members = members.to_pyarrow()
    assert sorted(members["subject_id"].to_pylist()) == [2, 4]


def test_any_of_and_negated_groups_combine_like_the_rules_read():
    rules = parse_segment(
        {
            "rules": {
                "match": "any",
                "rules": [
                    {"type": "metric", "metric": "since", "op": "gte", "value": 30},
                    {
                        "type": "group",
                        "negate": True,
                        "rules": [{"type": "metric", "metric": "logins", "op": "gt", "value": 1}],
                    },
                ],
            }
        }
    ).rules
    resolve = {
        "since": MetricSpec(aggregate="days_since", kinds=["login"]),
        "logins": MetricSpec(aggregate="count", kinds=["login"], window=Window(days=30)),
    }
    rows = [
        (1, None, "login", jst(2026, 9, 1), None),  # 85 days: in by the first rule
        (2, None, "login", jst(2026, 11, 20), None),  # one login: in by "not more than 1"
        (3, None, "login", jst(2026, 11, 20), None),
        (3, None, "login", jst(2026, 11, 21), None),  # two recent logins: out
    ]
    plan = plan_segment(rules, resolve)
    members = segment_members(plan, events_table(rows), "account", AS_OF).to_pyarrow()
    assert sorted(members["subject_id"].to_pylist()) == [1, 2]
