"""Demo churn: a churn record for every churned demo contract, its reason mapped from the contract's free-text
churn reason onto the taxonomy (sub-reason where one fits), lost MRR = the contract's MRR, recorded by the
account's CSM. Then the churn-risk model's demo part (`banso.churn.risk_demo`), when it is installed.

Records are keyed by contract (one per contract), so a second `banso demo` adds nothing."""

from __future__ import annotations

import importlib
from types import ModuleType

from django.db import transaction

from banso.accounts.choices import ContractStatus
from banso.accounts.models import Contract
from banso.core.demo import DEMO_SOURCE, DemoContext

from . import services
from .models import ChurnReason, ChurnRecord

BATCH = 2000


def _risk_demo() -> ModuleType | None:
    try:
        return importlib.import_module("banso.churn.risk_demo")
    except ModuleNotFoundError as error:
        if error.name != "banso.churn.risk_demo":
            raise
        return None


def build(ctx: DemoContext) -> None:
    services.ensure_default_reasons()
    reasons = {r.code: r for r in ChurnReason.objects.all()}
    churned = (
        Contract.objects.filter(source=DEMO_SOURCE, status=ContractStatus.CHURNED, churn_records__isnull=True)
        .select_related("account")
        .order_by("id")
    )
    rows = []
    for contract in churned.iterator(chunk_size=BATCH):
        reason, sub = services.reason_for_text(contract.churn_reason, reasons)
        assert contract.churned_on is not None
        rows.append(
            ChurnRecord(
                account_id=contract.account_id,
                contract_id=contract.pk,
                churned_on=contract.churned_on,
                reason=reason,
                sub_reason=sub,
                note=contract.churn_reason,
                lost_mrr=contract.mrr,
                recorded_by_id=contract.account.owner_id,
            )
        )
    with transaction.atomic():
        ChurnRecord.objects.bulk_create(rows, batch_size=BATCH)
    ctx.count("churn records", len(rows))
    ctx.progress(f"churn records written: {len(rows):,} new")
    risk = _risk_demo()
    if risk is not None and hasattr(risk, "build"):
        risk.build(ctx)


def reset(ctx: DemoContext) -> None:
    risk = _risk_demo()
    if risk is not None and hasattr(risk, "reset"):
        risk.reset(ctx)
    ChurnRecord.objects.filter(account__source=DEMO_SOURCE).delete()
