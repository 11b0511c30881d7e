"""Reconciliation figures checked against a small month worked out by hand: clicks, results by status, approval
rate, CVR, rewards, cashback owed (approved and unpaid) and per user, unmatched results, expired clicks; results
counted by their Tokyo month."""

import datetime as dt
from decimal import Decimal

import pytest

from banso.campaigns import reconcile
from banso.campaigns.models import ConversionStatus

from .factories import ConversionFactory, OfferFactory, UserFactory, tokyo
from .factories_conversions import click, store_events, visit

pytestmark = pytest.mark.django_db
NOV = dt.date(2026, 11, 1)


@pytest.fixture
def month():
    offer = OfferFactory(cashback_share=Decimal("50.00"))
    other = OfferFactory()
    u1, u2, u3 = UserFactory(), UserFactory(), UserFactory()
    events = [click(offer, u1, tokyo(2026, 10, 30, 12), "c0")]  # October: not a November click
    events += [
        click(offer, u1, tokyo(2026, 11, 2, 10), "c1"),
        click(offer, u1, tokyo(2026, 11, 3, 10), "c2"),
        click(offer, u2, tokyo(2026, 11, 4, 10), "c3"),
        click(offer, u3, tokyo(2026, 11, 5, 10), "c4"),
        click(offer, u3, tokyo(2026, 11, 6, 10), "c5"),
        click(offer, u2, tokyo(2026, 11, 7, 10), "c6"),
        click(offer, u2, tokyo(2026, 11, 8, 10), "c7"),
        click(offer, u1, tokyo(2026, 11, 30, 23, 59), "c8"),
        click(other, u1, tokyo(2026, 11, 9, 10), "o1"),
        visit(offer, u1, tokyo(2026, 11, 2, 9)),
        visit(offer, u1, tokyo(2026, 11, 3, 9)),
        visit(offer, u2, tokyo(2026, 11, 4, 9)),
        visit(offer, u2, tokyo(2026, 12, 1, 0)),  # December
    ]
    store_events(events)

    def result(**kw):
        return ConversionFactory(offer=offer, **kw)

    approved = ConversionStatus.APPROVED
    result(
        click_id="c1",
        end_user=u1,
        status=approved,
        reward=1000,
        cashback=500,
        order_amount=20000,
        occurred_at=tokyo(2026, 11, 2, 11),
        decided_at=tokyo(2026, 11, 20),
    )
    result(
        click_id="c3",
        end_user=u2,
        status=approved,
        reward=600,
        cashback=300,
        order_amount=12000,
        occurred_at=tokyo(2026, 11, 4, 11),
        decided_at=tokyo(2026, 11, 20),
        cashback_paid_at=tokyo(2026, 11, 25),
    )
    result(
        click_id="c4",
        end_user=u3,
        status=ConversionStatus.REJECTED,
        reward=800,
        cashback=0,
        order_amount=16000,
        occurred_at=tokyo(2026, 11, 5, 11),
        decided_at=tokyo(2026, 11, 20),
    )
    result(
        click_id="c0",
        end_user=u1,
        status=ConversionStatus.PENDING,
        reward=400,
        cashback=200,
        order_amount=8000,
        occurred_at=tokyo(2026, 11, 1, 0),
    )  # the first instant of November, Tokyo
    result(
        click_id="zz-not-ours",
        end_user=None,
        status=approved,
        reward=200,
        cashback=100,
        order_amount=4000,
        occurred_at=tokyo(2026, 11, 10, 11),
        decided_at=tokyo(2026, 11, 20),
    )
    # Either side of the month (Tokyo): not November's.
    result(
        click_id="c2",
        end_user=u1,
        status=ConversionStatus.PENDING,
        reward=999,
        cashback=499,
        occurred_at=tokyo(2026, 10, 31, 23, 59),
    )
    result(
        click_id="c5",
        end_user=u3,
        status=ConversionStatus.PENDING,
        reward=999,
        cashback=499,
        occurred_at=tokyo(2026, 12, 1, 0),
    )
    return offer, other, (u1, u2, u3)


def test_month_figures_match_the_hand_count(month):
    offer, other, _users = month
    rows = {r.offer.pk: r for r in reconcile.reconcile_month(NOV, now=tokyo(2026, 12, 31))}
    f = rows[offer.pk]
    assert f.clicks == 8
    assert (f.pending, f.approved, f.rejected) == (1, 3, 1)
    assert f.approval_rate == pytest.approx(3 / 4)
    assert f.cvr == pytest.approx(5 / 8)
    assert (f.reward_approved, f.reward_pending, f.reward_rejected) == (1800, 400, 800)
    assert f.order_amount == 20000 + 12000 + 8000 + 4000  # rejected results' orders left out
    assert f.cashback_owed == 500 + 100  # the paid 300 is not owed
    assert f.visits == 3 and f.visitors == 2
    assert f.unmatched == 1
    assert [c.click_id for c in f.unmatched_results] == ["zz-not-ours"]
    # c2's and c5's results fall outside November but carry their ids; c6, c7 and c8 never led to a result.
    assert f.expired_clicks == 3

    o = rows[other.pk]
    assert o.clicks == 1 and o.conversions == 0
    assert o.approval_rate is None and o.cvr == 0


def test_clicks_inside_the_window_are_not_expired(month):
    offer, _other, _users = month
    f = reconcile.reconcile_offer(offer, NOV, now=tokyo(2026, 12, 7, 12))  # window reaches back to Nov 7 12:00
    assert f.expired_clicks == 1  # of the clicks before Nov 7 12:00 only c6 has no result carrying its id


def test_cashback_owed_per_user_for_the_payout_team(month):
    _offer, _other, (u1, _u2, _u3) = month
    owed = reconcile.cashback_owed()
    assert [(u.external_id, u.results, u.owed) for u in owed] == [(u1.external_id, 1, 500), ("", 1, 100)]
    assert reconcile.cashback_owed(month=dt.date(2026, 12, 1)) == []
