"""Playbook runs: starting one on an account, carrying out its due steps one at a time (each in its own
transaction with the run locked, so two workers never do a step twice), and cancelling it.

A step's wait counts from when the previous step was carried out: Japanese business days land at 9:00
Tokyo time on the business day reached; calendar days add whole days."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from banso.accounts.models import Account
from banso.core.calendar import add_business_days
from banso.core.choices import AuditAction
from banso.core.models import User
from banso.core.services import record_change, snapshot
from banso.success.models import REACHED_OUTCOMES, Touch

from . import actions
from .models import (
    OPEN_TASK_STATUSES,
    Playbook,
    PlaybookRun,
    PlaybookRunStatus,
    RunStep,
    Step,
    StepCondition,
    StepOutcome,
    Task,
)

log = logging.getLogger(__name__)
TOKYO = ZoneInfo("Asia/Tokyo")
STEP_DAY_START = dt.time(9, 0)
ADVANCE_EVERY_MINUTES = 5
BATCH = 500
RUN_AUDITED = ("status", "finished_at")


# Scheduling ------------------------------------------------------------------------------------------


def due_after(moment: dt.datetime, step: Step) -> dt.datetime:
    """When `step` is due if the previous one was carried out at `moment`."""
    if step.wait_days == 0:
        return moment
    if step.business_days:
        day = add_business_days(moment.astimezone(TOKYO).date(), step.wait_days)
        return dt.datetime.combine(day, STEP_DAY_START, tzinfo=TOKYO)
    return moment + dt.timedelta(days=step.wait_days)


def _step_at_or_after(playbook_id: int, position: int, steps: dict[int, list[Step]] | None = None) -> Step | None:
    """The playbook's first step at `position` or later; `steps` caches each playbook's steps for one call
    of advance_due (a playbook edited meanwhile is read afresh on the next call)."""
    if steps is None:
        return Step.objects.filter(playbook_id=playbook_id, position__gte=position).order_by("position").first()
    if playbook_id not in steps:
        steps[playbook_id] = list(Step.objects.filter(playbook_id=playbook_id).order_by("position"))
    return next((step for step in steps[playbook_id] if step.position >= position), None)


# Starting and cancelling -----------------------------------------------------------------------------


def start_run(
    playbook: Playbook,
    account: Account,
    *,
    cause: str,
    started_by: User | None = None,
    context: dict[str, object] | None = None,
    now: dt.datetime | None = None,
    via: str = "ui",
) -> PlaybookRun:
    """Start `playbook` on `account` for `cause` (audited). A cause starts a playbook on an account once:
    a second start for the same cause raises ValidationError."""
    now = now or timezone.now()
    first = _step_at_or_after(playbook.pk, 1)
    run = PlaybookRun(
        playbook=playbook,
        account=account,
        cause=cause[:200],
        context=context or {},
        started_at=now,
        started_by=started_by,
        next_position=first.position if first else 1,
        next_due_at=due_after(now, first) if first else now,
    )
    try:
        with transaction.atomic():
            run.save()
            record_change(
                actor=started_by,
                obj=run,
                action=AuditAction.CREATE,
                before=None,
                after={"playbook": playbook.pk, "cause": run.cause, "status": run.status},
                account_id=account.pk,
                via=via,
            )
    except IntegrityError as exc:
        raise ValidationError({"account_id": _("This playbook already ran on this account for this cause.")}) from exc
    return run


def start_manually(
    playbook: Playbook, account: Account, by: User | None, *, now: dt.datetime | None = None, via: str = "ui"
) -> PlaybookRun:
    """A person starts a playbook on an account. Refused when the playbook is inactive or a run of it is
    still going there; the cool-down does not apply to a deliberate start."""
    now = now or timezone.now()
    if not playbook.is_active:
        raise ValidationError({"playbook": _("This playbook is switched off.")})
    if PlaybookRun.objects.filter(playbook=playbook, account=account, status=PlaybookRunStatus.ACTIVE).exists():
        raise ValidationError({"account_id": _("This playbook is already running on this account.")})
    cause = f"manual:{by.pk if by else 0}:{now.isoformat()}"
    return start_run(playbook, account, cause=cause, started_by=by, now=now, via=via)


def cancel_run(run: PlaybookRun, by: User | None, *, via: str = "ui", now: dt.datetime | None = None) -> PlaybookRun:
    """Stop an active run (audited); its remaining steps are not carried out. Tasks already made stay."""
    with transaction.atomic():
        locked = PlaybookRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != PlaybookRunStatus.ACTIVE:
            raise ValidationError({"status": _("Only a running playbook can be cancelled.")})
        before = snapshot(locked, RUN_AUDITED)
        locked.status = PlaybookRunStatus.CANCELLED
        locked.finished_at = now or timezone.now()
        locked.next_due_at = None
        locked.save(update_fields=["status", "finished_at", "next_due_at"])
        record_change(
            actor=by,
            obj=locked,
            action=AuditAction.UPDATE,
            before=before,
            after=snapshot(locked, RUN_AUDITED),
            account_id=locked.account_id,
            via=via,
        )
    return locked


# Carrying out steps ----------------------------------------------------------------------------------


def condition_holds(step: Step, run: PlaybookRun) -> bool:
    if step.condition == StepCondition.NO_REPLY:
        return not Touch.objects.filter(
            account_id=run.account_id, outcome__in=REACHED_OUTCOMES, occurred_at__gte=run.started_at
        ).exists()
    if step.condition == StepCondition.TASKS_OPEN:
        return Task.objects.filter(run=run, status__in=OPEN_TASK_STATUSES).exists()
    return True


@dataclass
class AdvanceCounts:
    done: int = 0
    skipped: int = 0
    failed: int = 0
    completed: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {"done": self.done, "skipped": self.skipped, "failed": self.failed, "completed": self.completed}


def advance_run(run_id: int, now: dt.datetime, steps: dict[int, list[Step]] | None = None) -> RunStep | None:
    """Carry out the due step of one run, if it is still due (another worker may have done it). The step's
    own writes roll back when it fails; the failure is recorded and the run stops as failed."""
    with transaction.atomic():
        run = (
            PlaybookRun.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("account__owner", "playbook")
            .filter(pk=run_id, status=PlaybookRunStatus.ACTIVE, next_due_at__lte=now)
            .first()
        )
        if run is None:
            return None
        step = _step_at_or_after(run.playbook_id, run.next_position, steps)
        if step is None:  # the playbook lost its remaining steps since the last one ran
            _finish(run, PlaybookRunStatus.COMPLETED, now)
            return None
        record = RunStep(run=run, position=step.position, action=step.action, executed_at=now)
        try:
            with transaction.atomic():
                if condition_holds(step, run):
                    outcome = actions.execute(step, run, now)
                    record.outcome, record.detail = StepOutcome.DONE, outcome.detail[:500]
                    record.task, record.message = outcome.task, outcome.message
                else:
                    record.outcome = StepOutcome.SKIPPED
                    record.detail = str(StepCondition(step.condition).label)
        except actions.ActionError as exc:
            record.outcome, record.detail = StepOutcome.FAILED, str(exc)[:500]
        except Exception as exc:  # a bug or an outage must show on the run, not stop the other runs
            log.exception("playbook run %s step %s failed", run.pk, step.position)
            record.outcome, record.detail = StepOutcome.FAILED, f"{type(exc).__name__}: {exc}"[:500]
        record.save()  # the unique (run, position) is the last guard against doing a step twice
        if record.outcome == StepOutcome.FAILED:
            _finish(run, PlaybookRunStatus.FAILED, now)
            return record
        following = _step_at_or_after(run.playbook_id, step.position + 1, steps)
        if following is None:
            _finish(run, PlaybookRunStatus.COMPLETED, now)
        else:
            run.next_position = following.position
            run.next_due_at = due_after(now, following)
            run.save(update_fields=["next_position", "next_due_at"])
        return record


def _finish(run: PlaybookRun, status: str, now: dt.datetime) -> None:
    run.status = status
    run.finished_at = now
    run.next_due_at = None
    run.save(update_fields=["status", "finished_at", "next_due_at"])


def advance_due(now: dt.datetime | None = None, *, limit: int | None = None) -> dict[str, int]:
    """Carry out every due step of every active run (a run whose next step is due at once goes on to it
    in the same call). Returns counts of steps done, skipped and failed, and runs completed."""
    now = now or timezone.now()
    counts = AdvanceCounts()
    steps: dict[int, list[Step]] = {}
    pending = list(
        PlaybookRun.objects.filter(status=PlaybookRunStatus.ACTIVE, next_due_at__lte=now)
        .order_by("next_due_at", "id")
        .values_list("pk", flat=True)[: limit or None]
    )
    while pending:
        again = []
        for run_id in pending:
            record = advance_run(run_id, now, steps)
            if record is None:
                continue
            setattr(counts, record.outcome, getattr(counts, record.outcome) + 1)
            run = record.run  # as advance_run left it
            if run.status == PlaybookRunStatus.COMPLETED:
                counts.completed += 1
            elif run.status == PlaybookRunStatus.ACTIVE and run.next_due_at is not None and run.next_due_at <= now:
                again.append(run_id)
        pending = again
    return counts.as_dict()


@task()
def advance_due_task() -> dict[str, int]:
    """The worker's side of the scheduled job."""
    return advance_due()


def scheduled_job(now: dt.datetime) -> str | None:
    """The scheduler's question, every minute: every few minutes, when some run has a step due, queue the
    task that carries them out. The cache slot keeps several schedulers from queueing it twice."""
    slot = int(now.timestamp() // (ADVANCE_EVERY_MINUTES * 60))
    if not PlaybookRun.objects.filter(status=PlaybookRunStatus.ACTIVE, next_due_at__lte=now).exists():
        return None
    if not cache.add(f"playbooks:advance:{slot}", True, timeout=ADVANCE_EVERY_MINUTES * 120):
        return None
    advance_due_task.enqueue()
    return "playbook steps due: queued"


def register() -> None:
    """From registry.register(): the scheduler job and the Account 360 card."""
    from banso.accounts.panels import AccountPanel, register_account_panel
    from banso.core.permissions import Capability
    from banso.core.schedule import ScheduledJob, register_job

    from .playbook_panels import account_card

    register_job(ScheduledJob("playbooks.advance_runs", scheduled_job))
    register_account_panel(AccountPanel("playbooks/_account_card.html", Capability.VIEW_ACCOUNTS, account_card))
