"""Demo health: the surveys' demo (NPS answers) first, then three scorecards a CS-Ops team would keep
(high touch by tier, tech touch by tier, a default card) and scores backfilled so trends show: every week
for the last 12 weeks and every day of the last 7 (each day is a full rescore as of that day).

Cards use usage metrics, open inquiries, days to renewal, the latest NPS answer (`survey:` source) and the
churn risk (`churn:` source) when those sources are registered. A second `banso demo` adds nothing.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from django.db import transaction

from banso.accounts.models import Account
from banso.core.demo import DEMO_SOURCE, DemoContext

from . import measures, services
from .models import HealthRun, HealthSnapshot, Scorecard

SURVEYS_DEMO = "banso.health.surveys_demo"
WEEKS, DAILY_DAYS = 12, 7


def _surveys_demo() -> ModuleType | None:
    if importlib.util.find_spec(SURVEYS_DEMO) is None:
        return None
    return importlib.import_module(SURVEYS_DEMO)


def _range(key: str, weight: float, bad: float, good: float) -> dict[str, Any]:
    return {"key": key, "weight": weight, "mapping": {"type": "range", "bad": bad, "good": good}}


def _steps(key: str, weight: float, steps: Sequence[tuple[float, float]], otherwise: float) -> dict[str, Any]:
    mapping = {"type": "thresholds", "steps": [{"min": m, "points": p} for m, p in steps], "otherwise": otherwise}
    return {"key": key, "weight": weight, "mapping": mapping}


OPEN_INQUIRIES = [(3, 10), (1, 60)]  # ≥ 3 open → 10 points, ≥ 1 → 60, none → 100
RENEWAL = [(90, 100), (30, 60)]  # ≥ 90 days → 100, ≥ 30 → 60, sooner → 30


def cards() -> list[dict[str, Any]]:
    """The demo cards; measures from sources that are not registered are left out."""
    available = measures.sources()
    nps = [_range("survey:nps_latest", 20, 3, 9)] if "survey" in available else []
    risk = [_range("churn:risk", 15, 60, 5)] if "churn" in available else []
    return [
        {
            "name": "高タッチ顧客",
            "description": "担当CSMが毎月接点を持つ顧客。利用、問い合わせ、NPS、更新までの期間、解約リスクで見る。",
            "tier": "high",
            "priority": 10,
            "definition": {
                "measures": [
                    _range("metric:logins_30d", 25, 0, 30),
                    _range("metric:usage_trend_30d", 15, -50, 10),
                    _steps("inquiries:open", 15, OPEN_INQUIRIES, 100),
                    *nps,
                    _steps("contract:days_to_renewal", 10, RENEWAL, 30),
                    *risk,
                ],
                "bands": {"red_below": 45, "green_from": 75},
            },
        },
        {
            "name": "テックタッチ顧客",
            "description": "メールとヘルプで支援する顧客。利用が続いているかを中心に見る。",
            "tier": "tech",
            "priority": 20,
            "definition": {
                "measures": [
                    _range("metric:days_since_usage", 40, 30, 0),
                    _range("metric:logins_30d", 30, 0, 10),
                    _steps("inquiries:open", 15, OPEN_INQUIRIES, 100),
                    *risk,
                ],
                "bands": {"red_below": 40, "green_from": 70},
            },
        },
        {
            "name": "標準カード",
            "description": "他のカードが当てはまらない顧客に使う標準のスコアカード。",
            "tier": "",
            "priority": 100,
            "definition": {
                "measures": [
                    _range("metric:logins_30d", 30, 0, 20),
                    _range("metric:days_since_login", 15, 30, 0),
                    _steps("inquiries:open", 20, OPEN_INQUIRIES, 100),
                    *nps,
                    *risk,
                ],
                "bands": {"red_below": 40, "green_from": 70},
            },
        },
    ]


def backfill_days(today: dt.date) -> list[dt.date]:
    """Weekly for WEEKS weeks, then daily for the last DAILY_DAYS days, oldest first."""
    days = {today - dt.timedelta(days=7 * w) for w in range(WEEKS + 1)}
    days |= {today - dt.timedelta(days=d) for d in range(DAILY_DAYS)}
    return sorted(days)


def _demo_snapshots() -> Any:
    return HealthSnapshot.objects.filter(account__source=DEMO_SOURCE)


def build(ctx: DemoContext) -> None:
    surveys = _surveys_demo()
    if surveys is not None:
        surveys.build(ctx)
    added = 0
    with transaction.atomic():
        existing = set(Scorecard.objects.values_list("name", flat=True))
        for card in cards():
            if card["name"] not in existing:
                services.save_scorecard(None, note="デモ", **card)
                added += 1
    ctx.count("scorecards", added)
    if not Account.objects.filter(source=DEMO_SOURCE).exists() or _demo_snapshots().exists():
        ctx.progress(f"health: {added} scorecards added; scores already computed")
        return
    days = backfill_days(ctx.today)
    written = 0
    for day in days:
        run = services.rescore(day)
        written += run.accounts_scored
    ctx.count("health snapshots", written)
    ctx.progress(f"health: {added} scorecards, {written:,} scores over {len(days)} days")


def reset(ctx: DemoContext) -> None:
    """Remove the demo cards with their scores, and the scores of the demo accounts (about to be deleted)."""
    with transaction.atomic():
        names = [card["name"] for card in cards()]
        _demo_snapshots().delete()
        HealthSnapshot.objects.filter(scorecard__name__in=names, scorecard__created_by=None).delete()
        Scorecard.objects.filter(name__in=names, created_by=None).delete()
        HealthRun.objects.filter(triggered_by=None, scheduled=False).delete()
    surveys = _surveys_demo()
    if surveys is not None and hasattr(surveys, "reset"):
        surveys.reset(ctx)
