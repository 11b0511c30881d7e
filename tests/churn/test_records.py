"""Recording churn: validation with field-named errors, the lost-MRR default, the contract kept in step,
the audit trail, and mapping free-text contract reasons onto the taxonomy."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from banso.accounts.choices import ContractStatus
from banso.churn import services
from banso.churn.models import ChurnRecord
from banso.core.models import AuditEntry

from .factories import AccountFactory, ChurnRecordFactory, contract, reason

D = datetime.date


def test_recording_churns_a_live_contract_and_defaults_lost_mrr_to_its_mrr(db, user_with_role):
    from banso.core.choices import Role

    csm = user_with_role(Role.CSM)
    account = AccountFactory()
    running = contract(account, 90_000, D(2024, 4, 1))
    record = services.record_churn(
        csm, account=account, contract=running, churned_on=D(2025, 4, 1), reason=reason("budget"), note="予算削減"
    )
    assert record.lost_mrr == 90_000 and record.recorded_by == csm
    running.refresh_from_db()
    assert (running.status, running.churned_on, running.end_date) == (
        ContractStatus.CHURNED,
        D(2025, 4, 1),
        D(2025, 4, 1),
    )
    assert running.churn_reason == "予算削減"
    account.refresh_from_db()
    assert account.mrr == 0
    entry = AuditEntry.objects.get(object_type="churn.churnrecord")
    assert entry.account_id == account.pk and entry.actor == csm
    assert entry.changes["lost_mrr"] == [None, 90_000]


def test_without_a_contract_lost_mrr_is_the_accounts_mrr_the_day_before(db):
    account = AccountFactory()
    contract(account, 30_000, D(2024, 1, 1), D(2025, 1, 1))
    contract(account, 40_000, D(2025, 1, 1), D(2025, 6, 1), churned=True)
    contract(account, 5_000, D(2024, 1, 1), D(2025, 3, 1))  # ended before
    record = services.record_churn(None, account=account.pk, churned_on=D(2025, 6, 1), reason=reason("price").pk)
    assert record.lost_mrr == 40_000
    assert services.mrr_before(account.pk, D(2025, 2, 1)) == 45_000


def test_contract_date_is_the_default_churn_date(db):
    churned = contract(AccountFactory(), 70_000, D(2024, 1, 1), D(2025, 1, 1), churned=True)
    record = services.record_churn(None, contract=churned, reason=reason("competitor"))
    assert (record.account_id, record.churned_on, record.lost_mrr) == (churned.account_id, D(2025, 1, 1), 70_000)


def test_every_bad_field_is_named_and_nothing_is_written(db):
    account, other = AccountFactory(), AccountFactory()
    foreign = contract(other, 10_000, D(2024, 1, 1))
    with pytest.raises(ValidationError) as caught:
        services.record_churn(
            None,
            account=account,
            contract=foreign,
            churned_on=D(2025, 1, 1),
            reason=reason("budget"),
            sub_reason=reason("usage-low"),
            lost_mrr=-5,
        )
    errors = caught.value.message_dict
    assert set(errors) == {"contract", "sub_reason", "lost_mrr"}
    assert errors["sub_reason"] == ["この詳細理由は選択した解約理由の下位理由ではありません。"]
    assert not ChurnRecord.objects.exists()
    foreign.refresh_from_db()
    assert foreign.status == ContractStatus.ACTIVE
    assert not AuditEntry.objects.filter(object_type="churn.churnrecord").exists()


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"reason": "usage-low"}, "reason"),  # a sub-reason is not a reason
        ({"reason": None}, "reason"),
        ({"churned_on": None}, "churned_on"),
        ({"lost_mrr": 1.5}, "lost_mrr"),
        ({"reason": 999_999}, "reason"),
    ],
)
def test_single_bad_values_name_their_field(db, values, field):
    account = AccountFactory()
    base = {"account": account, "churned_on": D(2025, 1, 1), "reason": reason("budget")}
    for key, value in values.items():
        base[key] = reason(value) if isinstance(value, str) else value
    with pytest.raises(ValidationError) as caught:
        services.record_churn(None, **base)
    assert field in caught.value.message_dict


def test_one_record_per_contract_and_none_before_it_started(db):
    churned = contract(AccountFactory(), 10_000, D(2024, 1, 1), D(2025, 1, 1), churned=True)
    services.record_churn(None, contract=churned, reason=reason("budget"))
    with pytest.raises(ValidationError) as caught:
        services.record_churn(None, contract=churned, reason=reason("price"))
    assert "contract" in caught.value.message_dict
    early = contract(AccountFactory(), 10_000, D(2024, 1, 1))
    with pytest.raises(ValidationError) as caught:
        services.record_churn(None, contract=early, churned_on=D(2023, 12, 1), reason=reason("price"))
    assert "churned_on" in caught.value.message_dict


def test_an_inactive_reason_is_refused_for_new_records_but_old_ones_keep_it(db):
    record = ChurnRecordFactory(reason=reason("budget"))
    services.update_reason(reason("budget"), None, is_active=False)
    with pytest.raises(ValidationError) as caught:
        services.record_churn(None, account=AccountFactory(), churned_on=D(2025, 1, 1), reason=reason("budget"))
    assert "reason" in caught.value.message_dict
    services.update_record(record, None, note="追記")  # unchanged reason stays acceptable
    record.refresh_from_db()
    assert record.note == "追記"


def test_updates_are_audited_field_by_field_and_no_change_writes_nothing(db):
    record = ChurnRecordFactory(lost_mrr=10_000)
    services.update_record(record, None, lost_mrr=10_000)
    assert not AuditEntry.objects.filter(object_type="churn.churnrecord").exists()
    services.update_record(record, None, lost_mrr=12_000, reason=reason("price"), sub_reason=reason("price-increase"))
    entry = AuditEntry.objects.get(object_type="churn.churnrecord")
    assert entry.changes["lost_mrr"] == [10_000, 12_000]
    assert set(entry.changes) == {"lost_mrr", "reason", "sub_reason"}
    with pytest.raises(ValidationError) as caught:
        services.update_record(record, None, account=AccountFactory().pk)
    assert "account" in caught.value.message_dict


def test_deleting_a_record_keeps_the_contract_churned(db):
    churned = contract(AccountFactory(), 10_000, D(2024, 1, 1), D(2025, 1, 1), churned=True)
    record = services.record_churn(None, contract=churned, reason=reason("budget"))
    services.delete_record(record, None)
    churned.refresh_from_db()
    assert churned.status == ContractStatus.CHURNED
    assert list(services.contracts_without_record()) == [churned]
    assert AuditEntry.objects.filter(object_type="churn.churnrecord", action="delete").count() == 1


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("利用頻度の低下（社内で活用が定着しなかった）", ("usage", "usage-low")),
        ("推進担当者の退職・異動により社内の推進者が不在になった", ("champion", "champion-no-successor")),
        ("問い合わせへの対応・サポート品質への不満", ("support", "support-response")),
        ("予算削減のため", ("budget", None)),
        ("競合サービスへの乗り換え", ("competitor", None)),
        ("事業方針の変更・組織再編", ("policy", "policy-reorg")),
        ("必要な機能が不足していた", ("feature", None)),
        ("価格に見合う価値を感じられなかった", ("price", "price-value")),
        ("来期から値上げのため", ("price", "price-increase")),
        ("よくわからない", ("other", None)),
    ],
)
def test_contract_churn_texts_map_onto_the_taxonomy(db, text, codes):
    found, sub = services.reason_for_text(text)
    assert (found.code, sub.code if sub else None) == codes


def test_every_demo_churn_reason_maps_to_a_reason_other_than_other(db):
    from banso.accounts.demo import CHURN_REASONS

    for text in CHURN_REASONS.values():
        assert services.reason_for_text(text)[0].code != "other", text


def test_the_demo_records_every_churned_contract_once(db):
    from datetime import date

    from banso.accounts.models import Contract
    from banso.core.demo import DEMO_SOURCE, DemoContext, Progress
    from banso.core.management.commands.demo import run_demo

    def demo():
        ctx = DemoContext(accounts=80, csms=2, today=date(2026, 11, 20), progress=Progress(quiet=True))
        run_demo(ctx, only=("core", "accounts", "churn"))

    demo()
    churned = Contract.objects.filter(source=DEMO_SOURCE, status=ContractStatus.CHURNED)
    assert churned.count() > 5
    assert set(ChurnRecord.objects.values_list("contract_id", flat=True)) == set(churned.values_list("pk", flat=True))
    assert not ChurnRecord.objects.filter(reason__code="other").exists()
    first = ChurnRecord.objects.select_related("contract").first()
    assert first.lost_mrr == first.contract.mrr and first.churned_on <= date(2026, 11, 20)
    demo()
    assert ChurnRecord.objects.count() == churned.count()
