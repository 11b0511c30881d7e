"""Computing client funnels from stored events: the query over the analytics copy, per-project counts,
the stored ClientFunnels of a run, one client's funnel, the trend and the nightly job."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.utils import timezone, translation

from banso.accounts.choices import AccountKind
from banso.core.models import RunStatus
from banso.funnels import computing
from banso.funnels.models import ClientFunnel, FunnelRun
from banso.funnels.tasks import compute_funnel_task
from tests.accounts.factories import AccountFactory

from .factories import APPLICATION, FunnelFactory, add_funnel, add_funnel_events, at, funnel_event

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 11, 25)  # the current 30-day period: 10-27 .. 11-25


def clients(n: int, industry: str = "人材") -> list:
    return AccountFactory.create_batch(n, kind=AccountKind.CLIENT, industry=industry)


def test_a_run_stores_every_clients_funnel_with_its_bottleneck_in_japanese():
    funnel = FunnelFactory()
    weak, *peers = clients(5)
    add_funnel(weak, dt.date(2026, 11, 10), applied=10, interviewed=2, offered=1)
    for peer in peers:
        add_funnel(peer, dt.date(2026, 11, 10), applied=10, interviewed=5, offered=1)
    with translation.override("en"):  # a worker or command without the Japanese locale active
        run = computing.compute_now(funnel, AS_OF)
    assert run.status == RunStatus.SUCCEEDED and run.clients == 5 and run.events == 10 + 2 + 1 + 4 * 16
    row = ClientFunnel.objects.get(run=run, account=weak, project="")
    assert (row.period_start, row.period_end) == (dt.date(2026, 10, 27), AS_OF)
    assert row.counts == [10, 2, 1]
    assert row.rates == [None, 0.2, 0.5]
    assert row.benchmark_rates == [None, 0.5, 0.2]
    assert (row.peer_group, row.peers) == ("人材", 4)
    # 10 × 0.5 − 2 = 3 interviews short × its own offer rate 0.5 = 1.5 offers.
    assert (row.bottleneck_position, row.loss_per_month) == (2, Decimal("1.50"))
    assert row.explanation == "面接実施率が基準より30pt低い: 推定 内定-1.5件/月"  # stored in the workspace language
    # A project of the client is stored beside its total.
    assert not ClientFunnel.objects.filter(run=run).exclude(project="").exists()


def test_counts_distinct_applicants_per_period_boundaries_in_japan_time_and_projects():
    funnel = FunnelFactory(history_periods=2)
    client = clients(1)[0]
    start = dt.datetime.combine(dt.date(2026, 10, 27), dt.time(), at(AS_OF).tzinfo)
    rows = [
        funnel_event(client, APPLICATION, start, None, "営業職"),  # no applicant: counts one each
        funnel_event(client, APPLICATION, start, None, "営業職"),
        funnel_event(client, APPLICATION, start - dt.timedelta(microseconds=1)),  # the period before
        funnel_event(client, APPLICATION, at(AS_OF, 23, 59)),  # the last minute of the as-of day
        funnel_event(client, APPLICATION, at(AS_OF + dt.timedelta(days=1), 0)),  # after: ignored
    ]
    users = add_funnel(client, dt.date(2026, 11, 1), applied=2, interviewed=1, project="事務職")
    # The same applicant applying twice (two projects) counts once in the total and once per project.
    rows += [funnel_event(client, APPLICATION, at(dt.date(2026, 11, 2)), users[0], "営業職")]
    add_funnel_events(*rows)
    table = computing.compute_all(funnel, AS_OF)
    by_project = {r["project"]: r for r in table.to_dicts()}
    assert by_project[""]["counts"] == [5, 1, 0]
    assert by_project["営業職"]["counts"] == [3, 0, 0]
    assert by_project["事務職"]["counts"] == [2, 1, 0]
    assert by_project[""]["history_rates"] == [None, 0.0, None]


def test_one_client_on_the_spot_matches_the_run_and_its_trend_goes_oldest_first():
    funnel = FunnelFactory(history_periods=3)
    weak, *peers = clients(4)
    add_funnel(weak, dt.date(2026, 11, 10), applied=8, interviewed=2, offered=1, project="営業職")
    add_funnel(weak, dt.date(2026, 10, 1), applied=4, interviewed=4, offered=2)
    for peer in peers:
        add_funnel(peer, dt.date(2026, 11, 10), applied=8, interviewed=4, offered=2)
    run = computing.compute_now(funnel, AS_OF)
    stored = ClientFunnel.objects.get(run=run, account=weak, project="")
    mine = computing.client_funnel(funnel, weak, AS_OF)
    assert mine.counts == stored.counts == [8, 2, 1]
    assert mine.benchmark_rates == stored.benchmark_rates
    assert mine.history_rates == stored.history_rates == [None, 1.0, 0.5]
    assert (mine.bottleneck_position, mine.loss_per_month, mine.explanation) == (
        stored.bottleneck_position,
        stored.loss_per_month,
        stored.explanation,
    )
    assert [s.label for s in mine.stages] == ["応募", "面接実施", "内定"]
    project = computing.client_funnel(funnel, weak, AS_OF, project="営業職")
    assert project.counts == [8, 2, 1] and project.benchmark_rates == stored.benchmark_rates
    empty = computing.client_funnel(funnel, weak, AS_OF, project="なし")
    assert (empty.counts, empty.rates, empty.bottleneck_position) == ([0, 0, 0], [None, None, None], None)
    assert (empty.benchmark_rates, empty.peers) == (stored.benchmark_rates, 3)

    trend = computing.stage_trend(funnel, weak, 3, AS_OF).to_dicts()
    assert [(t["period_start"], t["period_end"]) for t in trend] == [
        (dt.date(2026, 8, 28), dt.date(2026, 9, 26)),
        (dt.date(2026, 9, 27), dt.date(2026, 10, 26)),
        (dt.date(2026, 10, 27), AS_OF),
    ]
    assert [t["counts"] for t in trend] == [[0, 0, 0], [4, 4, 2], [8, 2, 1]]
    assert trend[1]["rates"] == [None, 1.0, 0.5] and trend[0]["rates"] == [None, None, None]


def test_peers_by_a_custom_attribute():
    funnel = FunnelFactory(peer_attribute="attributes.job_type")
    a = AccountFactory(kind=AccountKind.CLIENT, attributes={"job_type": "営業"})
    b = AccountFactory(kind=AccountKind.CLIENT, attributes={})
    peers = dict(computing.peers_of(funnel).iter_rows())
    assert peers == {a.pk: "営業", b.pk: ""}


def test_the_nightly_job_queues_yesterday_once_after_four_in_japan():
    funnel = FunnelFactory()
    night = dt.datetime(2026, 11, 26, 3, 59, tzinfo=at(AS_OF).tzinfo)
    assert computing.due_computation(night) == []
    runs = computing.due_computation(night + dt.timedelta(minutes=1))
    assert [(r.funnel, r.as_of, r.scheduled) for r in runs] == [(funnel, AS_OF, True)]
    assert computing.due_computation(night + dt.timedelta(hours=2)) == []
    with pytest.raises(IntegrityError):
        FunnelRun.objects.create(funnel=funnel, as_of=AS_OF, scheduled=True, created_at=timezone.now())


def test_the_worker_runs_a_queued_computation_once():
    funnel = FunnelFactory()
    client = clients(1)[0]
    add_funnel(client, dt.date(2026, 11, 10), applied=3, interviewed=1)
    run = computing.start_computation(funnel, None, AS_OF)
    assert run.status == RunStatus.QUEUED
    assert compute_funnel_task.call(run.pk) == RunStatus.SUCCEEDED
    assert compute_funnel_task.call(run.pk) == RunStatus.SUCCEEDED  # a second delivery finds it taken
    run.refresh_from_db()
    assert (run.percent, run.clients) == (100, 1)
    assert list(ClientFunnel.objects.filter(run=run).values_list("counts", flat=True)) == [[3, 1, 0]]
    assert computing.latest_run(funnel) == run
