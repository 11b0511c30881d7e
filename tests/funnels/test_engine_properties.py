"""Property: the funnel of every client does not depend on the order of the events, and its counts are the
definition's (distinct applicants, events without one counted each), checked against a plain count."""

import datetime as dt

import ibis
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from banso.analytics.backends import Backend
from banso.analytics.engine import EVENT_COLUMNS, day_start
from banso.funnels import computing, engine

from .factories import DEFAULT_STAGES, FunnelFactory

AS_OF = dt.date(2026, 11, 25)
KINDS = [kind for _l, _r, kind in DEFAULT_STAGES] + ["login"]
CLIENTS = pl.DataFrame({"account_id": [1, 2, 3, 4, 5], "peer": ["a", "a", "a", "a", "b"]}, schema=engine.CLIENT_SCHEMA)


class FrameBackend(Backend):
    """The events of a polars frame, in DuckDB: the same query as over the Parquet copy."""

    con = None

    def __init__(self, frame: pl.DataFrame) -> None:
        if FrameBackend.con is None:
            FrameBackend.con = ibis.duckdb.connect()
        super().__init__(FrameBackend.con)
        self.frame = frame

    def events(self, since: dt.date | None = None) -> ibis.Table:
        return ibis.memtable(self.frame.to_arrow()).select(*EVENT_COLUMNS)


event = st.tuples(
    st.integers(1, 5),  # account
    st.sampled_from(KINDS),
    st.one_of(st.none(), st.integers(1, 8)),  # applicant, or none
    st.integers(-5, 100),  # days before the as-of day (negative: after it)
    st.integers(0, 86_399),  # second of the day
)


def frame_of(events: list[tuple[int, str, int | None, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account_id": [e[0] for e in events],
            "end_user_id": [e[2] for e in events],
            "kind": [e[1] for e in events],
            "occurred_at": [day_start(AS_OF - dt.timedelta(days=e[3])) + dt.timedelta(seconds=e[4]) for e in events],
            "value": [None] * len(events),
        },
        schema={
            "account_id": pl.Int64,
            "end_user_id": pl.Int64,
            "kind": pl.String,
            "occurred_at": pl.Datetime("us", "UTC"),
            "value": pl.Decimal(18, 4),
        },
    )


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(event, max_size=60), data=st.data())
def test_shuffled_events_give_identical_funnels_and_the_defined_counts(events, data):
    funnel = FunnelFactory(history_periods=2)

    def compute(rows):
        counts = computing.lake_counts(FrameBackend(frame_of(rows)), funnel, AS_OF, 3)
        return engine.funnel_table(counts, CLIENTS, 3, funnel.period_days)

    shuffled = data.draw(st.permutations(events))
    first, second = compute(events), compute(shuffled)
    assert first.equals(second)

    # The current period (days 0..29 before the as-of day) counted by hand.
    for row in first.to_dicts():
        expected = []
        for kind in KINDS[:3]:
            hits = [e for e in events if e[0] == row["account_id"] and e[1] == kind and 0 <= e[3] < 30]
            expected.append(len({e[2] for e in hits if e[2] is not None}) + sum(e[2] is None for e in hits))
        assert row["counts"] == expected
    funnel.delete()
