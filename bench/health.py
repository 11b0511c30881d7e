"""`banso bench health`: rescoring every scorecard plus churn-risk prediction, and training the risk model.

Issue (health and churn): 100,000 accounts, 50,000,000 events: rescoring all scorecards plus risk prediction
in under 90 s; training the risk model on 3 years of history in under 5 min; peak memory under 6 GiB.

Data: the seeded demo workspace at that size (`--scale` shrinks both), records and events only (the core,
accounts and activity demo builders: users, Japanese companies with contacts and three years of contracts,
and daily usage, inquiries and NPS answers whose hidden risk factor drives churn), built once into the
benchmark database and reused. Without `--database` it runs on PostgreSQL (database banso_bench_health).
The engine reads the Parquet copy of the events under bench/.cache/health-lake-<database>, synced
incrementally (`lake_sync_seconds`, not part of the figures).

Timed, each in its own child process (so each reports its own peak RSS):
- `train`: `churn.risk.train(as_of)` — features for every month of the history, the model, calibration,
  quality figures — stored as a new model version. Reported: `train_seconds`, the model's ROC AUC.
- `rescore`: `churn.risk.predict(as_of)` for every account, then `health.services.rescore(as_of)` for every
  active scorecard (the demo workspace's three cards: high touch, tech touch and the default card, five or
  six measures each — engine metrics, open inquiries, days to renewal, the latest NPS, and the churn risk,
  so the prediction feeds the scores). `rescore_seconds` = both; medians when a run is under 10 s.
`peak_rss_mib` is the largest of the children.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from typing import Any
from urllib.parse import urlsplit

from _data import BENCH_TODAY, default_postgres, ensure_demo, log, prepare_database
from _lake import CACHE, ChildResult, child_main, median, run_child

FULL_ACCOUNTS = 100_000
FULL_EVENTS = 50_000_000
# The demo generator lands under its event target at this size (45.0M events for a 50M target, 49.1M for
# 56M, measured: ramp-ups, declines and churned accounts' shorter lives), so it is asked for more; data
# within 2 % under the size is reused rather than rebuilt (35 minutes), and the exact count is reported.
EVENT_TARGET_FACTOR = 1.14
REUSE_SHARE = 0.98
BASE_APPS = ("core", "accounts", "activity")
AS_OF = BENCH_TODAY


def sizes(scale: float) -> tuple[int, int]:
    return max(200, round(FULL_ACCOUNTS * scale)), max(50_000, round(FULL_EVENTS * scale))


def _lake_dir() -> str:
    name = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/") or "sqlite"
    return str(CACHE / f"health-lake-{name}")


def run(scale: float = 1.0) -> dict[str, Any]:
    figures = default_postgres("health", scale, database="banso_bench_health")
    if figures is not None:
        return figures
    vendor = prepare_database()
    accounts, events = sizes(scale)
    data = ensure_demo(
        accounts, round(events * EVENT_TARGET_FACTOR), only=BASE_APPS, min_events=round(events * REUSE_SHARE)
    )
    os.environ["BANSO_EVENT_LAKE_DIR"] = _lake_dir()  # the children read the same copy

    log("syncing the Parquet copy of the events")
    sync = run_child(__file__, "banso_sync", {})
    log(f"synced in {sync.wall_seconds:.1f} s")

    log("training the churn-risk model")
    train = run_child(__file__, "banso_train", {"as_of": AS_OF.isoformat()})
    log(f"trained in {train.figures['seconds']:.1f} s: {train.figures}")

    rescores = []
    for repetition in range(3):
        result = run_child(__file__, "banso_rescore", {"as_of": AS_OF.isoformat()})
        log(f"rescore {repetition + 1}: {result.figures}")
        rescores.append(result)
        if result.figures["seconds"] >= 10:
            break
    seconds = [r.figures["seconds"] for r in rescores]
    middle = sorted(rescores, key=lambda r: r.figures["seconds"])[len(rescores) // 2]
    return {
        "accounts": data["accounts"],
        "events": data["events"],
        "database": vendor,
        "rescore_seconds": round(median(seconds), 2),
        "rescore_runs": [round(s, 2) for s in seconds],
        "predict_seconds": middle.figures["predict_seconds"],
        "score_seconds": middle.figures["score_seconds"],
        "scores_written": middle.figures["scores"],
        "predictions_written": middle.figures["predictions"],
        "train_seconds": round(train.figures["seconds"], 2),
        "train_rows": train.figures.get("rows"),
        "model_roc_auc": train.figures.get("roc_auc"),
        "model_precision_top_decile": train.figures.get("precision_top_decile"),
        "peak_rss_mib": round(max(_peak(train), *(_peak(r) for r in rescores)), 1),
        "train_peak_rss_mib": round(_peak(train), 1),
        "rescore_peak_rss_mib": round(max(_peak(r) for r in rescores), 1),
        "lake_sync_seconds": round(sync.wall_seconds, 1),
        "data_build_seconds": round(data["build_seconds"], 1),
        "other_cpu_share_during_banso": max([train.other_cpu_share, *(r.other_cpu_share for r in rescores)]),
    }


def _peak(result: ChildResult) -> float:
    """The larger of the parent's sampling (every 50 ms) and the child's own ru_maxrss."""
    return max(result.peak_rss_mib, float(result.figures.get("child_peak_rss_mib", 0.0)))


# ------------------------------------------------------------------------------------------ children


def _sync(args: dict[str, Any]) -> dict[str, Any]:
    from banso.activity import lake

    copied = lake.sync()
    lake.compact()
    return {"copied": copied}


def _train(args: dict[str, Any]) -> dict[str, Any]:
    from banso.churn import risk

    as_of = dt.date.fromisoformat(args["as_of"])
    started = time.perf_counter()
    model = risk.train(as_of, echo=log)
    seconds = time.perf_counter() - started
    metrics = model.metrics or {}
    return {
        "seconds": seconds,
        "rows": metrics.get("rows") or metrics.get("train_rows"),
        "roc_auc": metrics.get("roc_auc"),
        "precision_top_decile": metrics.get("precision_top_decile"),
    }


def _rescore(args: dict[str, Any]) -> dict[str, Any]:
    from banso.churn import risk
    from banso.health import services
    from banso.health.models import HealthSnapshot

    as_of = dt.date.fromisoformat(args["as_of"])
    ensure_bench_scorecards()
    started = time.perf_counter()
    predictions = risk.predict(as_of)
    predicted = time.perf_counter()
    services.rescore(as_of)
    finished = time.perf_counter()
    return {
        "seconds": finished - started,
        "predict_seconds": round(predicted - started, 2),
        "score_seconds": round(finished - predicted, 2),
        "predictions": predictions,
        "scores": HealthSnapshot.objects.filter(day=as_of).count(),
    }


def ensure_bench_scorecards() -> None:
    """The demo workspace's three cards (high touch, tech touch, the default card), created once."""
    from banso.health import demo, services
    from banso.health.models import Scorecard

    existing = set(Scorecard.objects.values_list("name", flat=True))
    for card in demo.cards():
        if card["name"] not in existing:
            services.save_scorecard(None, note="bench", **card)


if __name__ == "__main__":
    child_main(sys.argv[1:], {"banso_sync": _sync, "banso_train": _train, "banso_rescore": _rescore})
