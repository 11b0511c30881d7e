"""Churn analysis figures against hand computations on tiny histories (see docs/CHURN.md)."""

import datetime

import pytest

from banso.accounts.choices import TouchTier
from banso.churn import analysis
from banso.churn.analysis import Filters, Period

from .factories import AccountFactory, ChurnRecordFactory, contract, reason

D = datetime.date
Q1 = Period(D(2025, 1, 1), D(2025, 3, 1))


def test_january_movements_of_churn_expansion_contraction_and_new(four_accounts):
    jan, feb, mar = analysis.monthly(analysis.contract_frame(), Q1)
    assert jan.month == D(2025, 1, 1)
    assert (jan.active_accounts, jan.churned_accounts, jan.new_accounts) == (3, 1, 1)
    assert jan.start_mrr == 350_000
    assert (jan.new_mrr, jan.expansion_mrr, jan.contraction_mrr, jan.churned_mrr) == (60_000, 30_000, 50_000, 100_000)
    assert jan.net_mrr == -60_000
    assert jan.end_mrr == 290_000
    assert jan.logo_churn_rate == pytest.approx(1 / 3)
    assert jan.revenue_churn_rate == pytest.approx(100_000 / 350_000)
    assert jan.grr == pytest.approx(200_000 / 350_000)
    assert jan.nrr == pytest.approx(230_000 / 350_000)
    assert (feb.start_mrr, feb.net_mrr, feb.grr, feb.nrr, feb.logo_churn_rate) == (290_000, 0, 1.0, 1.0, 0.0)
    assert mar.active_accounts == 3


def test_trailing_twelve_months_follow_the_accounts_live_a_year_before(four_accounts):
    jan, _feb, mar = analysis.monthly(analysis.contract_frame(), Q1)
    # January's year starts 2024-02-01: only A was live (100,000), and it is gone by 2025-02-01.
    assert (jan.grr_12m, jan.nrr_12m) == (0.0, 0.0)
    # March's year starts 2024-04-01: A (100,000) and C (200,000); on 2025-04-01 C pays 150,000.
    assert mar.grr_12m == pytest.approx(0.5)
    assert mar.nrr_12m == pytest.approx(0.5)


def test_expansion_is_capped_in_trailing_grr_but_counts_in_nrr(db):
    account = AccountFactory()
    contract(account, 100_000, D(2024, 1, 1), D(2024, 7, 1))
    contract(account, 150_000, D(2024, 7, 1))
    (dec,) = analysis.monthly(analysis.contract_frame(), Period(D(2024, 12, 1), D(2024, 12, 1)))
    assert dec.grr_12m == 1.0
    assert dec.nrr_12m == pytest.approx(1.5)


def test_filters_restrict_every_figure_to_matching_accounts(four_accounts):
    result = analysis.analyse(Q1, Filters(tier=TouchTier.HIGH))
    jan = result.months[0]
    assert (jan.start_mrr, jan.churned_mrr, jan.contraction_mrr, jan.new_mrr) == (300_000, 100_000, 50_000, 0)
    assert result.at_risk_accounts == 2
    assert result.churned_accounts == 1


def test_reasons_count_records_and_lost_mrr_per_reason_and_sub_reason(four_accounts):
    usage, low = reason("usage"), reason("usage-low")
    ChurnRecordFactory(
        account=four_accounts["A"], churned_on=D(2025, 2, 1), reason=usage, sub_reason=low, lost_mrr=100_000
    )
    ChurnRecordFactory(account=four_accounts["B"], churned_on=D(2025, 3, 10), reason=usage, lost_mrr=40_000)
    ChurnRecordFactory(account=four_accounts["C"], churned_on=D(2025, 2, 20), reason=reason("budget"), lost_mrr=7_000)
    ChurnRecordFactory(account=four_accounts["D"], churned_on=D(2024, 12, 31), reason=reason("budget"))  # before
    rows = analysis.reasons(Q1, Filters())
    assert [(r.reason, r.sub_reason, r.records, r.lost_mrr) for r in rows] == [
        ("利用定着せず", "", 2, 140_000),
        ("利用定着せず", "利用頻度の低下（社内で活用が定着しなかった）", 1, 100_000),
        ("予算削減", "", 1, 7_000),
    ]
    assert rows[0].share == pytest.approx(2 / 3)


def test_lift_compares_shares_among_churners_and_all_accounts_with_fishers_test(db):
    start, churn = D(2024, 1, 1), D(2025, 2, 1)
    for tier, churned in [(TouchTier.HIGH, True), (TouchTier.HIGH, True), (TouchTier.LOW, True)] + [
        (TouchTier.LOW, False)
    ] * 3:
        contract(AccountFactory(tier=tier), 10_000, start, churn if churned else None, churned=churned)
    rows, churners, total = analysis.lift(analysis.contract_frame(), Q1, Filters())
    assert (churners, total) == (3, 6)
    by_value = {r.value: r for r in rows if r.attribute == "タッチ区分"}
    high, low = by_value["ハイタッチ"], by_value["ロータッチ"]
    assert (high.accounts, high.churned, high.share_churned, high.share_all) == (2, 2, 2 / 3, 1 / 3)
    assert high.lift == pytest.approx(2.0)
    assert low.lift == pytest.approx(0.5)
    # Hypergeometric: P(X=2) = P(X=0) = 3/15, so the two-sided p is 0.4 for both groups.
    assert high.p_value == pytest.approx(0.4)
    assert low.p_value == pytest.approx(0.4)


def test_an_empty_workspace_gives_empty_figures(db):
    result = analysis.analyse(Q1)
    assert [m.start_mrr for m in result.months] == [0, 0, 0]
    assert result.months[0].grr is None
    assert result.lift == [] and result.cohorts == [] and result.reasons == []
    assert set(analysis.chart_configs(result)) == {"rates", "retention", "net_mrr", "reasons", "survival"}


def test_lift_flags_a_departed_key_contact_and_groups_mrr_bands_and_few_valued_attributes(db):
    from banso.accounts.choices import ContactRole
    from tests.accounts.factories import ContactFactory

    start, churn = D(2024, 1, 1), D(2025, 2, 1)
    for i in range(6):
        account = AccountFactory(attributes={"region": "関東" if i < 3 else "関西", "seats": i})
        churned = i < 2
        contract(account, 40_000 if i else 400_000, start, churn if churned else None, churned=churned)
        if i < 2:  # both churners lost their champion before churning
            ContactFactory(account=account, role=ContactRole.CHAMPION, left_on=D(2024, 12, 1))
        if i == 5:  # the champion leaves only after the period: not counted
            ContactFactory(account=account, role=ContactRole.CHAMPION, left_on=D(2025, 6, 1))
    rows, churners, total = analysis.lift(analysis.contract_frame(), Q1, Filters())
    assert (churners, total) == (2, 6)
    by = {(r.attribute, r.value): r for r in rows}
    left = by[("主担当者が退職・異動", "はい")]
    assert (left.accounts, left.churned, left.lift) == (2, 2, pytest.approx(3.0))
    assert by[("主担当者が退職・異動", "いいえ")].churned == 0
    assert by[("MRR帯", "30万〜100万円")].accounts == 1
    assert by[("region", "関東")].churned == 2
    assert not any(r.attribute == "seats" for r in rows)  # six distinct values of six: not a grouping


def test_large_groups_use_the_two_proportion_test_small_ones_fishers():
    from scipy.stats import chi2_contingency, fisher_exact

    # 200 of 1,000 accounts churned in the group, 800 of 9,000 outside it.
    p_value, test = analysis.significance(200, 1_000, 1_000, 10_000)
    expected = chi2_contingency([[200, 800], [800, 8_200]], correction=False).pvalue
    assert test == "z" and p_value == pytest.approx(expected)
    p_value, test = analysis.significance(2, 3, 10, 100)
    assert test == "fisher" and p_value == pytest.approx(fisher_exact([[2, 1], [8, 89]]).pvalue)
    assert analysis.significance(0, 5, 0, 50) == (None, "")


def test_industry_and_owner_filters(four_accounts, user_with_role):
    from banso.core.choices import Role

    owner = user_with_role(Role.CSM)
    Account = type(four_accounts["B"])
    Account.objects.filter(pk=four_accounts["B"].pk).update(owner=owner)
    retail = analysis.analyse(Q1, Filters(industry="小売・流通")).months[0]
    assert (retail.start_mrr, retail.contraction_mrr, retail.new_mrr, retail.churned_mrr) == (
        200_000,
        50_000,
        60_000,
        0,
    )
    mine = analysis.analyse(Q1, Filters(owner_id=owner.pk)).months[0]
    assert (mine.start_mrr, mine.expansion_mrr, mine.nrr) == (50_000, 30_000, pytest.approx(1.6))
