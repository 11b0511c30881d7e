"""Coverage plans: generating a month's plan from the accounts' renewals, health, risk and touches, a
manager's adjustments (move, reassign, add, remove), locking, and the background and scheduled runs that
generate it. The arithmetic is in `planning`; this module reads its inputs and writes its results."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.accounts.choices import ContractStatus, LifecycleStage
from banso.accounts.models import Account, Contract
from banso.churn import risk as churn_risk
from banso.churn.models import RiskPrediction
from banso.core import arrowdb
from banso.core.calendar import business_days_between, is_business_day, month_start
from banso.core.choices import AuditAction, Role
from banso.core.models import AuditEntry, RunStatus, User
from banso.core.services import record_change, record_changes_bulk, snapshot
from banso.health.models import HealthSnapshot

from . import planning
from .models import CoveragePlan, CoverageTarget, PlanRun, SuccessSettings, TargetReason
from .services import last_touches

Echo = Callable[[str], None]
# How far back "changed" looks: the band now against the band about this many days earlier.
CHANGE_WINDOW_DAYS = 30
# The lead time may reach back before the month: business days are read from this many days earlier.
LEAD_LOOKBACK_DAYS = 120
TARGET_AUDITED = ("assignee", "planned_on")


class PlanError(ValueError):
    """A change the plan refuses (locked, a day outside the month, not a CSM); the message says why."""


# Reading the inputs -----------------------------------------------------------------------------------


def _frame(queryset: QuerySet[Any], schema: dict[str, Any]) -> pl.DataFrame:
    """A values_list queryset as a frame; on PostgreSQL read as Arrow over ADBC (100,000 rows in tens of
    milliseconds instead of Django's per-row conversion), elsewhere through Django."""
    reader = None if connection.in_atomic_block else arrowdb.connect()
    if reader is None:
        return pl.DataFrame(list(queryset), schema=schema, orient="row")
    sql, params = queryset.query.sql_with_params()
    sql = sql.replace("%s", "{}").format(*arrowdb.marks(len(params)))
    try:
        with reader.cursor() as cursor:
            cursor.execute(sql, list(params))
            fetched = pl.from_arrow(cursor.fetch_arrow_table())
    finally:
        reader.close()
    assert isinstance(fetched, pl.DataFrame)
    fetched.columns = list(schema)
    return fetched.cast(schema)  # type: ignore[arg-type]


def _two_days(
    latest: dt.date | None, earlier: Callable[[dt.date], dt.date | None]
) -> tuple[dt.date | None, dt.date | None]:
    if latest is None:
        return None, None
    return latest, earlier(latest - dt.timedelta(days=CHANGE_WINDOW_DAYS))


def health_bands(as_of: dt.date) -> pl.DataFrame:
    """account_id, band (the latest snapshot on or before `as_of`), band_before (about 30 days earlier)."""
    schema = {"account_id": pl.Int64, "band": pl.String}

    def latest_on(day: dt.date) -> dt.date | None:
        found: dt.date | None = HealthSnapshot.objects.filter(day__lte=day).aggregate(d=Max("day"))["d"]
        return found

    now, before = _two_days(latest_on(as_of), latest_on)
    if now is None:
        return pl.DataFrame(schema={**schema, "band_before": pl.String})
    current = _frame(HealthSnapshot.objects.filter(day=now).values_list("account_id", "band"), schema)
    if before is None:
        return current.with_columns(pl.lit(None, pl.String).alias("band_before"))
    earlier = _frame(HealthSnapshot.objects.filter(day=before).values_list("account_id", "band"), schema)
    return current.join(earlier.rename({"band": "band_before"}), on="account_id", how="left")


def risk_probabilities(as_of: dt.date) -> pl.DataFrame:
    """account_id, probability (the latest prediction on or before `as_of`), probability_before (~30 days
    earlier), each by the newest model that predicted that day."""
    schema = {"account_id": pl.Int64, "probability": pl.Float64}
    now, before = _two_days(churn_risk.latest_day(as_of), churn_risk.latest_day)
    if now is None:
        return pl.DataFrame(schema={**schema, "probability_before": pl.Float64})

    def read(day: dt.date) -> pl.DataFrame:
        predictions: QuerySet[RiskPrediction] = churn_risk.predictions_on(day)
        return _frame(predictions.values_list("account_id", "probability"), schema)

    current = read(now)
    if before is None:
        return current.with_columns(pl.lit(None, pl.Float64).alias("probability_before"))
    return current.join(read(before).rename({"probability": "probability_before"}), on="account_id", how="left")


@dataclass
class Inputs:
    accounts: pl.DataFrame
    renewals: pl.DataFrame
    next_renewals: pl.DataFrame
    health: pl.DataFrame
    risk: pl.DataFrame
    last_touch: pl.DataFrame


def gather(month: dt.date, as_of: dt.date) -> Inputs:
    """Everything a month's plan is computed from, read in bulk: live accounts (owner, tier, MRR), active
    contracts' renewal dates, health bands and churn risk on two days, and each account's last touch."""
    accounts = _frame(
        Account.objects.exclude(lifecycle_stage=LifecycleStage.CHURNED).values_list("id", "owner_id", "tier", "mrr"),
        {"account_id": pl.Int64, "owner_id": pl.Int64, "tier": pl.String, "mrr": pl.Int64},
    )
    active = Contract.objects.filter(status=ContractStatus.ACTIVE, renewal_date__gte=month)
    dates = _frame(active.values_list("account_id", "renewal_date"), {"account_id": pl.Int64, "renewal_date": pl.Date})
    end = month_start(month, 1)
    renewals = dates.filter(pl.col("renewal_date") < end)
    next_renewals = dates.group_by("account_id").agg(pl.col("renewal_date").min())
    touches = last_touches(before=_midnight(month))
    last_touch = pl.DataFrame(
        {"account_id": list(touches), "last": [timezone.localdate(t) for t in touches.values()]},
        schema={"account_id": pl.Int64, "last": pl.Date},
    )
    return Inputs(accounts, renewals, next_renewals, health_bands(as_of), risk_probabilities(as_of), last_touch)


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def active_csms() -> dict[int, int]:
    """Each active CSM's id and monthly capacity (accounts)."""
    return dict(User.objects.filter(is_active=True, role=Role.CSM).order_by("id").values_list("id", "capacity"))


def weights(settings: SuccessSettings) -> planning.Weights:
    return planning.Weights(settings.weight_mrr, settings.weight_risk, settings.weight_renewal)


# Generating -------------------------------------------------------------------------------------------

TARGET_COLUMNS = (
    "plan_id", "account_id", "reason", "reasons", "priority", "assignee_id", "planned_on", "mrr", "renewal_date",
    "risk", "health_band", "adjusted",
)  # fmt: skip


def compute(
    month: dt.date, inputs: Inputs, settings: SuccessSettings, kept: pl.DataFrame
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The new targets (without the kept ones) and the rules they were made with. `kept`: account_id,
    assignee_id, planned_on of the targets a regeneration keeps."""
    csms = active_csms()
    if not csms:
        raise PlanError(_("There is no active CSM to assign the plan to: give at least one active user the CSM role."))
    candidates = planning.select_candidates(
        month,
        inputs.accounts,
        inputs.renewals,
        inputs.health,
        inputs.risk,
        inputs.last_touch,
        settings.untouched_days(),
    ).join(kept.select("account_id"), on="account_id", how="anti")
    candidates = candidates.drop("renewal_date").join(
        inputs.next_renewals, on="account_id", how="left"
    )  # the next renewal (in the month for renewals): it explains the priority
    breakpoints = planning.mrr_breakpoints(inputs.accounts["mrr"].to_numpy())
    rules = {
        "weights": {"mrr": settings.weight_mrr, "risk": settings.weight_risk, "renewal": settings.weight_renewal},
        "untouched_days": settings.untouched_days(),
        "lead_business_days": settings.lead_business_days,
        "mrr_breakpoints": breakpoints,
        "renewal_horizon_days": planning.RENEWAL_HORIZON_DAYS,
    }
    priority = planning.priorities(
        candidates["mrr"].to_numpy(),
        candidates["risk"].to_numpy(),
        planning.days_to_renewal(candidates["renewal_date"], month),
        breakpoints,
        weights(settings),
    )
    kept_here = kept.filter(pl.col("assignee_id").is_in(list(csms)))
    load = Counter(kept_here["assignee_id"].to_list())
    assignees = planning.assign(candidates["owner_id"].to_list(), priority, csms, load)
    occupied: dict[int, dict[dt.date, int]] = defaultdict(dict)
    for (csm, day), n in Counter(zip(kept_here["assignee_id"], kept_here["planned_on"], strict=True)).items():
        if day is not None:
            occupied[csm][day] = n
    days = business_days_between(
        month - dt.timedelta(days=LEAD_LOOKBACK_DAYS), month_start(month, 1) - dt.timedelta(days=1)
    )
    planned = planning.schedule(
        assignees,
        priority,
        candidates["renewal_date"],
        days,
        month,
        settings.lead_business_days,
        occupied,
    )
    targets = candidates.with_columns(
        pl.Series("priority", priority, dtype=pl.Float64),
        pl.Series("assignee_id", assignees, dtype=pl.Int64),
        pl.Series("planned_on", planned, dtype=pl.Date),
        pl.col("health_band").fill_null(""),
        pl.lit(False).alias("adjusted"),
    )
    return targets, rules


def generate(
    month: dt.date,
    actor: User | None = None,
    echo: Echo | None = None,
    run: PlanRun | None = None,
    as_of: dt.date | None = None,
) -> CoveragePlan:
    """Make (or remake) the month's plan in one transaction. A regeneration keeps the targets added or
    adjusted by hand and replaces the rest; a locked plan refuses."""
    month = month_start(month)
    as_of = as_of or timezone.localdate()

    def step(percent: int, text: str, **counts: int) -> None:
        if run is not None:
            run.progress(percent, text, **counts)
        if echo:
            echo(f"{percent:3d}% {text}")

    existing = CoveragePlan.objects.filter(month=month).first()
    if existing is not None and existing.locked:
        raise PlanError(_("The plan for %(month)s is locked; unlock it to regenerate.") % {"month": f"{month:%Y-%m}"})
    settings = SuccessSettings.current()
    step(5, _("Reading accounts, renewals, health, risk and touches"))
    inputs = gather(month, as_of)
    kept = _kept(existing)
    step(
        40, _("Choosing, prioritising, assigning and scheduling %(n)s accounts") % {"n": f"{inputs.accounts.height:,}"}
    )
    targets, rules = compute(month, inputs, settings, kept)
    step(70, _("Writing %(n)s targets") % {"n": f"{targets.height:,}"})
    with transaction.atomic():
        plan, created = CoveragePlan.objects.select_for_update().get_or_create(month=month)
        if plan.locked:
            raise PlanError(
                _("The plan for %(month)s is locked; unlock it to regenerate.") % {"month": f"{month:%Y-%m}"}
            )
        before = plan.targets.count()
        plan.targets.filter(adjusted=False).exclude(reason=TargetReason.MANUAL).delete()
        _insert_targets(plan, targets)
        plan.generated_at = timezone.now()
        plan.rules = rules
        plan.save(update_fields=["generated_at", "rules"])
        after = plan.targets.count()
        record_change(
            actor=actor,
            obj=plan,
            action=AuditAction.CREATE if created else AuditAction.UPDATE,
            before=None if created else {"targets": before, "generated": True},
            after={"targets": after, "generated": plan.generated_at.isoformat(), "kept": kept.height},
            account_id=None,
        )
    step(100, _("Done"), targets=after)
    if run is not None:
        run.plan = plan
    return plan


def _kept(plan: CoveragePlan | None) -> pl.DataFrame:
    schema = {"account_id": pl.Int64, "assignee_id": pl.Int64, "planned_on": pl.Date}
    if plan is None:
        return pl.DataFrame(schema=schema)
    rows = plan.targets.filter(Q(adjusted=True) | Q(reason=TargetReason.MANUAL)).values_list(
        "account_id", "assignee_id", "planned_on"
    )
    return pl.DataFrame(list(rows), schema=schema, orient="row")


def _insert_targets(plan: CoveragePlan, targets: pl.DataFrame) -> None:
    """Write the targets in bulk inside the caller's transaction (COPY on PostgreSQL)."""
    rows = targets.select(
        pl.lit(plan.pk, pl.Int64).alias("plan_id"),
        "account_id",
        "reason",
        # Reasons are plain identifiers: their JSON array is written directly, not row by row.
        (pl.lit('["') + pl.col("reasons").list.join('", "') + pl.lit('"]')).alias("reasons"),
        "priority",
        "assignee_id",
        pl.col("planned_on").cast(pl.String),
        "mrr",
        pl.col("renewal_date").cast(pl.String),
        "risk",
        "health_band",
        "adjusted",
    )
    arrowdb.insert_frame(CoverageTarget._meta.db_table, rows, TARGET_COLUMNS)


# A manager's changes ----------------------------------------------------------------------------------


def _editable(plan: CoveragePlan) -> None:
    if plan.locked:
        raise PlanError(
            _("The plan for %(month)s is locked; unlock it to change it.") % {"month": f"{plan.month:%Y-%m}"}
        )


def _locked_plan(plan: CoveragePlan) -> CoveragePlan:
    """The plan row locked for this transaction, refusing when the plan is locked (against a lock that lands
    between reading the page and posting the change)."""
    fresh = CoveragePlan.objects.select_for_update().get(pk=plan.pk)
    _editable(fresh)
    return fresh


def check_day(plan: CoveragePlan, day: dt.date) -> None:
    if month_start(day) != plan.month:
        raise PlanError(
            _("planned_on: %(day)s is outside the plan's month %(month)s.")
            % {"day": day, "month": f"{plan.month:%Y-%m}"}
        )
    if not is_business_day(day):
        raise PlanError(_("planned_on: %(day)s is not a business day.") % {"day": day})


def check_assignee(user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None or not user.is_active or user.role != Role.CSM:
        raise PlanError(_("assignee: only an active CSM can be assigned."))
    return user


def _audit(
    target: CoverageTarget, actor: User | None, action: AuditAction, before: dict[str, Any] | None, via: str
) -> AuditEntry:
    after = None if action == AuditAction.DELETE else snapshot(target, TARGET_AUDITED)
    changes = {
        k: [(before or {}).get(k), (after or {}).get(k)]
        for k in TARGET_AUDITED
        if (before or {}).get(k) != (after or {}).get(k)
    }
    return AuditEntry(
        actor=actor if actor and actor.is_authenticated else None,
        via=via,
        action=action,
        object_type=CoverageTarget._meta.label_lower,
        object_id=str(target.pk),
        object_repr=str(target)[:200],
        account_id=target.account_id,
        changes=changes,
    )


def add_target(plan: CoveragePlan, account: Account, actor: User | None, *, via: str = "ui") -> CoverageTarget:
    """Put an account on the plan by hand, with its owner (or the least loaded CSM) on the least busy day."""
    with transaction.atomic():
        plan = _locked_plan(plan)
        if plan.targets.filter(account=account).exists():
            raise PlanError(_("account: %(name)s is already on this plan.") % {"name": account.name})
        csms = active_csms()
        if not csms:
            raise PlanError(
                _("There is no active CSM to assign the plan to: give at least one active user the CSM role.")
            )
        loads = Counter(
            dict(
                plan.targets.filter(assignee_id__in=list(csms))
                .values_list("assignee_id")
                .annotate(n=Count("id"))
                .values_list("assignee_id", "n")
            )
        )
        assignee = int(planning.assign([account.owner_id], [100.0], csms, loads)[0])
        days = business_days_between(plan.month, month_start(plan.month, 1) - dt.timedelta(days=1))
        busy = Counter(plan.targets.filter(assignee_id=assignee).values_list("planned_on", flat=True))
        day = min(days, key=lambda d: (busy.get(d, 0), d)) if days else None
        risk = churn_risk.account_risk(account.pk)
        health = (
            HealthSnapshot.objects.filter(account_id=account.pk).order_by("-day").values_list("band", flat=True).first()
        )
        target = CoverageTarget.objects.create(
            plan=plan,
            account=account,
            reason=TargetReason.MANUAL,
            reasons=[TargetReason.MANUAL.value],
            priority=0.0,
            assignee_id=assignee,
            planned_on=day,
            mrr=account.mrr,
            renewal_date=account.next_renewal_date,
            risk=risk.probability if risk else None,
            health_band=health or "",
        )
        target.priority = explain(target, plan).priority
        target.save(update_fields=["priority"])
        record_changes_bulk([_audit(target, actor, AuditAction.CREATE, None, via)])
    return target


def move_target(
    target: CoverageTarget,
    *,
    assignee: int | None = None,
    planned_on: dt.date | None = None,
    actor: User | None = None,
    via: str = "ui",
) -> CoverageTarget:
    """Give a target to another CSM and/or another business day of the month; it is then kept as it is
    when the plan is regenerated."""
    return bulk_update(target.plan, [target.pk], assignee=assignee, planned_on=planned_on, actor=actor, via=via)[0]


def bulk_update(
    plan: CoveragePlan,
    target_ids: Sequence[int],
    *,
    assignee: int | None = None,
    planned_on: dt.date | None = None,
    actor: User | None = None,
    via: str = "ui",
) -> list[CoverageTarget]:
    """Reassign and/or move the given targets of the plan, all or none."""
    if assignee is None and planned_on is None:
        raise PlanError(_("Choose a CSM or a day to move the targets to."))
    with transaction.atomic():
        plan = _locked_plan(plan)
        if planned_on is not None:
            check_day(plan, planned_on)
        if assignee is not None:
            check_assignee(assignee)
        targets = _targets_of(plan, target_ids)
        audits = []
        for target in targets:
            before = snapshot(target, TARGET_AUDITED)
            if assignee is not None:
                target.assignee_id = assignee
            if planned_on is not None:
                target.planned_on = planned_on
            target.adjusted = True
            audits.append(_audit(target, actor, AuditAction.UPDATE, before, via))
        CoverageTarget.objects.bulk_update(targets, ["assignee", "planned_on", "adjusted"], batch_size=1000)
        record_changes_bulk([a for a in audits if a.changes])
    return targets


def remove_targets(plan: CoveragePlan, target_ids: Sequence[int], actor: User | None = None, via: str = "ui") -> int:
    """Take the given targets off the plan, all or none."""
    with transaction.atomic():
        plan = _locked_plan(plan)
        targets = _targets_of(plan, target_ids)
        audits = [_audit(t, actor, AuditAction.DELETE, snapshot(t, TARGET_AUDITED), via) for t in targets]
        CoverageTarget.objects.filter(pk__in=[t.pk for t in targets]).delete()
        record_changes_bulk(audits)
    return len(targets)


def _targets_of(plan: CoveragePlan, target_ids: Sequence[int]) -> list[CoverageTarget]:
    wanted = {int(i) for i in target_ids}
    if not wanted:
        raise PlanError(_("targets: choose at least one target."))
    targets = list(plan.targets.select_for_update().filter(pk__in=wanted).select_related("account"))
    missing = wanted - {t.pk for t in targets}
    if missing:
        raise PlanError(_("targets: %(ids)s are not on this plan.") % {"ids": ", ".join(map(str, sorted(missing)))})
    return targets


def lock(plan: CoveragePlan, actor: User | None, via: str = "ui") -> CoveragePlan:
    """Fix the plan: from now on it refuses every change until unlocked."""
    with transaction.atomic():
        plan = _locked_plan(plan)
        plan.locked_at, plan.locked_by = timezone.now(), actor
        plan.save(update_fields=["locked_at", "locked_by"])
        record_change(
            actor=actor,
            obj=plan,
            action=AuditAction.UPDATE,
            before={"locked": False},
            after={"locked": True},
            account_id=None,
            via=via,
        )
    return plan


def unlock(plan: CoveragePlan, actor: User | None, via: str = "ui") -> CoveragePlan:
    with transaction.atomic():
        plan = CoveragePlan.objects.select_for_update().get(pk=plan.pk)
        if plan.locked:
            plan.locked_at, plan.locked_by = None, None
            plan.save(update_fields=["locked_at", "locked_by"])
            record_change(
                actor=actor,
                obj=plan,
                action=AuditAction.UPDATE,
                before={"locked": True},
                after={"locked": False},
                account_id=None,
                via=via,
            )
    return plan


# Runs: in the background and on schedule ---------------------------------------------------------------


def run_generation(run: PlanRun, echo: Echo | None = None) -> PlanRun:
    """Carry out a queued generation, recording progress and outcome on the run."""
    run.status, run.started_at = RunStatus.RUNNING, timezone.now()
    run.save(update_fields=["status", "started_at"])
    try:
        generate(run.month, actor=run.triggered_by, echo=echo, run=run, as_of=run.as_of)
        run.status = RunStatus.SUCCEEDED
    except PlanError as error:  # a refusal the page shows, not a crash
        run.status, run.error = RunStatus.FAILED, str(error)
    except Exception as error:
        run.status, run.error = RunStatus.FAILED, f"{type(error).__name__}: {error}"
        raise
    finally:
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at", "plan"])
    return run


def start_generation(
    month: dt.date, actor: User | None, *, scheduled: bool = False, as_of: dt.date | None = None
) -> PlanRun:
    """Queue the month's generation for the worker; the plans page shows its progress."""
    from .tasks import generate_plan_task

    month = month_start(month)
    plan = CoveragePlan.objects.filter(month=month).first()
    if plan is not None and plan.locked:
        raise PlanError(_("The plan for %(month)s is locked; unlock it to regenerate.") % {"month": f"{month:%Y-%m}"})
    run = PlanRun.objects.create(
        month=month, as_of=as_of or timezone.localdate(), triggered_by=actor, scheduled=scheduled, plan=plan
    )
    transaction.on_commit(lambda: generate_plan_task.enqueue(run.pk))
    return run


def active_run(month: dt.date | None = None) -> PlanRun | None:
    runs = PlanRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
    if month is not None:
        runs = runs.filter(month=month_start(month))
    return runs.first()


def generation_day(month: dt.date, plan_day: int) -> dt.date:
    """The day the plan for `month` is generated: `plan_day` of the month before, or the business day
    before it when that is not one."""
    day = month_start(month, -1).replace(day=plan_day)
    while not is_business_day(day):
        day -= dt.timedelta(days=1)
    return day


def due(now: dt.datetime) -> str | None:
    """The scheduler's question: on the generation day (or any later day of that month, if the scheduler
    was down) queue next month's plan, once however many schedulers ask (a unique constraint lets only one
    create it). A locked plan is left alone."""
    today = timezone.localtime(now).date()
    month = month_start(today, 1)
    if today < generation_day(month, SuccessSettings.current().plan_day):
        return None
    if PlanRun.objects.filter(month=month, scheduled=True).exists():
        return None
    if CoveragePlan.objects.filter(month=month, locked_at__isnull=False).exists():
        return None
    try:
        with transaction.atomic():
            run = start_generation(month, None, scheduled=True, as_of=today)
    except IntegrityError:
        return None
    return _("Coverage plan for %(month)s queued") % {"month": f"{run.month:%Y-%m}"}


# Reading: pages and API --------------------------------------------------------------------------------


@dataclass
class PriorityExplanation:
    priority: float
    mrr_percentile: int
    risk: float
    days_to_renewal: int | None
    parts: dict[str, float]  # points each input contributed (sums to the priority)


def explain(target: CoverageTarget, plan: CoveragePlan) -> PriorityExplanation:
    """Why the target has its priority, from the inputs stored on it and the plan's rules."""
    rules = plan.rules or {}
    w = rules.get("weights") or {}
    weights_ = planning.Weights(int(w.get("mrr", 40)), int(w.get("risk", 40)), int(w.get("renewal", 20)))
    breakpoints = rules.get("mrr_breakpoints") or planning.mrr_breakpoints(
        list(Account.objects.exclude(lifecycle_stage=LifecycleStage.CHURNED).values_list("mrr", flat=True))
    )
    days = None if target.renewal_date is None else (target.renewal_date - plan.month).days
    mrr_part, risk_part, renewal_part = planning.priority_parts(
        np.array([target.mrr]),
        np.array([np.nan if target.risk is None else target.risk]),
        np.array([np.nan if days is None else days]),
        breakpoints,
    )
    parts = {
        "mrr": round(100 * weights_.mrr * float(mrr_part[0]) / weights_.total, 1),
        "risk": round(100 * weights_.risk * float(risk_part[0]) / weights_.total, 1),
        "renewal": round(100 * weights_.renewal * float(renewal_part[0]) / weights_.total, 1),
    }
    return PriorityExplanation(
        priority=round(sum(parts.values()), 1),
        mrr_percentile=round(100 * float(mrr_part[0])),
        risk=float(risk_part[0]),
        days_to_renewal=days,
        parts=parts,
    )


@dataclass
class Load:
    user: User
    assigned: int
    capacity: int

    @property
    def percent(self) -> int:
        return round(100 * self.assigned / self.capacity) if self.capacity else (100 if self.assigned else 0)

    @property
    def over(self) -> bool:
        return self.assigned > self.capacity


def loads(plan: CoveragePlan) -> list[Load]:
    """Each CSM's targets on the plan against their capacity (active CSMs, and anyone else still holding
    targets), most loaded first."""
    counts = dict(plan.targets.values_list("assignee_id").annotate(n=Count("id")).values_list("assignee_id", "n"))
    users = User.objects.filter(Q(is_active=True, role=Role.CSM) | Q(pk__in=[k for k in counts if k]))
    rows = [Load(u, counts.get(u.pk, 0), u.capacity) for u in users]
    return sorted(rows, key=lambda r: (-r.percent, str(r.user)))


def plan_summaries() -> list[dict[str, Any]]:
    """The plans, newest month first, with their counts by reason and whether they are locked."""
    plans = CoveragePlan.objects.select_related("locked_by").annotate(total=Count("targets"))
    by_reason: dict[int, dict[str, int]] = defaultdict(dict)
    for plan_id, reason, n in (
        CoverageTarget.objects.values_list("plan_id", "reason")
        .annotate(n=Count("id"))
        .values_list("plan_id", "reason", "n")
    ):
        by_reason[plan_id][reason] = n
    return [
        {
            "plan": p,
            "total": p.total,
            "reasons": by_reason.get(p.pk, {}),
            "counts": [by_reason.get(p.pk, {}).get(code, 0) for code in TargetReason.values],
        }
        for p in plans
    ]
