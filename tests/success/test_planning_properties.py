"""Properties of coverage assignment and scheduling that must hold for any team and any month: nobody over
capacity while someone is under, every target assigned exactly once and only to an active CSM, owners kept
while they have room, contacts only on the month's business days and renewals contacted ahead."""

import datetime as dt
from collections import Counter

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from banso.core.calendar import is_business_day, month_start
from banso.success import planning

# Golden Week, the year end and ordinary months, in two years.
MONTHS = [dt.date(2026, m, 1) for m in (1, 4, 5, 8, 11, 12)] + [dt.date(2027, 1, 1), dt.date(2027, 5, 1)]


@st.composite
def teams(draw):
    """CSM ids → capacity (zero allowed), and targets as (owner or None, priority); owners may be people
    who are not on the team (not active CSMs)."""
    capacity = draw(st.dictionaries(st.integers(1, 30), st.integers(0, 12), min_size=1, max_size=8))
    outsiders = [101, 102]
    owner = st.one_of(st.none(), st.sampled_from([*capacity, *outsiders]))
    targets = draw(st.lists(st.tuples(owner, st.floats(0, 100, allow_nan=False)), max_size=120))
    return capacity, targets


@given(teams())
@settings(max_examples=300, deadline=None)
def test_every_target_goes_to_exactly_one_active_csm_and_nobody_is_over_while_someone_is_under(team):
    capacity, targets = team
    owners = [o for o, _ in targets]
    assignees = planning.assign(owners, [p for _, p in targets], capacity)

    assert len(assignees) == len(targets)
    assert set(assignees.tolist()) <= set(capacity)
    loads = Counter(assignees.tolist())
    someone_under = any(loads[c] < cap for c, cap in capacity.items())
    someone_over = any(loads[c] > cap for c, cap in capacity.items())
    assert not (someone_under and someone_over)


@given(teams())
@settings(max_examples=300, deadline=None)
def test_an_owner_with_room_keeps_their_accounts_highest_priority_first(team):
    capacity, targets = team
    owners = [o for o, _ in targets]
    priority = [p for _, p in targets]
    assignees = planning.assign(owners, priority, capacity)

    for csm, cap in capacity.items():
        theirs = sorted((i for i, o in enumerate(owners) if o == csm), key=lambda i: (-priority[i], i))
        assert all(assignees[i] == csm for i in theirs[:cap])


@given(teams())
@settings(max_examples=200, deadline=None)
def test_overflow_is_spread_in_proportion_to_capacity(team):
    capacity, targets = team
    if len(targets) <= sum(capacity.values()) or not all(capacity.values()):
        return  # room for everyone, or zero capacities: covered by the test above
    assignees = planning.assign([o for o, _ in targets], [p for _, p in targets], capacity)
    loads = Counter(assignees.tolist())
    assert all(loads[c] >= cap for c, cap in capacity.items())
    # Nobody carries a larger share of their capacity than anyone else would with one more target: moving
    # any single target to someone else cannot lower the largest share (the overflow is a divisor method).
    for i, cap_i in capacity.items():
        for j, cap_j in capacity.items():
            assert loads[i] / cap_i <= (loads[j] + 1) / cap_j + 1e-9


def test_a_team_without_an_active_csm_is_refused_with_a_reason():
    with pytest.raises(planning.PlanningError, match="no active CSM"):
        planning.assign([None], [50.0], {})


@st.composite
def month_plans(draw):
    month = draw(st.sampled_from(MONTHS))
    # The company's own closed days: some random ones in and just before the month.
    closed = set(draw(st.lists(st.integers(-40, 30).map(lambda d: month + dt.timedelta(days=d)), max_size=5)))
    if month.month in (12, 1):
        closed |= {dt.date(month.year - (month.month == 1), 12, d) for d in (29, 30, 31)}
        closed |= {dt.date(month.year + (month.month == 12), 1, d) for d in (2, 3)}
    days = [
        d
        for d in (month - dt.timedelta(days=60) + dt.timedelta(days=i) for i in range(100))
        if d < month_start(month, 1) and is_business_day(d, closed)
    ]
    n = draw(st.integers(0, 150))
    assignees = draw(st.lists(st.integers(1, 6), min_size=n, max_size=n))
    priority = draw(st.lists(st.floats(0, 100, allow_nan=False), min_size=n, max_size=n))
    renewals = draw(
        st.lists(
            st.one_of(st.none(), st.integers(0, 30).map(lambda d: month + dt.timedelta(days=d))), min_size=n, max_size=n
        )
    )
    lead = draw(st.integers(0, 15))
    return month, closed, days, assignees, priority, renewals, lead


@given(month_plans())
@settings(max_examples=200, deadline=None)
def test_contacts_land_on_the_months_business_days_spread_evenly_and_renewals_ahead(case):
    month, closed, days, assignees, priority, renewals, lead = case
    if not any(d >= month for d in days):
        return
    renewal_dates = pl.Series(renewals, dtype=pl.Date)
    dates = planning.schedule(np.array(assignees), np.array(priority), renewal_dates, days, month, lead)

    in_month = [d for d in days if d >= month]
    assert len(dates) == len(assignees)
    for day in dates:
        assert month <= day < month_start(month, 1)
        assert day.weekday() < 5 and is_business_day(day, closed)
    for csm in set(assignees):
        per_day = Counter(d for d, a in zip(dates, assignees, strict=True) if a == csm)
        counts = [per_day.get(d, 0) for d in in_month]
        assert max(counts) - min(counts) <= 1
    # Earliest deadline first: a renewal contacted after its deadline only because every earlier slot of
    # its CSM went to a target whose deadline is no later.
    deadlines = [_deadline(r, days, in_month, lead) for r in renewals]
    for i, (csm, day) in enumerate(zip(assignees, dates, strict=True)):
        if day > deadlines[i]:
            earlier = [j for j, a in enumerate(assignees) if a == csm and dates[j] <= deadlines[i]]
            assert all(deadlines[j] <= deadlines[i] for j in earlier)


def _deadline(renewal, days, in_month, lead):
    """The last day a renewal may be contacted: `lead` business days before it (on or before it for 0),
    never before the month's first business day; the month's last business day without a renewal."""
    if renewal is None or renewal >= in_month[-1] + dt.timedelta(days=31) or renewal.month != in_month[0].month:
        return in_month[-1]
    if lead == 0:
        latest = max((d for d in days if d <= renewal), default=None)
    else:
        before = [d for d in days if d < renewal]
        latest = before[-lead] if len(before) >= lead else None
    if latest is None or latest < in_month[0]:
        return in_month[0]
    return min(latest, in_month[-1])


def test_golden_week_and_year_end_are_never_planned():
    may = dt.date(2026, 5, 1)
    days = [d for d in (may + dt.timedelta(days=i) for i in range(31)) if is_business_day(d, set())]
    dates = planning.schedule(np.array([1] * 60), np.zeros(60), pl.Series([None] * 60, dtype=pl.Date), days, may, 10)
    assert not {dt.date(2026, 5, d) for d in (3, 4, 5, 6)} & set(dates)
    assert min(dates) == dt.date(2026, 5, 1)
