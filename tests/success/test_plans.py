"""Generating a month's coverage plan from the database: who is on it and why, regeneration keeping a
manager's work, adjustments checked, locking, and the scheduled and background runs."""

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from banso.accounts.choices import ContractStatus, TouchTier
from banso.churn.models import RiskModel, RiskPrediction
from banso.core.choices import Role
from banso.core.models import AuditEntry, ClosedDay, RunStatus
from banso.health.models import HealthSnapshot
from banso.success import plans
from banso.success.models import CoveragePlan, PlanRun, SuccessSettings, TargetReason

from ..accounts.factories import AccountFactory, ContractFactory
from ..core.factories import UserFactory
from ..health.factories import make_card
from .factories import TouchFactory

MAY = dt.date(2026, 5, 1)
AS_OF = dt.date(2026, 4, 24)
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

pytestmark = pytest.mark.django_db


def _recent_touch(account):
    TouchFactory(account=account, csm=account.owner, occurred_at=timezone.make_aware(dt.datetime(2026, 4, 20, 10)))


def _snapshot(account, day, band, card):
    HealthSnapshot.objects.create(account=account, day=day, score=50, band=band, scorecard=card, version=card.current)


def _prediction(account, day, probability, model):
    RiskPrediction.objects.create(account=account, model=model, day=day, probability=probability)


@pytest.fixture
def csm():
    return UserFactory(role=Role.CSM, capacity=40)


@pytest.fixture
def world(csm):
    """One account for each way onto the plan, and two that stay off."""
    card = make_card()
    model = RiskModel.objects.create(as_of=AS_OF, horizon_days=90, booster="")
    renewing = AccountFactory(owner=csm, tier=TouchTier.LOW, mrr=90_000)
    ContractFactory(account=renewing, renewal_date=dt.date(2026, 5, 20), mrr=90_000)
    worse = AccountFactory(owner=csm, mrr=30_000)
    _snapshot(worse, AS_OF - dt.timedelta(days=31), "green", card)
    _snapshot(worse, AS_OF, "red", card)
    riskier = AccountFactory(owner=csm, mrr=10_000)
    _prediction(riskier, AS_OF - dt.timedelta(days=30), 0.1, model)
    _prediction(riskier, AS_OF, 0.6, model)
    forgotten = AccountFactory(owner=None, tier=TouchTier.HIGH, mrr=50_000)
    TouchFactory(account=forgotten, csm=csm, occurred_at=timezone.make_aware(dt.datetime(2026, 3, 1, 10)))
    quiet = AccountFactory(owner=csm, tier=TouchTier.TECH)  # tech touch: never planned for being untouched
    churned = AccountFactory(owner=csm)
    ContractFactory(
        account=churned,
        renewal_date=dt.date(2026, 5, 20),
        status=ContractStatus.CHURNED,
        churned_on=dt.date(2026, 4, 1),
    )
    for account in (renewing, worse, riskier, churned):
        _recent_touch(account)
    return {"renewing": renewing, "worse": worse, "riskier": riskier, "forgotten": forgotten, "quiet": quiet}


def _targets(plan):
    return {t.account_id: t for t in plan.targets.all()}


def test_the_plan_takes_renewals_changed_health_or_risk_and_untouched_accounts_once_each(world, csm):
    plan = plans.generate(MAY, as_of=AS_OF)

    targets = _targets(plan)
    assert set(targets) == {world[k].pk for k in ("renewing", "worse", "riskier", "forgotten")}
    assert targets[world["renewing"].pk].reason == TargetReason.RENEWAL
    assert targets[world["renewing"].pk].renewal_date == dt.date(2026, 5, 20)
    assert targets[world["worse"].pk].reason == TargetReason.HEALTH
    assert targets[world["worse"].pk].health_band == "red"
    assert targets[world["riskier"].pk].reason == TargetReason.RISK
    assert targets[world["riskier"].pk].risk == pytest.approx(0.6)
    assert targets[world["forgotten"].pk].reasons == [TargetReason.UNTOUCHED]
    assert all(t.assignee_id == csm.pk for t in targets.values())
    assert plan.rules["lead_business_days"] == 10


def test_contacts_are_on_business_days_and_renewals_lead_their_date(world):
    ClosedDay.objects.create(date=dt.date(2026, 5, 1), name="創立記念日")
    plan = plans.generate(MAY, as_of=AS_OF)

    targets = _targets(plan)
    for target in targets.values():
        assert target.planned_on.month == 5 and target.planned_on.weekday() < 5
        assert target.planned_on not in {dt.date(2026, 5, d) for d in (1, 4, 5, 6)}
    # 20 May less 10 business days (Golden Week and the closed 1 May excluded): 7 May at the latest.
    assert targets[world["renewing"].pk].planned_on <= dt.date(2026, 5, 7)


def test_the_priority_is_explained_by_its_parts(world):
    plan = plans.generate(MAY, as_of=AS_OF)
    target = _targets(plan)[world["renewing"].pk]

    why = plans.explain(target, plan)
    assert why.priority == pytest.approx(target.priority, abs=0.11)
    assert why.days_to_renewal == 19
    assert why.mrr_percentile == 100
    assert set(why.parts) == {"mrr", "risk", "renewal"}


def test_regenerating_keeps_manual_and_moved_targets_and_replaces_the_rest(world, csm):
    plan = plans.generate(MAY, as_of=AS_OF)
    other = UserFactory(role=Role.CSM)
    extra = AccountFactory(owner=csm)
    manual = plans.add_target(plan, extra, actor=other)
    moved = plan.targets.get(account=world["worse"])
    plans.move_target(moved, assignee=other.pk, planned_on=dt.date(2026, 5, 29), actor=other)
    dropped = world["forgotten"]
    _recent_touch(dropped)

    plans.generate(MAY, as_of=AS_OF)

    targets = _targets(plan)
    assert targets[extra.pk].pk == manual.pk and targets[extra.pk].reason == TargetReason.MANUAL
    assert (targets[moved.account_id].assignee_id, targets[moved.account_id].planned_on) == (
        other.pk,
        dt.date(2026, 5, 29),
    )
    assert dropped.pk not in targets
    assert AuditEntry.objects.filter(object_type="success.coveragetarget", account_id=moved.account_id).exists()


def test_a_locked_plan_refuses_every_change_until_unlocked(world, csm):
    plan = plans.generate(MAY, as_of=AS_OF)
    target = plan.targets.first()
    plans.lock(plan, actor=None)

    with pytest.raises(plans.PlanError, match="確定済み"):
        plans.generate(MAY, as_of=AS_OF)
    with pytest.raises(plans.PlanError, match="確定済み"):
        plans.move_target(target, planned_on=dt.date(2026, 5, 12))
    with pytest.raises(plans.PlanError, match="確定済み"):
        plans.add_target(plan, AccountFactory(), actor=None)
    with pytest.raises(plans.PlanError, match="確定済み"):
        plans.remove_targets(plan, [target.pk])
    with pytest.raises(plans.PlanError, match="確定済み"):
        plans.start_generation(MAY, actor=None)

    plans.unlock(plan, actor=None)
    assert plans.remove_targets(plan, [target.pk]) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"planned_on": dt.date(2026, 6, 1)}, "planned_on: 2026-06-01 は計画の対象月 2026-05 の範囲外"),
        ({"planned_on": dt.date(2026, 5, 4)}, "planned_on: 2026-05-04 は営業日ではありません"),
        ({"assignee": "manager"}, "assignee: 割り当てられるのは有効なCSMのみ"),
    ],
)
def test_a_move_is_checked_and_leaves_the_target_unchanged_when_refused(world, change, message):
    plan = plans.generate(MAY, as_of=AS_OF)
    target = plan.targets.first()
    if change.get("assignee") == "manager":
        change = {"assignee": UserFactory(role=Role.OPS_MANAGER).pk}
    with pytest.raises(plans.PlanError, match=message):
        plans.move_target(target, **change)
    target.refresh_from_db()
    assert not target.adjusted


def test_bulk_reassign_moves_all_or_none(world, csm):
    plan = plans.generate(MAY, as_of=AS_OF)
    other = UserFactory(role=Role.CSM)
    ids = list(plan.targets.values_list("pk", flat=True))

    with pytest.raises(plans.PlanError, match="この計画の対象ではありません"):
        plans.bulk_update(plan, [*ids, 999_999], assignee=other.pk)
    assert not plan.targets.filter(assignee=other).exists()

    plans.bulk_update(plan, ids, assignee=other.pk)
    assert plan.targets.filter(assignee=other, adjusted=True).count() == len(ids)


def test_a_plan_without_an_active_csm_fails_with_a_reason(world, csm):
    csm.is_active = False
    csm.save()
    with pytest.raises(plans.PlanError, match="有効なCSMがいません"):
        plans.generate(MAY, as_of=AS_OF)
    assert not CoveragePlan.objects.exists()


def test_the_scheduler_queues_next_months_plan_once_on_the_plan_day_or_the_business_day_before(
    world, django_capture_on_commit_callbacks
):
    settings = SuccessSettings.current()
    settings.plan_day = 25  # 25 April 2026 is a Saturday: Friday the 24th instead
    settings.save()

    def at(day):
        return timezone.make_aware(dt.datetime.combine(day, dt.time(9)))

    with override_settings(TASKS=IMMEDIATE), django_capture_on_commit_callbacks(execute=True):
        assert plans.due(at(dt.date(2026, 4, 23))) is None
        assert plans.due(at(dt.date(2026, 4, 24))) is not None
        assert plans.due(at(dt.date(2026, 4, 24))) is None
        assert plans.due(at(dt.date(2026, 4, 27))) is None

    run = PlanRun.objects.get()
    assert (run.month, run.scheduled, run.status) == (MAY, True, RunStatus.SUCCEEDED)
    assert run.plan is not None and run.plan.targets.count() == run.targets == 4


def test_a_queued_generation_records_its_failure_on_the_run(world, csm, django_capture_on_commit_callbacks):
    csm.is_active = False
    csm.save()
    with override_settings(TASKS=IMMEDIATE), django_capture_on_commit_callbacks(execute=True):
        plans.start_generation(MAY, actor=None)
    run = PlanRun.objects.get()
    assert run.status == RunStatus.FAILED and "有効なCSMがいません" in run.error
