"""Trigger evaluation: which accounts each active playbook starts on now, and the runs it starts.

For every active playbook with a non-manual trigger, `evaluate()` takes the accounts its trigger fired for
(`triggers_kinds`: one set-based computation per kind, shared by playbooks with the same settings), keeps
those matching its conditions (`triggers_conditions`: one filter on all accounts), drops accounts inside the
cool-down (a run started there within `cooldown_days`, or still active) and causes already used, and starts
the rest in bulk (runs due now at step 1; `runs.py` carries out the steps). Evaluating twice starts nothing
new: a cause starts a playbook on an account once, and the database's unique constraint holds it to that.

Used by the scheduled job (hourly, see `register`), the "evaluate now" button, the API and
`banso playbooks evaluate`; the editor calls `validate_params` and `validate_conditions`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.accounts.models import Account
from banso.core import arrowdb
from banso.core.models import RunStatus, User
from banso.core.schedule import ScheduledJob, register_job

from .models import Playbook, PlaybookRun, PlaybookRunStatus, Step, TriggerKind, TriggerRun
from .triggers_conditions import condition_fields, conditions_q, validate_conditions
from .triggers_kinds import PARAMS, Moment, fired, validate_params

__all__ = [
    "PARAMS",
    "condition_fields",
    "evaluate",
    "start_manually",
    "validate_conditions",
    "validate_params",
]

logger = logging.getLogger(__name__)

# Called with (playbook, the runs just started as a queryset, now) inside the starting transaction, so the
# runs' executor can act at once if it wants to; the runs are due now either way.
StartHook = Callable[[Playbook, QuerySet[PlaybookRun], dt.datetime], None]
_START_HOOKS: list[StartHook] = []


def register_start_hook(hook: StartHook) -> None:
    if hook not in _START_HOOKS:
        _START_HOOKS.append(hook)


@dataclass
class PlaybookResult:
    playbook_id: int
    name: str
    trigger: str
    fired: int = 0
    matched: int = 0
    started: int = 0
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "playbook_id": self.playbook_id,
            "name": self.name,
            "trigger": self.trigger,
            "fired": self.fired,
            "matched": self.matched,
            "started": self.started,
            "error": self.error,
        }


@dataclass
class Evaluation:
    now: dt.datetime
    accounts: int = 0
    playbooks: list[PlaybookResult] = field(default_factory=list)

    @property
    def runs_started(self) -> int:
        return sum(p.started for p in self.playbooks)

    @property
    def failed(self) -> list[PlaybookResult]:
        return [p for p in self.playbooks if p.error]


def _params_key(kind: str, params: dict[str, Any]) -> str:
    return kind + json.dumps(params, sort_keys=True, default=str)


def evaluate(
    now: dt.datetime | None = None,
    playbooks: Iterable[Playbook] | None = None,
    run: TriggerRun | None = None,
    backend_factory: Callable[[], Any] | None = None,
) -> Evaluation:
    """Evaluate the triggers of `playbooks` (default: every active playbook with a non-manual trigger) as of
    `now` and start the runs they call for. A playbook whose settings are broken, or whose trigger fails, is
    reported in its result and skipped; the others go on. Progress goes to `run` when given."""
    now = now or timezone.now()
    at = Moment(now, backend_factory)
    if playbooks is None:
        playbooks = Playbook.objects.filter(is_active=True).exclude(trigger=TriggerKind.MANUAL).order_by("id")
    chosen = [p for p in playbooks if p.trigger != TriggerKind.MANUAL]
    result = Evaluation(now=now, accounts=Account.objects.count())
    computed: dict[str, pl.DataFrame] = {}
    for index, playbook in enumerate(chosen):
        outcome = PlaybookResult(playbook.pk, playbook.name, playbook.trigger)
        result.playbooks.append(outcome)
        if run is not None:
            run.progress(
                int(100 * index / max(len(chosen), 1)),
                _("Evaluating %(name)s") % {"name": playbook.name},
                accounts_checked=result.accounts,
                runs_started=result.runs_started,
            )
        try:
            params = validate_params(playbook.trigger, playbook.trigger_params)
            conditions = validate_conditions(playbook.conditions)
            key = _params_key(playbook.trigger, params)
            if key not in computed:
                computed[key] = fired(playbook.trigger, params, at)
            candidates = computed[key]
            outcome.fired = candidates["account_id"].n_unique()
            _start(playbook, candidates, conditions, now, outcome)
        except ValidationError as error:
            outcome.error = "; ".join(f"{k}: {', '.join(v)}" for k, v in error.message_dict.items())
        except Exception as error:  # one playbook's failure must not stop the others
            logger.exception("trigger evaluation failed for playbook %s", playbook.pk)
            outcome.error = f"{type(error).__name__}: {error}"
    return result


def _start(
    playbook: Playbook,
    candidates: pl.DataFrame,
    conditions: list[dict[str, Any]],
    now: dt.datetime,
    outcome: PlaybookResult,
) -> None:
    if candidates.is_empty():
        return
    # One cause per account per evaluation: the earliest in text order, so a repeat picks the same one.
    candidates = candidates.sort("account_id", "cause").unique("account_id", keep="first", maintain_order=True)
    if conditions:
        ids = Account.objects.filter(conditions_q(conditions)).values_list("id", flat=True)
        matching = pl.DataFrame({"account_id": list(ids)}, schema={"account_id": pl.Int64})
        candidates = candidates.join(matching, on="account_id", how="semi")
    outcome.matched = candidates.height
    if candidates.is_empty():
        return
    with transaction.atomic():
        # Evaluations of one playbook take turns (a scheduled one and "evaluate now", or a manual start), so
        # what they read of its runs stays true until they have written theirs.
        Playbook.objects.select_for_update().filter(pk=playbook.pk).first()
        fresh = candidates.join(_blocked(playbook, now), on="account_id", how="anti")
        fresh = fresh.join(_used_causes(playbook), on=["account_id", "cause"], how="anti")
        outcome.started = _insert_runs(playbook, fresh, now)
        if outcome.started and _START_HOOKS:
            started = PlaybookRun.objects.filter(playbook=playbook, started_at=now, started_by=None)
            for hook in _START_HOOKS:
                hook(playbook, started, now)


def _blocked(playbook: Playbook, now: dt.datetime) -> pl.DataFrame:
    """Accounts inside the playbook's cool-down: a run started within `cooldown_days`, or still active."""
    since = now - dt.timedelta(days=playbook.cooldown_days)
    recent = PlaybookRun.objects.filter(playbook=playbook, started_at__gt=since).values_list("account_id", flat=True)
    active = PlaybookRun.objects.filter(playbook=playbook, status=PlaybookRunStatus.ACTIVE).values_list(
        "account_id", flat=True
    )
    ids = set(recent) | set(active)
    return pl.DataFrame({"account_id": list(ids)}, schema={"account_id": pl.Int64})


def _used_causes(playbook: Playbook) -> pl.DataFrame:
    rows = PlaybookRun.objects.filter(playbook=playbook).values_list("account_id", "cause")
    return pl.DataFrame(list(rows), schema={"account_id": pl.Int64, "cause": pl.String}, orient="row")


RUN_COLUMNS = ("playbook_id", "account_id", "cause", "context", "status", "next_position", "next_due_at", "started_at")


def _insert_runs(playbook: Playbook, fresh: pl.DataFrame, now: dt.datetime) -> int:
    """Write the runs in bulk inside the caller's transaction (COPY on PostgreSQL), at the playbook's first
    step and due when `runs.start_run` would make it due (after the first step's wait)."""
    from .runs import due_after

    if fresh.is_empty():
        return 0
    first = Step.objects.filter(playbook=playbook).order_by("position").first()
    stamp = str(connection.ops.adapt_datetimefield_value(now))
    due = str(connection.ops.adapt_datetimefield_value(due_after(now, first) if first else now))
    rows = fresh.select(
        pl.lit(playbook.pk, pl.Int64).alias("playbook_id"),
        "account_id",
        pl.col("cause").str.slice(0, 200),
        "context",
        pl.lit(PlaybookRunStatus.ACTIVE.value).alias("status"),
        pl.lit(first.position if first else 1, pl.Int64).alias("next_position"),
        pl.lit(due).alias("next_due_at"),
        pl.lit(stamp).alias("started_at"),
    )
    return arrowdb.insert_frame(PlaybookRun._meta.db_table, rows, RUN_COLUMNS)


# Manual start ----------------------------------------------------------------------------------------


def start_manually(
    playbook: Playbook, account: Account, user: User | None, *, force: bool = False, via: str = "ui"
) -> PlaybookRun:
    """Start `playbook` on `account` now, by hand (whatever its trigger): `runs.start_manually` with the
    cool-down applied unless `force`. Raises ValidationError keyed "account_id" (or "playbook") saying why not."""
    from . import runs

    now = timezone.now()
    with transaction.atomic():
        Playbook.objects.select_for_update().filter(pk=playbook.pk).first()
        since = now - dt.timedelta(days=playbook.cooldown_days)
        recent = PlaybookRun.objects.filter(playbook=playbook, account=account, started_at__gt=since)
        if not force and playbook.is_active and recent.exists():
            raise ValidationError(
                {
                    "account_id": _("This playbook ran on this account within its cool-down (%(days)s days).")
                    % {"days": playbook.cooldown_days}
                }
            )
        run = runs.start_manually(playbook, account, user, now=now, via=via)
        for hook in _START_HOOKS:
            hook(playbook, PlaybookRun.objects.filter(pk=run.pk), now)
    return run


# Background runs and the schedule ------------------------------------------------------------------------


def run_evaluation(
    run: TriggerRun, now: dt.datetime | None = None, backend_factory: Callable[[], Any] | None = None
) -> TriggerRun:
    """Carry out a queued (or command-line) evaluation, recording progress, counts and outcome on the run."""
    run.status, run.started_at = RunStatus.RUNNING, timezone.now()
    run.save(update_fields=["status", "started_at"])
    try:
        result = evaluate(now=now or run.started_at, run=run, backend_factory=backend_factory)
        run.results = [p.as_dict() for p in result.playbooks]
        run.accounts_checked, run.runs_started = result.accounts, result.runs_started
        run.status = RunStatus.SUCCEEDED
        run.percent, run.step = 100, _("%(n)s runs started") % {"n": result.runs_started}
        if result.failed:
            run.error = "\n".join(f"{p.name}: {p.error}" for p in result.failed)
    except Exception as error:
        run.status, run.error = RunStatus.FAILED, f"{type(error).__name__}: {error}"
        raise
    finally:
        run.finished_at = timezone.now()
        run.save()
    return run


def evaluate_now(as_of: dt.date | None = None, actor: User | None = None) -> TriggerRun:
    """Evaluate here and now (the command line), recorded like a queued evaluation. `as_of` another day
    evaluates as of this time of day on that day (to replay a missed day, or to try a playbook on history)."""
    now = timezone.localtime()
    if as_of is not None and as_of != now.date():
        now = now.replace(year=as_of.year, month=as_of.month, day=as_of.day)
    run = TriggerRun.objects.create(as_of=now.date(), triggered_by=actor)
    return run_evaluation(run, now=now)


def start_evaluation(actor: User | None, *, scheduled: bool = False, now: dt.datetime | None = None) -> TriggerRun:
    """Queue an evaluation for the worker (the "evaluate now" button and the API)."""
    from .trigger_tasks import evaluate_triggers_task

    local = timezone.localtime(now or timezone.now())
    run = TriggerRun.objects.create(
        as_of=local.date(), triggered_by=actor, scheduled=scheduled, slot=local.hour if scheduled else None
    )
    transaction.on_commit(lambda: evaluate_triggers_task.enqueue(run.pk))
    return run


def active_evaluation() -> TriggerRun | None:
    """The latest evaluation still queued or running: a second one would only repeat its work."""
    return TriggerRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).first()


def due_evaluation(now: dt.datetime | None = None) -> TriggerRun | None:
    """The scheduler's question, every minute: once an hour (Japan time), queue an evaluation. Hourly
    because survey detractors, SLA breaches and contact changes want a prompt answer; the daily kinds
    (health bands, risk, renewals) find nothing new after their first evaluation of the day. Safe with
    several schedulers: the unique constraint on (day, hour) lets one of them create the hour's run."""
    local = timezone.localtime(now or timezone.now())
    if TriggerRun.objects.filter(as_of=local.date(), slot=local.hour, scheduled=True).exists():
        return None
    if not Playbook.objects.filter(is_active=True).exclude(trigger=TriggerKind.MANUAL).exists():
        return None
    if active_evaluation() is not None:  # the worker is behind: one waiting evaluation is enough
        return None
    try:
        with transaction.atomic():
            return start_evaluation(None, scheduled=True, now=local)
    except IntegrityError:
        return None


def _due_job(now: dt.datetime) -> str | None:
    run = due_evaluation(now)
    return None if run is None else f"playbook triggers: evaluation {run.pk} queued"


def register() -> None:
    """Called from the app's registry: the hourly trigger evaluation."""
    register_job(ScheduledJob("playbooks.triggers", _due_job))
