"""`banso bench playbooks`: evaluating every trigger kind over 100,000 accounts, and the outbox's delivery rate.

Issue 6 (playbooks): all triggers over 100,000 accounts in under 15 s; the outbox delivers at least 200
emails/s to a local SMTP server. `--scale` shrinks the accounts (at least 100). Without `--database` it runs
on PostgreSQL (database banso_bench_playbooks).

Data (seeded, built once into the benchmark database and reused while the size matches): accounts in the
three touch tiers with log-normal MRR, renewals over the next year, a "trial_end" custom attribute on a
fifth of them and a "vip" tag on a tenth; health snapshots on the reference day and the day before (about
one in twelve changing band); churn-risk predictions on both days (drifting; some cross 0.5); a last touch
for 90 % of the accounts; one contact each, 1 % of whom left in the last week; NPS answers from 2 % of the
accounts in the last ten days; a segment with a fifth of the accounts as members, 1 % entered and 0.5 % left
in the last week; inquiry events over nine weeks (about 0.3 a week per account, a 1 % of accounts spiking
this week) and SLA-breach events for 0.5 % of the accounts in the last day. Eleven active playbooks cover
every trigger kind, four of them with conditions (tier, tag, MRR, custom attribute).

Timed: `playbooks.triggers.evaluate()` over all of them — every kind's set-based computation, conditions,
cool-down and cause checks, and writing the runs — the median of 3, the runs deleted between repetitions
(untimed). Then bench/_outbox.py `measure(scale, database)`, when present, gives `emails_per_s`.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import resource
import statistics
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from _data import BENCH_SEED, BENCH_TODAY, default_postgres, log, prepare_database

FULL_ACCOUNTS = 100_000
SOURCE = "bench-playbooks"
PREFIX = "bench-playbooks: "
BATCH = 5000
TOKYO = ZoneInfo("Asia/Tokyo")
NOW = dt.datetime.combine(BENCH_TODAY, dt.time(10), TOKYO)


def size(scale: float) -> int:
    return max(100, round(FULL_ACCOUNTS * scale))


def run(scale: float = 1.0) -> dict[str, Any]:
    figures = default_postgres("playbooks", scale, database="banso_bench_playbooks")
    if figures is not None:
        return figures
    vendor = prepare_database()
    accounts = size(scale)
    build_seconds = ensure_data(accounts)

    from banso.activity import lake
    from banso.playbooks.models import Playbook, PlaybookRun
    from banso.playbooks.triggers import evaluate

    lake.sync()  # the engine's copy of the events is current before timing, as after the hourly import sync
    playbooks = list(Playbook.objects.filter(name__startswith=PREFIX).order_by("id"))
    seconds, started, per_kind = [], 0, {}
    for repetition in range(3):
        PlaybookRun.objects.filter(playbook__in=playbooks).delete()
        began = time.perf_counter()
        result = evaluate(now=NOW, playbooks=playbooks)
        seconds.append(time.perf_counter() - began)
        if result.failed:
            raise SystemExit(f"playbooks failed: {[(p.name, p.error) for p in result.failed]}")
        started = result.runs_started
        per_kind = {p.trigger: p.started for p in result.playbooks}
        log(f"run {repetition + 1}: {seconds[-1]:.2f} s, {started:,} runs started")
    again = time.perf_counter()
    repeat = evaluate(now=NOW, playbooks=playbooks)  # the same causes: nothing new
    repeat_seconds = time.perf_counter() - again
    figures: dict[str, Any] = {
        "accounts": accounts,
        "trigger_seconds": round(statistics.median(seconds), 2),
        "trigger_runs": [round(s, 2) for s in seconds],
        "playbooks": len(playbooks),
        "runs_started": started,
        "runs_started_by_kind": per_kind,
        "repeat_runs_started": repeat.runs_started,
        "repeat_seconds": round(repeat_seconds, 2),
        "database": vendor,
        "data_build_seconds": round(build_seconds, 1),
    }
    figures.update(_outbox(scale))
    figures["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return figures


def _outbox(scale: float) -> dict[str, Any]:
    """The outbox part (bench/_outbox.py, by the outbox's authors), when it is there."""
    path = Path(__file__).with_name("_outbox.py")
    if not path.exists():
        log("bench/_outbox.py not found: no emails_per_s")
        return {"emails_per_s": None}
    spec = importlib.util.spec_from_file_location("bench_outbox", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = module.measure(scale, os.environ.get("DATABASE_URL", ""))
    return dict(found) if isinstance(found, dict) else {"emails_per_s": found}


# Data ------------------------------------------------------------------------------------------------


def ensure_data(accounts: int) -> float:
    """Build the benchmark's records unless the database holds them at this size; returns the build time."""
    from banso.accounts.models import Account
    from banso.playbooks.models import Playbook

    have = Account.objects.filter(source=SOURCE).count()
    if have == accounts and Playbook.objects.filter(name__startswith=PREFIX).count() == len(PLAYBOOKS):
        log(f"reusing {have:,} accounts")
        return 0.0
    started = time.monotonic()
    log(f"building {accounts:,} accounts")
    _reset()
    _build(accounts)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    return time.monotonic() - started


def _reset() -> None:
    from banso.accounts.models import Account
    from banso.activity.models import Event
    from banso.analytics.models import Segment
    from banso.churn.models import RiskModel
    from banso.health.models import HealthSnapshot, Survey
    from banso.playbooks.models import Playbook

    Playbook.objects.filter(name__startswith=PREFIX).delete()
    Segment.objects.filter(name=SOURCE).delete()
    Survey.objects.filter(name=SOURCE).delete()
    HealthSnapshot.objects.filter(account__source=SOURCE).delete()
    RiskModel.objects.filter(params__bench=SOURCE).delete()
    Event.objects.filter(source=SOURCE).delete()
    Account.objects.filter(source=SOURCE).delete()


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), TOKYO)


def _build(n: int) -> None:
    from django.db import transaction

    rng = np.random.default_rng(BENCH_SEED + 6)
    with transaction.atomic():
        ids = _accounts(n, rng)
        _health_and_risk(ids, rng)
        _touches_and_contacts(ids, rng)
        _survey(ids, rng)
        _segment(ids, rng)
        _events(ids, rng)
        _playbooks()


def _accounts(n: int, rng: np.random.Generator) -> list[int]:
    from banso.accounts.choices import TouchTier
    from banso.accounts.models import Account
    from banso.playbooks.models import AccountTag

    today = BENCH_TODAY
    tiers = rng.choice([TouchTier.HIGH, TouchTier.LOW, TouchTier.TECH], size=n, p=[0.15, 0.45, 0.40])
    mrr = np.clip(rng.lognormal(np.log(60_000), 0.9, n), 5_000, 5_000_000).astype(np.int64) // 1000 * 1000
    renewal = rng.integers(1, 366, n)
    trial = rng.random(n) < 0.2
    trial_end = rng.integers(-10, 60, n)
    created = rng.integers(200, 1500, n)
    log("accounts")
    Account.objects.bulk_create(
        (
            Account(
                source=SOURCE,
                external_id=f"pb-{i}",
                name=f"株式会社プレイブック{i}",
                tier=str(tiers[i]),
                mrr=int(mrr[i]),
                next_renewal_date=today + dt.timedelta(days=int(renewal[i])),
                attributes={"trial_end": str(today + dt.timedelta(days=int(trial_end[i]))), "seats": int(i % 50)}
                if trial[i]
                else {"seats": int(i % 50)},
                created_at=_at(today - dt.timedelta(days=int(created[i]))),
            )
            for i in range(n)
        ),
        batch_size=BATCH,
    )
    ids = list(Account.objects.filter(source=SOURCE).order_by("id").values_list("id", flat=True))
    vip = rng.choice(n, size=n // 10, replace=False)
    AccountTag.objects.bulk_create((AccountTag(account_id=ids[i], name="vip") for i in vip), batch_size=BATCH)
    return ids


def _health_and_risk(ids: list[int], rng: np.random.Generator) -> None:
    from banso.churn.models import RiskModel, RiskPrediction
    from banso.core import arrowdb
    from banso.health.models import HealthSnapshot, Scorecard, ScorecardVersion

    n, today = len(ids), BENCH_TODAY
    yesterday = today - dt.timedelta(days=1)
    log("health snapshots")
    card = Scorecard.objects.create(name=SOURCE)
    version = ScorecardVersion.objects.create(scorecard=card, number=1, definition={"measures": []})
    before = rng.uniform(10, 95, n)
    after = np.clip(before + rng.normal(0, 4, n), 0, 100)
    for day, scores in ((yesterday, before), (today, after)):
        frame = pl.DataFrame({"account_id": ids, "score": np.round(scores, 1)}).with_columns(
            pl.lit(day.isoformat()).alias("day"),
            pl.col("score").cast(pl.String),
            pl.when(pl.col("score").cast(pl.Float64) < 40)
            .then(pl.lit("red"))
            .when(pl.col("score").cast(pl.Float64) >= 70)
            .then(pl.lit("green"))
            .otherwise(pl.lit("yellow"))
            .alias("band"),
            pl.lit(None, pl.String).alias("change"),
            pl.lit(card.pk).alias("scorecard_id"),
            pl.lit(version.pk).alias("version_id"),
            pl.lit("[]").alias("values"),
        )
        arrowdb.insert_frame(
            HealthSnapshot._meta.db_table,
            frame,
            ("account_id", "day", "score", "band", "change", "scorecard_id", "version_id", "values"),
        )
    log("risk predictions")
    model = RiskModel.objects.create(as_of=yesterday, horizon_days=90, booster="", params={"bench": SOURCE})
    then = rng.beta(1.2, 6, n)
    now = np.clip(then + rng.normal(0, 0.03, n), 0, 1)
    for day, risks in ((yesterday, then), (today, now)):
        frame = pl.DataFrame({"account_id": ids, "probability": risks}).with_columns(
            pl.lit(model.pk).alias("model_id"), pl.lit(day.isoformat()).alias("day"), pl.lit("[]").alias("drivers")
        )
        arrowdb.insert_frame(
            RiskPrediction._meta.db_table, frame, ("account_id", "model_id", "day", "probability", "drivers")
        )


def _touches_and_contacts(ids: list[int], rng: np.random.Generator) -> None:
    from banso.accounts.models import Contact
    from banso.core.choices import Role
    from banso.core.models import User
    from banso.success.models import Touch, TouchChannel, TouchOutcome

    n, today = len(ids), BENCH_TODAY
    log("touches")
    csm, _ = User.objects.get_or_create(username="bench-playbooks-csm", defaults={"role": Role.CSM})
    touched = np.flatnonzero(rng.random(n) < 0.9)
    ago = rng.integers(1, 150, len(touched))
    Touch.objects.bulk_create(
        (
            Touch(
                account_id=ids[i],
                csm=csm,
                channel=TouchChannel.CALL,
                outcome=TouchOutcome.CONVERSATION,
                occurred_at=_at(today - dt.timedelta(days=int(d)), 11),
            )
            for i, d in zip(touched, ago, strict=True)
        ),
        batch_size=BATCH,
    )
    log("contacts")
    left = rng.random(n) < 0.01
    left_ago = rng.integers(0, 10, n)
    Contact.objects.bulk_create(
        (
            Contact(
                source=SOURCE,
                external_id=f"pb-{i}",
                account_id=ids[i],
                name=f"担当者{i}",
                email=f"contact{i}@example.jp",
                is_primary=True,
                left_on=today - dt.timedelta(days=int(left_ago[i])) if left[i] else None,
            )
            for i in range(n)
        ),
        batch_size=BATCH,
    )


def _survey(ids: list[int], rng: np.random.Generator) -> None:
    from banso.accounts.models import Contact
    from banso.health.models import Survey, SurveyInvitation, SurveyKind, SurveyResponse, SurveyWave

    log("NPS answers")
    today = BENCH_TODAY
    survey = Survey.objects.create(name=SOURCE, kind=SurveyKind.NPS, question="おすすめしますか？")
    wave = SurveyWave.objects.create(survey=survey, due_on=today - dt.timedelta(days=10))
    chosen = set(rng.choice(len(ids), size=max(1, len(ids) // 50), replace=False).tolist())
    contacts = dict(
        Contact.objects.filter(source=SOURCE, account_id__in=[ids[i] for i in chosen]).values_list("account_id", "id")
    )
    expires = _at(today + dt.timedelta(days=20))
    SurveyInvitation.objects.bulk_create(
        (
            SurveyInvitation(wave=wave, account_id=a, contact_id=c, email=f"c{c}@example.jp", expires_at=expires)
            for a, c in contacts.items()
        ),
        batch_size=BATCH,
    )
    invitations = list(SurveyInvitation.objects.filter(wave=wave).values_list("id", "account_id", "contact_id"))
    scores = rng.integers(0, 11, len(invitations))
    ago = rng.integers(0, 10, len(invitations))
    SurveyResponse.objects.bulk_create(
        (
            SurveyResponse(
                invitation_id=inv,
                survey=survey,
                account_id=a,
                contact_id=c,
                score=int(s),
                answered_at=_at(today - dt.timedelta(days=int(d)), 9),
            )
            for (inv, a, c), s, d in zip(invitations, scores, ago, strict=True)
        ),
        batch_size=BATCH,
    )


def _segment(ids: list[int], rng: np.random.Generator) -> None:
    from banso.analytics.models import Segment, SegmentMembership

    log("segment memberships")
    today = BENCH_TODAY
    segment = Segment.objects.create(
        name=SOURCE,
        subject_type="account",
        rules={"match": "all", "rules": [{"type": "attribute", "field": "tier", "op": "eq", "value": "low"}]},
    )
    members = rng.choice(len(ids), size=len(ids) // 5, replace=False)
    state = rng.random(len(members))
    ago = rng.integers(0, 7, len(members))
    long_ago = _at(today - dt.timedelta(days=200))
    rows = []
    for i, s, d in zip(members, state, ago, strict=True):
        recent = _at(today - dt.timedelta(days=int(d)))
        if s < 0.05:  # entered in the last week (1 % of all accounts)
            rows.append(SegmentMembership(segment=segment, subject_id=ids[i], entered_at=recent))
        elif s < 0.075:  # left in the last week (0.5 %)
            rows.append(SegmentMembership(segment=segment, subject_id=ids[i], entered_at=long_ago, left_at=recent))
        else:
            rows.append(SegmentMembership(segment=segment, subject_id=ids[i], entered_at=long_ago))
    SegmentMembership.objects.bulk_create(rows, batch_size=BATCH)


def _events(ids: list[int], rng: np.random.Generator) -> None:
    from banso.activity.store import append_events, bulk_loading

    log("inquiry and SLA events")
    n, start = len(ids), _at(BENCH_TODAY - dt.timedelta(days=63), 0)
    base = rng.poisson(0.3 * 9, n)  # nine weeks at about 0.3 a week
    owners = np.repeat(np.arange(n), base)
    offsets = rng.uniform(0, 63 * 86400, len(owners))
    spiking = rng.choice(n, size=max(1, n // 100), replace=False)
    spike_owners = np.repeat(spiking, 4)
    spike_offsets = rng.uniform(57 * 86400, 63 * 86400 - 3600, len(spike_owners))
    breaching = rng.choice(n, size=max(1, n // 200), replace=False)
    breach_offsets = rng.uniform(62 * 86400, 63 * 86400 - 3600, len(breaching))
    owner = np.concatenate([owners, spike_owners, breaching])
    offset = np.concatenate([offsets, spike_offsets, breach_offsets])
    kinds = ["inquiry_opened"] * (len(owners) + len(spike_owners)) + ["sla_breach"] * len(breaching)
    account_ids = np.asarray(ids, dtype=np.int64)[owner]
    when = [start + dt.timedelta(seconds=float(s)) for s in offset]
    frame = pl.DataFrame(
        {
            "source": [SOURCE] * len(owner),
            "external_id": [f"pb-ev-{i}" for i in range(len(owner))],
            "account_id": account_ids,
            "end_user_id": [None] * len(owner),
            "kind": kinds,
            "occurred_at": [w.astimezone(dt.UTC) for w in when],
            "value": [None] * len(owner),
            "properties": ["{}"] * len(owner),
        },
        schema_overrides={"account_id": pl.Int64, "end_user_id": pl.Int64, "value": pl.String},
    )
    with bulk_loading():
        append_events(frame)


# The playbooks: every trigger kind, some with conditions.
PLAYBOOKS: list[tuple[str, str, dict[str, Any], list[dict[str, Any]]]] = [
    ("health red", "health_band", {"to_bands": ["red"]}, []),
    ("risk over 0.5", "risk_threshold", {"threshold": 0.5}, [{"field": "mrr", "op": "gte", "value": 30_000}]),
    ("renewal in 60 days", "renewal_due", {"days": 60}, []),
    ("no touch in 90 days", "no_touch", {"days": 90}, [{"field": "tier", "op": "in", "value": ["high", "low"]}]),
    ("NPS detractor", "survey_detractor", {}, []),
    ("inquiry spike", "inquiry_spike", {}, []),
    ("SLA breach", "sla_breach", {}, [{"field": "tags", "op": "eq", "value": "vip"}]),
    ("contact left", "contact_changed", {}, []),
    ("segment entered", "segment_entered", {"segment_id": 0}, []),
    ("segment left", "segment_left", {"segment_id": 0}, []),
    (
        "trial ends in 7 days",
        "date_reached",
        {"attribute": "trial_end", "offset_days": -7},
        [{"field": "attributes.seats", "op": "gte", "value": 10}],
    ),
]


def _playbooks() -> None:
    from banso.analytics.models import Segment
    from banso.playbooks.models import Playbook

    segment = Segment.objects.get(name=SOURCE)
    for name, trigger, params, conditions in PLAYBOOKS:
        if "segment_id" in params:
            params = {**params, "segment_id": segment.pk}
        Playbook.objects.create(
            name=PREFIX + name, trigger=trigger, trigger_params=params, conditions=conditions, cooldown_days=30
        )
