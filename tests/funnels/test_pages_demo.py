"""The funnels demo: 60 recruiting clients with eight months of events, computed so the clients list opens
on the planted bottlenecks; a second build adds nothing."""

import datetime as dt

from banso.core.demo import DemoContext, Progress
from banso.funnels import demo
from banso.funnels.models import ClientFunnel


def test_demo_builds_clients_whose_planted_bottlenecks_lead_the_list(db):
    # ~6 s: the whole demo (60 clients, ~50,000 events through the store, the lake and one computation)
    ctx = DemoContext(today=dt.date(2026, 10, 31), progress=Progress(quiet=True))
    demo.build(ctx)
    rows = list(ClientFunnel.objects.filter(project="").order_by("-loss_per_month"))
    assert len(rows) == demo.CLIENTS
    top = {row.account.external_id for row in rows[:8]}
    planted = {demo._client_id(i) for i in range(demo.CLIENTS) if i % 12 in (3, 8)}
    assert len(top & planted) >= 6
    events = ctx.written["funnel events"]
    demo.build(ctx)
    assert ctx.written["funnel events"] == events
