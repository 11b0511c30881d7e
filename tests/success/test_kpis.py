"""Team KPIs computed by hand: touch and appointment-set rates, the touches band, days since the last touch,
client retention (new vs established), GRR/NRR and team totals as sums."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from banso.accounts.choices import ContractStatus, TouchTier
from banso.core.models import Team
from banso.success import kpis
from banso.success.models import SuccessSettings, TouchOutcome

from ..accounts.factories import AccountFactory, ContractFactory
from ..core.factories import UserFactory
from .factories import CoveragePlanFactory, CoverageTargetFactory, TouchFactory

pytestmark = pytest.mark.django_db
TOKYO = ZoneInfo("Asia/Tokyo")
APRIL = dt.date(2026, 4, 1)


def at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=TOKYO)


def row_of(report: kpis.Report, user) -> kpis.Row:
    return next(r for r in report.rows if r.user_id == user.pk)


def test_touch_by_another_csm_counts_and_a_touch_in_the_previous_month_does_not():
    csm, colleague = UserFactory(), UserFactory()
    plan = CoveragePlanFactory(month=APRIL)
    by_colleague, last_month, _untouched = (CoverageTargetFactory(plan=plan, assignee=csm) for _ in range(3))
    TouchFactory(account=by_colleague.account, csm=colleague, occurred_at=at("2026-04-10"))
    TouchFactory(account=last_month.account, csm=csm, occurred_at=at("2026-03-31", 23))

    result = kpis.report(APRIL)
    figures = row_of(result, csm).figures

    assert (figures.assigned, figures.touched, figures.not_touched) == (3, 1, 2)
    assert figures.touch_rate == pytest.approx(1 / 3)
    assert figures.touches == 0  # csm's March touch is not April's; the April one is the colleague's
    assert row_of(result, colleague).figures.touches == 1


def test_month_boundaries_follow_tokyo_time():
    csm = UserFactory()
    target = CoverageTargetFactory(plan=CoveragePlanFactory(month=APRIL), assignee=csm)
    # 2026-04-01 00:30 in Tokyo is still 2026-03-31 in UTC.
    TouchFactory(account=target.account, csm=csm, occurred_at=at("2026-04-01", 0).replace(minute=30))

    assert row_of(kpis.report(APRIL), csm).figures.touched == 1


def test_rates_with_nothing_to_divide_by_are_none():
    csm = UserFactory()
    figures = row_of(kpis.report(APRIL), csm).figures

    assert figures.assigned == 0
    assert figures.touch_rate is None and figures.appointment_rate is None
    assert figures.retention_new is None and figures.grr is None


def test_appointment_rate_is_appointments_over_touched_targets():
    csm = UserFactory()
    plan = CoveragePlanFactory(month=APRIL)
    targets = [CoverageTargetFactory(plan=plan, assignee=csm) for _ in range(4)]
    TouchFactory(account=targets[0].account, csm=csm, occurred_at=at("2026-04-02"), outcome=TouchOutcome.NO_REACTION)
    TouchFactory(account=targets[0].account, csm=csm, occurred_at=at("2026-04-09"), outcome=TouchOutcome.APPOINTMENT)
    TouchFactory(account=targets[1].account, csm=csm, occurred_at=at("2026-04-03"), outcome=TouchOutcome.DECLINED_BUSY)
    # An appointment on an account that is not on the plan counts as a touch, not as a target's appointment.
    TouchFactory(csm=csm, occurred_at=at("2026-04-04"), outcome=TouchOutcome.APPOINTMENT)

    figures = row_of(kpis.report(APRIL), csm).figures

    assert (figures.assigned, figures.touched, figures.appointments) == (4, 2, 1)
    assert figures.appointment_rate == pytest.approx(0.5)
    assert (figures.touches, figures.reached, figures.accounts_touched) == (4, 3, 3)


@pytest.mark.parametrize(("touches", "band"), [(29, "below"), (30, "within"), (40, "within"), (41, "above")])
def test_touches_are_held_against_the_30_to_40_band(touches, band):
    csm = UserFactory()
    account = AccountFactory()
    for i in range(touches):
        TouchFactory(account=account, csm=csm, occurred_at=at("2026-04-10") + dt.timedelta(minutes=i))

    assert row_of(kpis.report(APRIL), csm).band == band


def test_days_since_last_touch_buckets_and_the_tier_limit():
    csm, other = UserFactory(), UserFactory()
    settings = SuccessSettings.current()
    settings.untouched_days_high, settings.untouched_days_low = 30, 90
    settings.save()
    # As of 2026-04-30 (April is past).
    recent = AccountFactory(owner=csm, tier=TouchTier.HIGH)
    TouchFactory(account=recent, csm=other, occurred_at=at("2026-03-31"))  # 30 days
    stale_high = AccountFactory(owner=csm, tier=TouchTier.HIGH)
    TouchFactory(account=stale_high, csm=csm, occurred_at=at("2026-03-30"))  # 31 days: past the high limit
    low = AccountFactory(owner=csm, tier=TouchTier.LOW)
    TouchFactory(account=low, csm=csm, occurred_at=at("2026-01-30"))  # 90 days: within the low limit
    TouchFactory(account=low, csm=csm, occurred_at=at("2026-05-02"))  # after April: not counted
    AccountFactory(owner=csm, tier=TouchTier.TECH)  # never touched, tech touch: no limit
    never_low = AccountFactory(owner=csm, tier=TouchTier.LOW)  # never touched, low touch: overdue

    figures = row_of(kpis.report(APRIL), csm).figures

    assert figures.owned == 5
    assert figures.buckets == {"d0_30": 1, "d31_60": 1, "d61_90": 1, "d91": 0, "never": 2, "overdue": 2}
    assert {a.pk for a in kpis.drill(APRIL, "overdue", [csm.pk]).rows} == {stale_high.pk, never_low.pk}
    assert [a.pk for a in kpis.drill(APRIL, "d61_90", [csm.pk]).rows] == [low.pk]


def _client(owner, started: dt.date, mrr: int = 100_000, churned_on: dt.date | None = None):
    account = AccountFactory(owner=owner)
    ContractFactory(
        account=account,
        start_date=started,
        mrr=mrr,
        status=ContractStatus.CHURNED if churned_on else ContractStatus.ACTIVE,
        churned_on=churned_on,
    )
    return account


def test_retention_splits_new_and_established_clients_at_three_months():
    csm = UserFactory()
    # New: first contract at most three months before April's start (2026-01-01 is the boundary).
    _client(csm, dt.date(2026, 1, 1))
    lost_new = _client(csm, dt.date(2026, 3, 15), churned_on=dt.date(2026, 4, 20))
    # Established: started before the boundary.
    _client(csm, dt.date(2025, 12, 31))
    lost_established = _client(csm, dt.date(2024, 6, 1), churned_on=dt.date(2026, 4, 30))
    for _ in range(2):
        _client(csm, dt.date(2024, 6, 1))
    # Churned on May 2: still a client on May 1 (a churn on May 1 would be April's loss).
    _client(csm, dt.date(2024, 6, 1), churned_on=dt.date(2026, 5, 2))

    row = row_of(kpis.report(APRIL), csm)
    f = row.figures

    assert (f.new_base, f.new_kept) == (2, 1)
    assert (f.established_base, f.established_kept) == (5, 4)
    assert f.retention_new == pytest.approx(0.5) and f.retention_established == pytest.approx(0.8)
    assert row.misses == {"new": True, "established": True}
    assert [a.pk for a in kpis.drill(APRIL, "lost_new", [csm.pk]).rows] == [lost_new.pk]
    assert [a.pk for a in kpis.drill(APRIL, "lost_established", [csm.pk]).rows] == [lost_established.pk]


def test_grr_and_nrr_on_a_small_contract_set():
    csm = UserFactory()
    # Start of April: 100,000 + 50,000 + 50,000 = 200,000 yen.
    expanding = AccountFactory(owner=csm)
    ContractFactory(account=expanding, start_date=dt.date(2025, 1, 1), mrr=100_000)
    ContractFactory(account=expanding, start_date=dt.date(2026, 4, 15), mrr=30_000)  # +30,000
    shrinking = AccountFactory(owner=csm)
    ContractFactory(account=shrinking, start_date=dt.date(2025, 1, 1), mrr=20_000)
    ContractFactory(
        account=shrinking,
        start_date=dt.date(2025, 1, 1),
        mrr=30_000,
        status=ContractStatus.CHURNED,
        churned_on=dt.date(2026, 4, 10),
    )  # −30,000
    _client(csm, dt.date(2025, 1, 1), mrr=50_000, churned_on=dt.date(2026, 4, 28))  # −50,000
    _client(csm, dt.date(2026, 4, 2), mrr=80_000)  # new in April: not in the base

    f = row_of(kpis.report(APRIL), csm).figures

    assert f.start_mrr == 200_000
    assert f.grr == pytest.approx((200_000 - 30_000 - 50_000) / 200_000)
    assert f.nrr == pytest.approx((200_000 + 30_000 - 30_000 - 50_000) / 200_000)


def test_team_totals_add_numerators_and_denominators():
    a, b, outsider = UserFactory(), UserFactory(), UserFactory()
    team = Team.objects.create(name="東日本")
    team.members.add(a, b)
    plan = CoveragePlanFactory(month=APRIL)
    a_targets = [CoverageTargetFactory(plan=plan, assignee=a) for _ in range(1)]
    b_targets = [CoverageTargetFactory(plan=plan, assignee=b) for _ in range(9)]
    CoverageTargetFactory(plan=plan, assignee=outsider)
    TouchFactory(account=a_targets[0].account, csm=a, occurred_at=at("2026-04-10"))
    for t in b_targets[:3]:
        TouchFactory(account=t.account, csm=b, occurred_at=at("2026-04-10"))

    result = kpis.report(APRIL, team=team)

    assert {r.user_id for r in result.rows} == {a.pk, b.pk}
    assert (result.total.figures.assigned, result.total.figures.touched) == (10, 4)
    assert result.total.figures.touch_rate == pytest.approx(0.4)  # not the mean of 100 % and 33 %
    assert result.total.figures.touches_per_person == pytest.approx(2.0)
    assert result.total.name == "東日本"


def test_trend_covers_twelve_months_ending_with_the_month():
    csm = UserFactory()
    march = CoverageTargetFactory(plan=CoveragePlanFactory(month=dt.date(2026, 3, 1)), assignee=csm)
    TouchFactory(account=march.account, csm=csm, occurred_at=at("2026-03-05"))
    CoverageTargetFactory(plan=CoveragePlanFactory(month=APRIL), assignee=csm)

    trend = kpis.report(APRIL, person=csm.pk).trend

    assert trend[0].month == dt.date(2025, 5, 1) and trend[-1].month == APRIL
    assert len(trend) == 12
    assert trend[-2].figures.touch_rate == 1.0 and trend[-1].figures.touch_rate == 0.0
    assert trend[0].figures.touch_rate is None


def test_drill_down_lists_the_targets_and_touches_behind_a_number():
    csm = UserFactory()
    plan = CoveragePlanFactory(month=APRIL)
    touched, untouched = CoverageTargetFactory(plan=plan, assignee=csm), CoverageTargetFactory(plan=plan, assignee=csm)
    touch = TouchFactory(account=touched.account, csm=csm, occurred_at=at("2026-04-10"))

    assert [t.pk for t in kpis.drill(APRIL, "touched", [csm.pk]).rows] == [touched.pk]
    assert [t.pk for t in kpis.drill(APRIL, "not_touched", [csm.pk]).rows] == [untouched.pk]
    assert [t.pk for t in kpis.drill(APRIL, "touches", [csm.pk]).rows] == [touch.pk]
    with pytest.raises(ValueError):
        kpis.drill(APRIL, "nonsense", None)
