"""Demo analytics: one custom metric, three segments a CS-Ops team would keep, and a first recompute so the
pages, the Account 360 and the segments show values as soon as the demo is up.

The recompute runs only when the demo accounts have no metric values yet (a first build, or after
`--reset`); a second `banso demo` adds nothing.
"""

from __future__ import annotations

import datetime as dt
import shutil
from typing import Any

from django.db import transaction

from banso.accounts.models import Account
from banso.activity import lake
from banso.core.demo import DEMO_SOURCE, DemoContext

from . import services
from .models import MetricDefinition, MetricValue, Segment

CUSTOM_METRIC: dict[str, Any] = {
    "key": "report_exports_7d",
    "label": "レポート出力（直近7日）",
    "description": "週次の定例報告に使われているかを見る指標。",
    "spec": {"aggregate": "count", "kinds": ["report_export"], "window": {"days": 7}},
}


def segments(today: dt.date) -> list[dict[str, Any]]:
    not_churned = {"type": "attribute", "field": "lifecycle_stage", "op": "ne", "value": "churned"}
    return [
        {
            "name": "1週間以上ログインのない高タッチ顧客",
            "description": "毎日使われているはずの高タッチ顧客。担当CSMから連絡し、利用状況を確認する。",
            "rules": {
                "match": "all",
                "rules": [
                    {"type": "attribute", "field": "tier", "op": "eq", "value": "high"},
                    {"type": "metric", "metric": "days_since_login", "op": "gte", "value": 7},
                    not_churned,
                ],
            },
        },
        {
            "name": "利用が3割以上減った顧客",
            "description": "直近30日の利用がその前の30日より30%以上少ない。テックタッチの案内対象。",
            "rules": {
                "match": "all",
                "rules": [{"type": "metric", "metric": "usage_trend_30d", "op": "lte", "value": -30}, not_churned],
            },
        },
        {
            "name": "90日以内に更新を迎え問い合わせの多い顧客",
            "description": "更新前に課題を解消しておく。",
            "rules": {
                "match": "all",
                "rules": [
                    {
                        "type": "attribute",
                        "field": "next_renewal_date",
                        "op": "between",
                        "value": [today.isoformat(), (today + dt.timedelta(days=90)).isoformat()],
                    },
                    {"type": "metric", "metric": "inquiries_90d", "op": "gte", "value": 3},
                ],
            },
        },
    ]


def _demo_values() -> Any:
    return MetricValue.objects.filter(
        subject_type="account", subject_id__in=Account.objects.filter(source=DEMO_SOURCE).values("pk")
    )


def build(ctx: DemoContext) -> None:
    with transaction.atomic():
        if not MetricDefinition.objects.filter(key=CUSTOM_METRIC["key"]).exists():
            services.save_custom_metric(None, **CUSTOM_METRIC)
        existing = set(Segment.objects.values_list("name", flat=True))
        added = 0
        for segment in segments(ctx.today):
            if segment["name"] not in existing:
                services.save_segment(None, **segment)
                added += 1
    ctx.count("segments", added)
    if not Account.objects.filter(source=DEMO_SOURCE).exists() or _demo_values().exists():
        ctx.progress(f"analytics: {added} segments added; values already computed")
        return
    run = services.recompute_now(ctx.today, echo=lambda line: ctx.progress(f"analytics: {line.strip()}"))
    ctx.count("metric values", run.values_written)
    ctx.progress(f"analytics: {run.values_written:,} metric values, {run.segments_refreshed} segments refreshed")


def reset(ctx: DemoContext) -> None:
    """Remove the demo's metric, segments and the values of the demo accounts (about to be deleted).

    The Parquet copy of the events is removed too: the demo events are deleted and rebuilt under new ids,
    and the copy only ever adds. The next recompute copies every event still in the database afresh."""
    with transaction.atomic():
        Segment.objects.filter(name__in=[s["name"] for s in segments(ctx.today)], created_by=None).delete()
        MetricDefinition.objects.filter(key=CUSTOM_METRIC["key"]).delete()
        _demo_values().delete()
    shutil.rmtree(lake.lake_dir(), ignore_errors=True)
