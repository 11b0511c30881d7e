"""Demo part of the churn-risk model: a version trained on the demo's three years of history and today's
predictions, so the model page, the accounts-by-risk list and the Account 360 card have something to show.
Called by `banso.churn.demo` after the churn records; a re-run adds nothing."""

from __future__ import annotations

from banso.core.demo import DemoContext

from . import risk
from .models import RiskModel, RiskPrediction, RiskRun, RiskRunKind, RiskRunStatus


def build(ctx: DemoContext) -> None:
    today = ctx.today
    model = RiskModel.objects.filter(as_of=today).order_by("-created_at").first()
    if model is None:
        run = risk.run_now(RiskRunKind.TRAIN, today, echo=None)
        if run.status != RiskRunStatus.SUCCEEDED or run.model is None:
            ctx.progress(f"churn risk: not trained ({run.error})")
            return
        model = run.model
        ctx.count("risk models", 1)
        ctx.progress(f"churn risk: model #{model.pk} trained, ROC AUC {model.metrics['roc_auc']:.3f}")
    if not RiskPrediction.objects.filter(day=today, model=model).exists():
        run = risk.run_now(RiskRunKind.PREDICT, today, echo=None)
        ctx.count("risk predictions", run.rows)
        ctx.progress(f"churn risk: {run.rows:,} accounts predicted")


def reset(ctx: DemoContext) -> None:
    """Remove every trained version with its predictions, and the runs."""
    RiskRun.objects.all().delete()
    RiskModel.objects.all().delete()
