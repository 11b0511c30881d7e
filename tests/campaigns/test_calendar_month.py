"""The campaign calendar lists every switch of a Tokyo month; the month-turn view groups what changes at
00:00 on the 1st."""

import pytest

from banso.campaigns import rates
from banso.campaigns.models import SwitchKind

from .factories import OfferFactory, SpecialRateFactory, tokyo
from .factories_offers import month_rate

pytestmark = pytest.mark.django_db


def test_the_calendar_holds_every_switch_of_the_tokyo_month_in_order():
    a, b = OfferFactory(name="A案件"), OfferFactory(name="B案件")
    month_rate(a, 2026, 11, "8.00")
    month_rate(a, 2026, 12, "12.00")
    mid = SpecialRateFactory(offer=b, starts_at=tokyo(2026, 12, 10, 12), ends_at=tokyo(2026, 12, 20))
    switches = rates.calendar(2026, 12)
    assert [(s.at, s.kind, s.rate.offer.name) for s in switches] == [
        (tokyo(2026, 12, 1), SwitchKind.END, "A案件"),
        (tokyo(2026, 12, 1), SwitchKind.START, "A案件"),
        (tokyo(2026, 12, 10, 12), SwitchKind.START, "B案件"),
        (tokyo(2026, 12, 20), SwitchKind.END, "B案件"),
    ]
    # January 1st 00:00 Tokyo (Dec 31 15:00 UTC) belongs to January, not December.
    assert [s.kind for s in rates.calendar(2027, 1)] == [SwitchKind.END]
    weeks = rates.calendar_weeks(2026, 12, switches)
    day10 = next(d for w in weeks for d in w if d["day"].day == 10 and d["in_month"])
    assert [s.rate for s in day10["switches"]] == [mid]


def test_the_month_turn_shows_what_changes_at_midnight_on_the_first():
    handover, ending, starting, other = (OfferFactory(name=n) for n in ("引継", "終了", "開始", "無関係"))
    month_rate(handover, 2026, 12, "8.00")
    month_rate(handover, 2027, 1, "12.00")
    month_rate(ending, 2026, 12, "9.00")
    month_rate(starting, 2027, 1, "11.00")
    SpecialRateFactory(offer=other, starts_at=tokyo(2027, 1, 10), ends_at=tokyo(2027, 1, 20))
    turn = rates.month_turn(2027, 1)
    assert turn.boundary == tokyo(2027, 1, 1) and turn.last_day.isoformat() == "2026-12-31"
    rows = {r.offer.name: (r.change, r.before, r.after, r.off_boundary) for r in turn.rows}
    assert rows == {
        "引継": ("special_to_special", "8.00%", "12.00%", False),
        "終了": ("special_to_base", "9.00%", "5.00%", False),
        "開始": ("base_to_special", "5.00%", "11.00%", False),
    }


def test_a_period_ending_at_2359_is_flagged_as_off_the_boundary():
    offer = OfferFactory()
    SpecialRateFactory(offer=offer, starts_at=tokyo(2026, 12, 1), ends_at=tokyo(2026, 12, 31, 23, 59))
    [row] = rates.month_turn(2027, 1).rows
    assert row.off_boundary and row.change == "special_to_base"
