"""The renewal pipeline: a Renewal for every contract coming up for renewal (kept in step with the contracts
by a daily sync), its stage as the conversation goes, the month's pipeline with risk and health, and the
forecast of renewed MRR for a month and its quarter."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.accounts.choices import ContractStatus
from banso.accounts.models import Contract
from banso.churn.models import RiskPrediction
from banso.core.calendar import add_months, month_start
from banso.core.choices import AuditAction
from banso.core.models import AuditEntry, User
from banso.core.services import diff, record_change, record_changes_bulk, snapshot
from banso.health.models import HealthSnapshot

from .models import OPEN_STAGES, WON_STAGES, Renewal, RenewalStage

# Renewals are tracked from three months before today (late closes still come in) to six months ahead.
WINDOW_BACK_MONTHS = 3
WINDOW_AHEAD_MONTHS = 6
BATCH = 2000
LIVE = (ContractStatus.ACTIVE, ContractStatus.PENDING)
LOST_CONTRACT = (ContractStatus.CHURNED, ContractStatus.EXPIRED)
AUDITED = ("stage", "renewed_mrr", "closed_on", "note")
# Without a churn prediction and without enough history, an open renewal renews with this probability,
# by how far the conversation has got.
DEFAULT_WIN_PROBABILITY: dict[str, float] = {
    RenewalStage.NOT_CONTACTED: 0.80,
    RenewalStage.CONTACTED: 0.85,
    RenewalStage.APPOINTMENT_SET: 0.90,
    RenewalStage.PROPOSAL: 0.90,
}
# A stage's win rate from history is used once this many renewals that reached it have closed.
MIN_HISTORY = 5
HISTORY_MONTHS = 12


# Sync ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncResult:
    created: int
    closed: int
    repriced: int


def sync(today: dt.date | None = None) -> SyncResult:
    """Bring the pipeline in step with the contracts (idempotent): a Renewal for every contract renewing
    in the window, open renewals closed when their contract renewed (renewed, upgraded or downgraded by the
    next contract's MRR) or churned, and the MRR at stake of open renewals following their contract."""
    today = today or timezone.localdate()
    first, last = add_months(today, -WINDOW_BACK_MONTHS), add_months(today, WINDOW_AHEAD_MONTHS)
    created = _create_missing(first, last)
    closed = _close_decided()
    open_renewals = Renewal.objects.filter(stage__in=OPEN_STAGES).exclude(mrr=F("contract__mrr"))
    repriced = Renewal.objects.filter(pk__in=Subquery(open_renewals.values("pk"))).update(
        mrr=Subquery(Contract.objects.filter(pk=OuterRef("contract_id")).values("mrr")[:1])
    )
    return SyncResult(created, closed, repriced)


def _create_missing(first: dt.date, last: dt.date) -> int:
    contracts = Contract.objects.filter(renewal_date__range=(first, last)).exclude(status=ContractStatus.EXPIRED)
    existing = set(Renewal.objects.filter(renewal_date__range=(first, last)).values_list("contract_id", "renewal_date"))
    now = timezone.now()
    fresh = (
        Renewal(contract_id=pk, account_id=account_id, renewal_date=day, mrr=mrr, updated_at=now)
        for pk, account_id, day, mrr in contracts.values_list("pk", "account_id", "renewal_date", "mrr").iterator()
        if day is not None and (pk, day) not in existing
    )
    created = 0
    for batch in _batches(fresh):
        Renewal.objects.bulk_create(batch, ignore_conflicts=True)
        created += len(batch)
    return created


def _batches(rows: Iterable[Renewal]) -> Iterator[list[Renewal]]:
    batch: list[Renewal] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _close_decided() -> int:
    """Close open renewals whose contract has been decided: churned or expired → churned; renewed (or still
    live with its renewal date moved past this one) → renewed, upgraded or downgraded by the MRR it went on at."""
    decided = (
        Renewal.objects.filter(stage__in=OPEN_STAGES)
        .filter(
            Q(contract__status__in=(*LOST_CONTRACT, ContractStatus.RENEWED))
            | Q(contract__status__in=LIVE, contract__renewal_date__gt=F("renewal_date"))
        )
        .select_related("contract")
    )
    renewals = list(decided)
    if not renewals:
        return 0
    # The contract a renewed one went on as starts on the renewal date (accounts.demo and imports alike).
    successors: dict[tuple[int, dt.date], int] = {}
    for account_id, start, mrr in (
        Contract.objects.filter(
            account_id__in={r.account_id for r in renewals}, start_date__in={r.renewal_date for r in renewals}
        )
        .order_by("id")
        .values_list("account_id", "start_date", "mrr")
    ):
        successors[(account_id, start)] = successors.get((account_id, start), 0) + mrr
    now = timezone.now()
    audits = []
    for renewal in renewals:
        before = snapshot(renewal, AUDITED)
        contract = renewal.contract
        if contract.status in LOST_CONTRACT:
            renewal.stage, renewal.renewed_mrr = RenewalStage.CHURNED, None
            renewal.closed_on = contract.churned_on or contract.end_date or renewal.renewal_date
        else:
            if contract.status in LIVE:
                renewed = contract.mrr
            else:
                renewed = successors.get((renewal.account_id, renewal.renewal_date), renewal.mrr)
            renewal.stage = won_stage(renewal.mrr, renewed)
            renewal.renewed_mrr, renewal.closed_on = renewed, renewal.renewal_date
        renewal.updated_at, renewal.updated_by = now, None
        audits.append(
            AuditEntry(
                actor=None,
                via="sync",
                action=AuditAction.UPDATE,
                object_type=renewal._meta.label_lower,
                object_id=str(renewal.pk),
                object_repr=str(renewal)[:200],
                account_id=renewal.account_id,
                changes=diff(before, snapshot(renewal, AUDITED)),
            )
        )
    with transaction.atomic():
        Renewal.objects.bulk_update(
            renewals, ["stage", "renewed_mrr", "closed_on", "updated_at", "updated_by"], batch_size=BATCH
        )
        record_changes_bulk(audits)
    return len(renewals)


def won_stage(at_stake: int, renewed: int) -> RenewalStage:
    if renewed > at_stake:
        return RenewalStage.UPGRADED
    if renewed < at_stake:
        return RenewalStage.DOWNGRADED
    return RenewalStage.RENEWED


def scheduled_job(now: dt.datetime) -> str | None:
    """The scheduler's question: sync the pipeline once a day, from 05:00 Japan time (after the night's
    imports). The sync is idempotent, so two schedulers that both pass the cache check do no harm."""
    local = timezone.localtime(now)
    if local.time() < dt.time(5, 0):
        return None
    if not cache.add(f"success:renewal-sync:{local.date().isoformat()}", True, timeout=2 * 86400):
        return None
    result = sync(local.date())
    return f"renewals synced for {local.date()}: {result.created} new, {result.closed} closed"


# Stage changes ----------------------------------------------------------------------------------------


def set_stage(
    renewal: Renewal,
    stage: str,
    actor: User | None,
    *,
    renewed_mrr: int | None = None,
    note: str = "",
    via: str = "ui",
) -> Renewal:
    """Move a renewal to `stage` (audited). Renewed takes the MRR at stake unless another is given; upgraded
    and downgraded need the MRR renewed at, above or below it. Refusals name the field."""
    if stage not in RenewalStage.values:
        raise ValidationError({"stage": _("Choose a stage.")})
    if renewed_mrr is not None and (isinstance(renewed_mrr, bool) or not isinstance(renewed_mrr, int)):
        raise ValidationError({"renewed_mrr": _("Enter the MRR as a whole number of yen.")})
    with transaction.atomic():
        locked = Renewal.objects.select_for_update().get(pk=renewal.pk)
        before = snapshot(locked, AUDITED)
        if stage in WON_STAGES:
            renewed = locked.mrr if renewed_mrr is None and stage == RenewalStage.RENEWED else renewed_mrr
            if renewed is None or renewed < 0:
                raise ValidationError({"renewed_mrr": _("Enter the MRR the customer renewed at.")})
            if won_stage(locked.mrr, renewed) != stage:
                raise ValidationError(
                    {
                        "renewed_mrr": _(
                            "This MRR does not fit the stage: above the MRR at stake is an upgrade, below a downgrade."
                        )
                    }
                )
            locked.renewed_mrr = renewed
        else:
            locked.renewed_mrr = None
        if stage in OPEN_STAGES:
            locked.closed_on = None
        elif locked.stage in OPEN_STAGES or locked.closed_on is None:
            locked.closed_on = timezone.localdate()
        locked.stage = stage
        if note.strip():
            locked.note = note.strip()
        locked.updated_at, locked.updated_by = timezone.now(), actor
        locked.save()
        record_change(
            actor=actor,
            obj=locked,
            action=AuditAction.UPDATE,
            before=before,
            after=snapshot(locked, AUDITED),
            account_id=locked.account_id,
            via=via,
        )
    return locked


# The pipeline -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineFilters:
    owner: int | None = None
    stage: str = ""
    tier: str = ""


@dataclass(frozen=True)
class StageSummary:
    stage: str
    label: str
    count: int
    mrr: int


@dataclass(frozen=True)
class Pipeline:
    month: dt.date
    stages: list[StageSummary]
    count: int
    mrr: int
    rows: QuerySet[Renewal]


def _latest_risk() -> Subquery:
    return Subquery(
        RiskPrediction.objects.filter(account_id=OuterRef("account_id"))
        .order_by("-day", "-id")
        .values("probability")[:1]
    )


def _latest_band() -> Subquery:
    return Subquery(
        HealthSnapshot.objects.filter(account_id=OuterRef("account_id")).order_by("-day").values("band")[:1]
    )


def pipeline_rows(month: dt.date, filters: PipelineFilters | None = None) -> QuerySet[Renewal]:
    """The month's renewals, soonest first, with the account, owner, latest churn risk and health band."""
    filters = filters or PipelineFilters()
    first = month_start(month)
    rows = Renewal.objects.filter(renewal_date__gte=first, renewal_date__lt=month_start(first, 1))
    if filters.owner is not None:
        rows = rows.filter(account__owner_id=filters.owner)
    if filters.tier:
        rows = rows.filter(account__tier=filters.tier)
    if filters.stage:
        rows = rows.filter(stage=filters.stage)
    return (
        rows.select_related("account", "account__owner", "contract")
        .annotate(risk=_latest_risk(), health_band=_latest_band())
        .order_by("renewal_date", "id")
    )


def pipeline(month: dt.date, filters: PipelineFilters | None = None) -> Pipeline:
    """The month's pipeline: counts and MRR at stake per stage (every stage, in order) and the rows."""
    rows = pipeline_rows(month, filters)
    totals = {
        r["stage"]: (r["n"], r["mrr"] or 0)
        for r in rows.order_by().values("stage").annotate(n=Count("id"), mrr=Sum("mrr"))
    }
    stages = [StageSummary(s, str(label), *totals.get(s, (0, 0))) for s, label in RenewalStage.choices]
    return Pipeline(month_start(month), stages, sum(s.count for s in stages), sum(s.mrr for s in stages), rows)


def days_to_renewal(renewal: Renewal, today: dt.date | None = None) -> int:
    return (renewal.renewal_date - (today or timezone.localdate())).days


# The forecast -----------------------------------------------------------------------------------------


@dataclass
class Forecast:
    """Renewed MRR for renewals dated in [start, end), in integer yen. Expected: won + each open renewal's
    MRR × its probability of renewing; best case: every open one renews at its MRR; worst: none does."""

    start: dt.date
    end: dt.date
    at_stake: int = 0
    won: int = 0
    lost: int = 0
    open_mrr: int = 0
    expected: int = 0
    best_case: int = 0
    worst_case: int = 0
    open_count: int = 0
    # How many open renewals took their probability from a churn prediction, stage history or the default.
    by_source: dict[str, int] = field(default_factory=lambda: {"risk": 0, "history": 0, "default": 0})


def stage_win_rates(today: dt.date | None = None) -> dict[str, float]:
    """Per open stage, the share of the renewals closed in the last 12 months that reached that stage (or a
    later one) and were won. A stage with fewer than MIN_HISTORY such renewals has no rate. How far a
    renewal got is read from its audited stage changes."""
    today = today or timezone.localdate()
    closed = dict(
        Renewal.objects.filter(closed_on__gt=add_months(today, -HISTORY_MONTHS), closed_on__lte=today)
        .exclude(stage__in=OPEN_STAGES)
        .values_list("pk", "stage")
    )
    if not closed:
        return {}
    order = {s: i for i, s in enumerate(OPEN_STAGES)}
    furthest = dict.fromkeys(closed, 0)
    entries = AuditEntry.objects.filter(
        object_type=Renewal._meta.label_lower, object_id__in=[str(pk) for pk in closed], changes__has_key="stage"
    ).values_list("object_id", "changes")
    for object_id, changes in entries.iterator():
        pk = int(object_id)
        for value in changes["stage"]:
            if value in order:
                furthest[pk] = max(furthest[pk], order[value])
    reached: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for pk, stage in closed.items():
        for s, i in order.items():
            if furthest[pk] >= i:
                reached[s][0] += 1
                reached[s][1] += stage in WON_STAGES
    return {s: won / n for s, (n, won) in reached.items() if n >= MIN_HISTORY}


def forecast(start: dt.date, months: int = 1, today: dt.date | None = None) -> Forecast:
    """The forecast for the `months` months from `start`'s month (1: the month; 3 from a quarter's start:
    the quarter). An open renewal renews with probability 1 − the account's latest churn probability when
    there is a prediction, else its stage's win rate over the last 12 months, else DEFAULT_WIN_PROBABILITY."""
    first = month_start(start)
    end = month_start(first, months)
    result = Forecast(first, end)
    rows = (
        Renewal.objects.filter(renewal_date__gte=first, renewal_date__lt=end)
        .annotate(risk=_latest_risk())
        .values_list("stage", "mrr", "renewed_mrr", "risk")
    )
    rates = stage_win_rates(today)
    expected_open = 0.0
    for stage, mrr, renewed_mrr, risk in rows.iterator():
        result.at_stake += mrr
        if stage in WON_STAGES:
            result.won += renewed_mrr if renewed_mrr is not None else mrr
        elif stage == RenewalStage.CHURNED:
            result.lost += mrr
        else:
            result.open_count += 1
            result.open_mrr += mrr
            if risk is not None:
                probability, source = 1.0 - risk, "risk"
            elif stage in rates:
                probability, source = rates[stage], "history"
            else:
                probability, source = DEFAULT_WIN_PROBABILITY[stage], "default"
            result.by_source[source] += 1
            expected_open += mrr * probability
    result.expected = result.won + round(expected_open)
    result.best_case = result.won + result.open_mrr
    result.worst_case = result.won
    return result


def quarter_start(month: dt.date) -> dt.date:
    """The first month of the calendar quarter holding `month` (Jan, Apr, Jul, Oct: the Japanese fiscal
    year's quarters too)."""
    return dt.date(month.year, (month.month - 1) // 3 * 3 + 1, 1)


def forecasts(month: dt.date, today: dt.date | None = None) -> tuple[Forecast, Forecast]:
    """The month's forecast and its quarter's."""
    return forecast(month, 1, today), forecast(quarter_start(month), 3, today)


def open_renewal(account_id: int) -> Renewal | None:
    """The account's soonest open renewal (for its Account 360 card)."""
    return Renewal.objects.filter(account_id=account_id, stage__in=OPEN_STAGES).order_by("renewal_date").first()
