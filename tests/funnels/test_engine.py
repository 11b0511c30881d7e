"""The funnel arithmetic on hand-computed cases (engine.py: counts in, rates, benchmark, bottleneck out)."""

from decimal import Decimal

import polars as pl
import pytest

from banso.funnels import engine
from banso.funnels.engine import StageInfo

STAGES = [StageInfo("応募"), StageInfo("面接実施", "面接実施率"), StageInfo("内定", "内定率")]
TEMPLATE = "{rate}が基準より{points}pt低い: 推定 {outcome}-{lost}件/月"


def counts(rows: dict[int, list[int]], period: int = 0, project: str = "") -> list[dict[str, object]]:
    """{account: [n per stage]} as count rows of one period."""
    return [
        {"account_id": a, "project": project, "position": k, "period": period, "n": n}
        for a, ns in rows.items()
        for k, n in enumerate(ns, start=1)
    ]


def table(rows: list[dict[str, object]], peers: dict[int, str | None], period_days: int = 30) -> dict:
    frame = pl.DataFrame(rows, schema=engine.COUNT_SCHEMA) if rows else pl.DataFrame(schema=engine.COUNT_SCHEMA)
    clients = pl.DataFrame({"account_id": list(peers), "peer": list(peers.values())}, schema=engine.CLIENT_SCHEMA)
    result = engine.funnel_table(frame, clients, 3, period_days)
    return {(r["account_id"], r["project"]): r for r in result.to_dicts()}


def test_rates_benchmark_leave_one_out_and_the_bottleneck_sentence():
    # Four peers convert half of their applicants to interviews; client 1 only a fifth.
    rows = counts({1: [100, 20, 2], 2: [100, 50, 10], 3: [100, 50, 10], 4: [100, 50, 10], 5: [100, 50, 10]})
    result = table(rows, dict.fromkeys(range(1, 6), "人材"))
    one = result[(1, "")]
    assert one["counts"] == [100, 20, 2]
    assert one["rates"] == [None, 0.2, 0.1]
    # Client 1 left out of its own benchmark: 200/400 and 40/200.
    assert one["benchmark_rates"] == [None, 0.5, 0.2]
    assert (one["peer_group"], one["peers"]) == ("人材", 4)
    # Expected 100 × 0.5 = 50 interviews, 30 short; × its own offer rate 0.1 = 3 offers in 30 days.
    # Offers: expected 20 × 0.2 = 4, 2 short, 2 lost: the interview stage costs more.
    assert one["bottleneck_position"] == 2
    assert one["loss_per_month"] == Decimal("3.00")
    assert engine.explain(one, STAGES, TEMPLATE) == "面接実施率が基準より30pt低い: 推定 内定-3.0件/月"
    # The peers' own benchmarks include client 1: (20+150)/(400) interviews.
    assert result[(2, "")]["benchmark_rates"][1] == pytest.approx(170 / 400)


def test_loss_per_month_scales_the_period_and_rounds_to_one_decimal_under_ten():
    rows = counts({1: [10, 5, 1], 2: [10, 5, 4], 3: [10, 5, 4], 4: [10, 5, 4]})
    result = table(rows, dict.fromkeys(range(1, 5), ""), period_days=14)
    one = result[(1, "")]
    # Offer rate 0.2 against 12/15 = 0.8: 5 × 0.8 − 1 = 3 offers lost in 14 days, 6.43 a month.
    assert one["bottleneck_position"] == 3
    assert one["loss_per_month"] == Decimal("6.43")
    assert engine.explain(one, STAGES, TEMPLATE) == "内定率が基準より60pt低い: 推定 内定-6.4件/月"
    assert engine.outcomes_text(Decimal("12.50")) == "13"


def test_an_empty_middle_stage_gives_no_rate_after_it_and_uses_the_benchmark_downstream():
    rows = counts({1: [40, 0, 0], 2: [40, 20, 10], 3: [40, 20, 10], 4: [40, 20, 10]})
    one = table(rows, dict.fromkeys(range(1, 5), "x"))[(1, "")]
    assert one["rates"] == [None, 0.0, None]  # nobody interviewed: no offer rate, not 0
    # 40 × 0.5 = 20 interviews short × the peers' offer rate 0.5 = 10 offers; offers: no interviews, no loss.
    assert one["bottleneck_position"] == 2
    assert one["loss_per_month"] == Decimal("10.00")
    assert engine.explain(one, STAGES, TEMPLATE) == "面接実施率が基準より50pt低い: 推定 内定-10件/月"


def test_zero_denominators_everywhere_give_none_and_no_bottleneck():
    one = table([], {1: "a", 2: "a"})[(1, "")]
    assert one["counts"] == [0, 0, 0]
    assert one["rates"] == one["history_rates"] == one["benchmark_rates"] == [None, None, None]
    assert one["bottleneck_position"] is None
    assert one["loss_per_month"] == Decimal("0.00")
    assert engine.explain(one, STAGES, TEMPLATE) == ""


def test_a_client_with_too_few_peers_is_compared_with_everyone():
    rows = counts({1: [10, 2, 1], 2: [10, 6, 3], 3: [10, 4, 2], 4: [10, 8, 4], 5: [10, 4, 2]})
    peers = {1: "IT", 2: "IT", 3: "人材", 4: "人材", 5: None}
    result = table(rows, peers)
    one = result[(1, "")]
    assert (one["peer_group"], one["peers"]) == ("", 4)
    assert one["benchmark_rates"][1] == pytest.approx(22 / 40)
    assert result[(5, "")]["peers"] == 4  # no value to compare on: everyone
    # A client alone in the workspace has no benchmark and so no bottleneck.
    alone = table(counts({7: [10, 1, 0]}), {7: "IT"})[(7, "")]
    assert alone["peers"] == 0 and alone["benchmark_rates"] == [None, None, None]
    assert alone["bottleneck_position"] is None


def test_equal_losses_pick_the_earliest_stage():
    # Peers: 36 applicants, 18 interviews (0.5), 10 offers (5/9). Client 1: 10, 3, 1.
    # Interviews: (10 × 0.5 − 3) × its own offer rate 1/3 = 2/3; offers: 3 × 5/9 − 1 = 2/3. A tie.
    rows = counts({1: [10, 3, 1], 2: [12, 6, 4], 3: [12, 6, 3], 4: [12, 6, 3]})
    one = table(rows, dict.fromkeys(range(1, 5), "x"))[(1, "")]
    assert one["benchmark_rates"] == [None, 0.5, pytest.approx(5 / 9)]
    assert one["bottleneck_position"] == 2
    assert one["loss_per_month"] == Decimal("0.67")
    # One more offer lost breaks the tie towards the later stage.
    rows = counts({1: [10, 3, 0], 2: [12, 6, 4], 3: [12, 6, 3], 4: [12, 6, 3]})
    assert table(rows, dict.fromkeys(range(1, 5), "x"))[(1, "")]["bottleneck_position"] == 3


def test_history_pools_previous_periods_and_projects_get_their_clients_benchmark():
    rows = counts({1: [10, 5, 1], 2: [10, 5, 5], 3: [10, 5, 5], 4: [10, 5, 5]})
    rows += counts({1: [10, 2, 1]}, period=1) + counts({1: [30, 0, 0]}, period=2)
    rows += counts({1: [4, 1, 0]}, project="営業職 2026春")
    result = table(rows, dict.fromkeys(range(1, 5), "x"))
    assert result[(1, "")]["history_rates"] == [None, 0.05, 0.5]  # (2 + 0) / (10 + 30), 1 / 2
    project = result[(1, "営業職 2026春")]
    assert project["counts"] == [4, 1, 0]
    assert project["benchmark_rates"] == result[(1, "")]["benchmark_rates"] == [None, 0.5, 1.0]
    # Counts of accounts that are not clients are left out, and every client has a total row.
    assert set(table(rows + counts({9: [50, 50, 50]}), {1: "x", 5: "x"})) == {(1, ""), (1, "営業職 2026春"), (5, "")}
