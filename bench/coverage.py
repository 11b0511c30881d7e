"""`banso bench coverage`: generating next month's coverage plan for 100,000 accounts and 200 CSMs.

Issue 5 (success operations): plan generation and assignment for 100,000 accounts and 200 CSMs in under
10 s. `--scale` shrinks both (at least 200 accounts and 2 CSMs). Without `--database` it runs on
PostgreSQL (database banso_bench_coverage).

Data (seeded, built once into the benchmark database and reused while the sizes match): 200 CSMs with
capacities of 120–200 accounts a month (a few inactive, so their accounts go to others), accounts in the
three touch tiers with log-normal MRR, 95 % of them owned, one active contract each renewing on a day
spread over the next twelve months, health snapshots on the reference day and 30 days before (about one
in eight changing band), churn-risk predictions on both days (drifting, some crossing a band), and a last
touch for 90 % of the accounts (within 40, 120 and 180 days by tier) (so the untouched rules pick some).

Timed: `success.plans.generate(month)` for the month after the reference day — reading the inputs,
choosing, prioritising, assigning, scheduling and writing the targets, in one transaction — the median of
3 runs, each on a fresh plan (the previous one deleted, untimed).
"""

from __future__ import annotations

import datetime as dt
import resource
import statistics
import time
from typing import Any

import numpy as np

from _data import BENCH_SEED, BENCH_TODAY, default_postgres, log, prepare_database

FULL_ACCOUNTS = 100_000
FULL_CSMS = 200
SOURCE = "bench-coverage"
BATCH = 5000


def sizes(scale: float) -> tuple[int, int]:
    return max(200, round(FULL_ACCOUNTS * scale)), max(2, round(FULL_CSMS * scale))


def run(scale: float = 1.0) -> dict[str, Any]:
    figures = default_postgres("coverage", scale, database="banso_bench_coverage")
    if figures is not None:
        return figures
    vendor = prepare_database()
    accounts, csms = sizes(scale)
    build_seconds = ensure_data(accounts, csms)

    from banso.core.calendar import month_start
    from banso.success import plans
    from banso.success.models import CoveragePlan

    month = month_start(BENCH_TODAY, 1)
    seconds, targets = [], 0
    for repetition in range(3):
        CoveragePlan.objects.filter(month=month).delete()
        started = time.perf_counter()
        plan = plans.generate(month, as_of=BENCH_TODAY)
        seconds.append(time.perf_counter() - started)
        targets = plan.targets.count()
        log(f"run {repetition + 1}: {seconds[-1]:.2f} s, {targets:,} targets")
    return {
        "accounts": accounts,
        "csms": csms,
        "seconds": round(statistics.median(seconds), 2),
        "runs": [round(s, 2) for s in seconds],
        "targets": targets,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "database": vendor,
        "data_build_seconds": round(build_seconds, 1),
    }


def ensure_data(accounts: int, csms: int) -> float:
    """Build the benchmark's records unless the database holds them at this size; returns the build time."""
    from banso.accounts.models import Account
    from banso.core.models import User
    from banso.success.models import Touch

    have = Account.objects.filter(source=SOURCE).count()
    have_csms = User.objects.filter(username__startswith="bench-csm-").count()
    if have == accounts and have_csms == csms and Touch.objects.filter(account__source=SOURCE).exists():
        log(f"reusing {have:,} accounts and {have_csms} CSMs")
        return 0.0
    started = time.monotonic()
    log(f"building {accounts:,} accounts and {csms} CSMs")
    _reset()
    _build(accounts, csms)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return time.monotonic() - started


def _reset() -> None:
    from banso.accounts.models import Account
    from banso.churn.models import RiskModel
    from banso.core.models import User
    from banso.health.models import HealthSnapshot, Scorecard
    from banso.success.models import CoveragePlan

    CoveragePlan.objects.all().delete()
    HealthSnapshot.objects.filter(account__source=SOURCE).delete()
    Scorecard.objects.filter(name=SOURCE).delete()
    RiskModel.objects.filter(params__bench=SOURCE).delete()
    Account.objects.filter(source=SOURCE).delete()
    User.objects.filter(username__startswith="bench-csm-").delete()


def _build(n: int, n_csms: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from banso.accounts.choices import TouchTier
    from banso.accounts.models import Account, Contract
    from banso.churn.models import RiskModel, RiskPrediction
    from banso.core.choices import Role
    from banso.core.models import User
    from banso.health.models import HealthSnapshot, Scorecard, ScorecardVersion
    from banso.success.models import Touch, TouchChannel, TouchOutcome

    rng = np.random.default_rng(BENCH_SEED)
    today = BENCH_TODAY
    earlier = today - dt.timedelta(days=30)
    with transaction.atomic():
        users = [
            User(
                username=f"bench-csm-{i:04d}",
                display_name=f"担当{i:04d}",
                role=Role.CSM,
                capacity=int(rng.integers(120, 201)),
                is_active=bool(rng.random() > 0.02),
            )
            for i in range(n_csms)
        ]
        User.objects.bulk_create(users, batch_size=BATCH)
        user_ids = list(
            User.objects.filter(username__startswith="bench-csm-").order_by("id").values_list("id", flat=True)
        )
        tiers = rng.choice([TouchTier.HIGH, TouchTier.LOW, TouchTier.TECH], size=n, p=[0.15, 0.45, 0.40])
        owners = rng.choice(user_ids, size=n)
        owned = rng.random(n) < 0.95
        mrr = np.clip(rng.lognormal(np.log(60_000), 0.9, n), 5_000, 5_000_000).astype(np.int64) // 1000 * 1000
        renewals = [today + dt.timedelta(days=int(d)) for d in rng.integers(1, 366, n)]
        log("accounts")
        Account.objects.bulk_create(
            (
                Account(
                    source=SOURCE,
                    external_id=f"cov-{i}",
                    name=f"株式会社ベンチ{i}",
                    tier=str(tiers[i]),
                    owner_id=int(owners[i]) if owned[i] else None,
                    mrr=int(mrr[i]),
                    next_renewal_date=renewals[i],
                )
                for i in range(n)
            ),
            batch_size=BATCH,
        )
        ids = list(Account.objects.filter(source=SOURCE).order_by("id").values_list("id", flat=True))
        log("contracts")
        Contract.objects.bulk_create(
            (
                Contract(
                    source=SOURCE,
                    external_id=f"cov-{i}",
                    account_id=ids[i],
                    plan="スタンダード",
                    mrr=int(mrr[i]),
                    start_date=renewals[i] - dt.timedelta(days=365),
                    renewal_date=renewals[i],
                )
                for i in range(n)
            ),
            batch_size=BATCH,
        )
        log("health snapshots")
        card = Scorecard.objects.create(name=SOURCE)
        version = ScorecardVersion.objects.create(scorecard=card, number=1, definition={"measures": []})
        score_then = rng.uniform(10, 95, n)
        score_now = np.clip(score_then + rng.normal(0, 5, n), 0, 100)

        def band(score: float) -> str:
            return "red" if score < 40 else ("green" if score >= 70 else "yellow")

        for day, scores in ((earlier, score_then), (today, score_now)):
            HealthSnapshot.objects.bulk_create(
                (
                    HealthSnapshot(
                        account_id=ids[i],
                        day=day,
                        score=round(float(scores[i]), 1),
                        band=band(scores[i]),
                        scorecard=card,
                        version=version,
                    )
                    for i in range(n)
                ),
                batch_size=BATCH,
            )
        log("risk predictions")
        model = RiskModel.objects.create(as_of=earlier, horizon_days=90, booster="", params={"bench": SOURCE})
        risk_then = rng.beta(1.2, 6, n)
        risk_now = np.clip(risk_then + rng.normal(0, 0.025, n), 0, 1)
        for day, risks in ((earlier, risk_then), (today, risk_now)):
            RiskPrediction.objects.bulk_create(
                (
                    RiskPrediction(account_id=ids[i], model=model, day=day, probability=float(risks[i]))
                    for i in range(n)
                ),
                batch_size=BATCH,
            )
        log("touches")
        touched = np.flatnonzero(rng.random(n) < 0.9)
        # Days since the last touch: high-touch accounts are called often, the others less.
        horizon = np.where(tiers == TouchTier.HIGH, 40, np.where(tiers == TouchTier.LOW, 120, 180))
        ago = rng.integers(1, horizon[touched])
        Touch.objects.bulk_create(
            (
                Touch(
                    account_id=ids[i],
                    csm_id=int(owners[i]),
                    channel=TouchChannel.CALL,
                    outcome=TouchOutcome.CONVERSATION,
                    occurred_at=timezone.make_aware(
                        dt.datetime.combine(today - dt.timedelta(days=int(d)), dt.time(11))
                    ),
                )
                for i, d in zip(touched, ago, strict=True)
            ),
            batch_size=BATCH,
        )
