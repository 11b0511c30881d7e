"""`banso bench marketplace`: rule evaluation over 50,000 providers and 5,000,000 bookings.

Issue 8 (marketplace protection): every active threshold rule evaluated over every provider — confirmed
incidents counted in their rolling windows, firings planned (who is warned, which upcoming bookings are
notified, offered alternatives or cancelled), executed where no approval is needed — in under 10 s on
PostgreSQL. `--scale` shrinks providers, members, bookings and incidents (see _marketplace_data). Without
`--database` it runs on PostgreSQL (database banso_bench_marketplace).

Data: bench/_marketplace_data.py (seeded, built once with COPY and reused while the sizes match).

Timed, at the data's fixed reference instant (noon in Tokyo on the benchmarks' reference day):
- `dry_run_seconds`: `rules.evaluate(now, dry_run=True)`, median of 3 (writes nothing);
- `seconds`: `rules.evaluate(now)`, the real evaluation that creates firings and executes those that need no
  approval, median of 3; everything it wrote is undone between runs, untimed (`reset_outcomes`).
`firings` and `bookings_affected` (bookings in the firings' plans) come from the last real run; `dry_run_matches`
says whether the dry run's firings were the same (rule, provider) pairs as the real run's.
"""

from __future__ import annotations

import resource
import statistics
import time
from typing import Any

from _data import default_postgres, log, prepare_database
from _marketplace_data import NOW, ensure_data, reset_outcomes, sizes

REPETITIONS = 3


def run(scale: float = 1.0) -> dict[str, Any]:
    figures = default_postgres("marketplace", scale, database="banso_bench_marketplace")
    if figures is not None:
        return figures
    vendor = prepare_database()
    want = sizes(scale)
    build_seconds = ensure_data(want)

    from banso.marketplace import rules
    from banso.marketplace.models import Firing

    reset_outcomes()
    dry_runs: list[float] = []
    dry_pairs: set[tuple[int, int]] = set()
    for repetition in range(REPETITIONS):
        started = time.perf_counter()
        result = rules.evaluate(NOW, dry_run=True)
        dry_runs.append(time.perf_counter() - started)
        dry_pairs = _pairs(result)
        log(f"dry run {repetition + 1}: {dry_runs[-1]:.2f} s, {len(dry_pairs):,} firings")
    assert not Firing.objects.exists(), "the dry run wrote firings"

    runs: list[float] = []
    firings = bookings_affected = executed = 0
    real_pairs: set[tuple[int, int]] = set()
    for repetition in range(REPETITIONS):
        reset_outcomes()
        started = time.perf_counter()
        rules.evaluate(NOW)
        runs.append(time.perf_counter() - started)
        firings, bookings_affected, executed = _written()
        real_pairs = set(Firing.objects.values_list("rule_id", "provider_id"))
        log(
            f"run {repetition + 1}: {runs[-1]:.2f} s, {firings:,} firings ({executed:,} executed), "
            f"{bookings_affected:,} bookings affected"
        )
    again = _second_run()

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "providers": want.providers,
        "bookings": want.bookings,
        "incidents": want.incidents,
        "seconds": round(statistics.median(runs), 2),
        "dry_run_seconds": round(statistics.median(dry_runs), 2),
        "firings": firings,
        "executed": executed,
        "bookings_affected": bookings_affected,
        "dry_run_matches": dry_pairs == real_pairs if dry_pairs else None,
        "second_run_firings": again,
        "peak_mib": round(max(own, children), 1),
        "members": want.members,
        "database": vendor,
        "data_build_seconds": round(build_seconds, 1),
    }


def _pairs(result: Any) -> set[tuple[int, int]]:
    """(rule id, provider id) of the firings a dry run planned, read from whatever shape the result has."""
    items = getattr(result, "firings", None)
    if items is None:
        return set()
    pairs = set()
    for item in items:
        rule = getattr(item, "rule_id", None) or getattr(getattr(item, "rule", None), "pk", None)
        provider = getattr(item, "provider_id", None)
        if isinstance(item, dict):
            rule, provider = item.get("rule_id"), item.get("provider_id")
        if rule is not None and provider is not None:
            pairs.add((int(rule), int(provider)))
    return pairs


def _written() -> tuple[int, int, int]:
    from banso.marketplace.models import Firing, FiringStatus

    firings = executed = affected = 0
    for status, plan in Firing.objects.values_list("status", "plan").iterator(chunk_size=5000):
        firings += 1
        executed += status == FiringStatus.EXECUTED
        affected += len((plan or {}).get("bookings", []))
    return firings, affected, executed


def _second_run() -> int:
    """Firings a second evaluation at the same instant adds (must be 0: incidents are consumed), untimed."""
    from banso.marketplace import rules
    from banso.marketplace.models import Firing

    before = Firing.objects.count()
    rules.evaluate(NOW)
    return Firing.objects.count() - before
