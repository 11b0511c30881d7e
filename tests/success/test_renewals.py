"""The renewal pipeline: syncing renewals from contracts, stage changes, the month's rows and the forecast."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from banso.accounts.choices import ContractStatus
from banso.churn.models import RiskModel, RiskPrediction
from banso.core.models import AuditEntry
from banso.success import renewals
from banso.success.models import Renewal, RenewalStage

from ..accounts.factories import AccountFactory, ContractFactory
from .factories import RenewalFactory

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 4, 10)


def test_sync_creates_one_renewal_per_contract_in_the_window_and_is_idempotent():
    inside = ContractFactory(renewal_date=dt.date(2026, 5, 1), mrr=30_000)
    ContractFactory(renewal_date=dt.date(2027, 4, 1))  # beyond six months
    ContractFactory(renewal_date=dt.date(2025, 12, 1))  # more than three months back
    assert renewals.sync(TODAY).created == 1
    assert renewals.sync(TODAY).created == 0
    renewal = Renewal.objects.get()
    assert (renewal.contract, renewal.mrr, renewal.stage) == (inside, 30_000, RenewalStage.NOT_CONTACTED)


@pytest.mark.parametrize(("next_mrr", "stage"), [(50_000, "renewed"), (70_000, "upgraded"), (40_000, "downgraded")])
def test_a_renewed_contract_closes_its_renewal_by_the_next_contracts_mrr(next_mrr, stage):
    old = ContractFactory(renewal_date=dt.date(2026, 4, 1), mrr=50_000)
    renewals.sync(TODAY)
    old.status = ContractStatus.RENEWED
    old.save()
    ContractFactory(account=old.account, start_date=dt.date(2026, 4, 1), renewal_date=dt.date(2027, 4, 1), mrr=next_mrr)
    renewals.sync(TODAY)
    renewal = Renewal.objects.get(contract=old)
    assert (renewal.stage, renewal.renewed_mrr, renewal.closed_on) == (stage, next_mrr, dt.date(2026, 4, 1))
    assert AuditEntry.objects.filter(object_type="success.renewal", via="sync").exists()


def test_a_churned_contract_closes_its_renewal_as_churned():
    contract = ContractFactory(renewal_date=dt.date(2026, 4, 1))
    renewals.sync(TODAY)
    contract.status, contract.churned_on = ContractStatus.CHURNED, dt.date(2026, 4, 1)
    contract.save()
    renewals.sync(TODAY)
    assert Renewal.objects.get().stage == RenewalStage.CHURNED


def test_open_renewals_follow_their_contracts_mrr():
    contract = ContractFactory(renewal_date=dt.date(2026, 6, 1), mrr=50_000)
    renewals.sync(TODAY)
    contract.mrr = 60_000
    contract.save()
    assert renewals.sync(TODAY).repriced == 1
    assert Renewal.objects.get().mrr == 60_000


def test_set_stage_is_audited_and_checks_the_renewed_mrr():
    renewal = RenewalFactory(mrr=50_000)
    with pytest.raises(ValidationError) as refused:
        renewals.set_stage(renewal, RenewalStage.UPGRADED, None, renewed_mrr=40_000)
    assert "renewed_mrr" in refused.value.message_dict
    won = renewals.set_stage(renewal, RenewalStage.UPGRADED, None, renewed_mrr=60_000, note="上位プランへ")
    assert (won.renewed_mrr, won.closed_on, won.note) == (60_000, timezone.localdate(), "上位プランへ")
    reopened = renewals.set_stage(renewal, RenewalStage.PROPOSAL, None)
    assert (reopened.renewed_mrr, reopened.closed_on) == (None, None)
    assert AuditEntry.objects.filter(object_type="success.renewal").count() == 2
    assert renewals.set_stage(renewal, RenewalStage.RENEWED, None).renewed_mrr == 50_000


def test_the_pipeline_counts_each_stage_with_its_mrr_and_shows_risk_and_health():
    april = [
        RenewalFactory(contract=ContractFactory(renewal_date=dt.date(2026, 4, d), mrr=10_000 * d)) for d in (1, 2, 3)
    ]
    renewals.set_stage(april[2], RenewalStage.CHURNED, None)
    RenewalFactory(contract=ContractFactory(renewal_date=dt.date(2026, 5, 1)))
    _predict(april[0].account, 0.3)
    found = renewals.pipeline(dt.date(2026, 4, 1))
    by_stage = {s.stage: (s.count, s.mrr) for s in found.stages}
    assert by_stage["not_contacted"] == (2, 30_000) and by_stage["churned"] == (1, 30_000)
    assert (found.count, found.mrr) == (3, 60_000)
    rows = list(found.rows)
    assert [r.pk for r in rows] == [r.pk for r in april] and rows[0].risk == pytest.approx(0.3)


def _predict(account, probability, day=TODAY):
    model, _ = RiskModel.objects.get_or_create(as_of=day, defaults={"horizon_days": 90})
    RiskPrediction.objects.create(account=account, model=model, day=day, probability=probability)


def test_the_forecast_uses_churn_risk_then_stage_history_then_the_default():
    month = dt.date(2026, 4, 1)
    won = RenewalFactory(contract=ContractFactory(renewal_date=dt.date(2026, 4, 1), mrr=100_000))
    renewals.set_stage(won, RenewalStage.UPGRADED, None, renewed_mrr=120_000)
    lost = RenewalFactory(contract=ContractFactory(renewal_date=dt.date(2026, 4, 2), mrr=50_000))
    renewals.set_stage(lost, RenewalStage.CHURNED, None)
    risky = RenewalFactory(contract=ContractFactory(renewal_date=dt.date(2026, 4, 3), mrr=200_000))
    _predict(risky.account, 0.25)
    plain = RenewalFactory(contract=ContractFactory(renewal_date=dt.date(2026, 4, 4), mrr=10_000))
    found = renewals.forecast(month, today=TODAY)
    # won 120,000 + 200,000 × 0.75 + 10,000 × 0.80 (not contacted, no history: the default)
    assert found.expected == 120_000 + 150_000 + 8_000
    assert (found.best_case, found.worst_case) == (120_000 + 210_000, 120_000)
    assert (found.won, found.lost, found.at_stake) == (120_000, 50_000, 360_000)
    assert found.by_source == {"risk": 1, "history": 0, "default": 1}
    assert plain.stage == RenewalStage.NOT_CONTACTED


def test_a_stage_with_enough_history_forecasts_at_its_win_rate():
    past = [RenewalFactory(contract=ContractFactory(renewal_date=dt.date(2026, 1, d + 1))) for d in range(6)]
    for i, renewal in enumerate(past):
        renewals.set_stage(renewal, RenewalStage.CONTACTED, None)
        renewals.set_stage(renewal, RenewalStage.RENEWED if i < 4 else RenewalStage.CHURNED, None)
    assert renewals.stage_win_rates(timezone.localdate())["contacted"] == pytest.approx(4 / 6)
    RenewalFactory(contract=ContractFactory(renewal_date=dt.date(2026, 7, 1), mrr=60_000), stage=RenewalStage.CONTACTED)
    assert renewals.forecast(dt.date(2026, 7, 1), today=timezone.localdate()).expected == 40_000


def test_the_quarter_forecast_covers_the_three_months():
    for month in (4, 5, 6, 7):
        RenewalFactory(contract=ContractFactory(renewal_date=dt.date(2026, month, 1), mrr=10_000))
    _month, quarter = renewals.forecasts(dt.date(2026, 5, 1), TODAY)
    assert (quarter.start, quarter.end, quarter.best_case) == (dt.date(2026, 4, 1), dt.date(2026, 7, 1), 30_000)


def test_the_daily_job_syncs_once_a_day_after_five():
    ContractFactory(renewal_date=dt.date(2026, 5, 1), account=AccountFactory())
    early = timezone.make_aware(dt.datetime(2026, 4, 10, 4, 0))
    assert renewals.scheduled_job(early) is None
    assert "1 new" in renewals.scheduled_job(early + dt.timedelta(hours=2))
    assert renewals.scheduled_job(early + dt.timedelta(hours=3)) is None
