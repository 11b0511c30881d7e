"""`banso bench campaigns`: the affiliate campaigns at PLUG's scale.

Issue 10 (affiliate offers and campaigns): materialising a segment over 5,000,000 end users and 200,000,000
visit events and queuing the notifications in under 10 s; the forecast backtest over 2 years of 1,000 offers
in under 60 s. `--scale` shrinks both. Without `--database` the push part runs on PostgreSQL (database
banso_bench_campaigns).

The two halves are written by their areas: `_campaigns_push.run(scale)` (segment from the analytics lake,
frequency caps, deliveries and outbox rows queued) and `_campaigns_backtest.run(scale)` (the forecast method
replayed over synthetic history); a missing one reports null for its keys. Required keys: end_users, events,
segment_queue_seconds, backtest_seconds.
"""

from __future__ import annotations

import resource
from typing import Any

from _data import default_postgres, other_area, prepare_database


def run(scale: float = 1.0) -> dict[str, Any]:
    figures = default_postgres("campaigns", scale, database="banso_bench_campaigns")
    if figures is not None:
        return figures
    vendor = prepare_database()
    figures = {"database": vendor}
    figures.update(other_area("_campaigns_push", ("end_users", "events", "segment_queue_seconds"), scale))
    figures.update(other_area("_campaigns_backtest", ("backtest_seconds",), scale))
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    figures["peak_rss_mib"] = round(max(own, children), 1)
    return figures
