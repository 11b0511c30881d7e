"""A playbook's effect on a hand-built case, and the intervals against Newcombe's (1998) published examples."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from banso.accounts.choices import ContractStatus
from banso.playbooks.effect import Group, newcombe, playbook_effect, wilson
from banso.success.models import RenewalStage

from ..accounts.factories import AccountFactory, ContractFactory
from ..success.factories import RenewalFactory
from .factories import PlaybookFactory, RunFactory

TOKYO = ZoneInfo("Asia/Tokyo")


def renewal(account, day, stage):
    return RenewalFactory(contract=ContractFactory(account=account, renewal_date=day), stage=stage)


def test_intervals_match_newcombes_worked_examples():
    low, high = wilson(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    low, high = newcombe(Group(70, 56), Group(80, 48))
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)
    assert newcombe(Group(0, 0), Group(5, 1)) is None


@pytest.mark.django_db
def test_effect_compares_renewals_after_the_run_with_comparable_accounts():
    playbook = PlaybookFactory()
    a1, a2, a3, a4 = (AccountFactory(tier="low") for _ in range(4))
    for account in (a1, a2, a3):
        RunFactory(playbook=playbook, account=account, started_at=dt.datetime(2026, 1, 10, 10, tzinfo=TOKYO))
    RunFactory(playbook=playbook, account=a4, started_at=dt.datetime(2026, 2, 10, 10, tzinfo=TOKYO))
    renewal(a1, dt.date(2026, 3, 1), RenewalStage.RENEWED)
    renewal(a2, dt.date(2026, 3, 1), RenewalStage.CHURNED)
    renewal(a2, dt.date(2026, 4, 1), RenewalStage.RENEWED)  # the first decided renewal counts
    ContractFactory(account=a3, renewal_date=dt.date(2026, 2, 1), status=ContractStatus.RENEWED)  # no record
    renewal(a4, dt.date(2026, 2, 1), RenewalStage.RENEWED)  # before its run: not an outcome of it

    c1, c2, c3, c4, c5, c6 = (AccountFactory(tier="low") for _ in range(6))
    renewal(c1, dt.date(2026, 2, 15), RenewalStage.UPGRADED)
    renewal(c2, dt.date(2026, 3, 15), RenewalStage.CHURNED)
    renewal(c3, dt.date(2026, 4, 15), RenewalStage.CHURNED)
    renewal(AccountFactory(tier="high"), dt.date(2026, 3, 1), RenewalStage.RENEWED)  # not comparable
    renewal(c4, dt.date(2025, 12, 1), RenewalStage.RENEWED)  # before the window
    renewal(c5, dt.date(2026, 3, 1), RenewalStage.PROPOSAL)  # not decided yet
    renewal(c6, dt.date(2026, 7, 1), RenewalStage.RENEWED)  # after today

    found = playbook_effect(playbook, today=dt.date(2026, 6, 1))

    assert (found.start, found.end) == (dt.date(2026, 1, 10), dt.date(2026, 6, 1))
    assert (found.treated.decided, found.treated.renewed) == (3, 2)
    assert (found.control.decided, found.control.renewed) == (3, 1)
    assert found.difference == pytest.approx(1 / 3)
    assert found.interval == newcombe(Group(3, 2), Group(3, 1))
    assert found.too_small


@pytest.mark.django_db
def test_a_playbook_without_runs_has_no_effect_to_show():
    found = playbook_effect(PlaybookFactory())
    assert found.start is None and found.difference is None and found.too_small
