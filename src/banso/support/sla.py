"""The SLA clock: which policy applies to an inquiry, its first-response, next-response and resolution targets
measured in business minutes (core.business_hours: split shifts, Japanese holidays, company closed days),
pausing statuses, breach marking and warnings, and the inbox's badge and filters. desk.py calls the hooks
(start, customer_message, agent_reply, status_changed, priority_changed) inside its transactions.

How the clock counts (the rules the tests pin down):
- A measurement is due `target` business minutes after it started, plus every business minute the inquiry
  spent in a pausing status (a pause outside business hours costs nothing). While paused, the stored due
  instants stay where they were and `sla_next_due_at` is null; resuming pushes them forward.
- Minutes taken (`business_minutes`) = business minutes from start to achievement minus paused minutes;
  a measurement is breached when that exceeds its target (or when the breach job finds it open past due).
- Solving (or closing) meets every open target, as most desks do: a solved inquiry needs no reply.
- Reopening a solved inquiry reopens its latest resolution target with the budget it had left: the time
  spent solved counts as a pause. A resolution already breached stays breached.
- A priority (or channel) change recomputes open targets from their start under the new policy, keeping the
  paused minutes; a target the new policy does not have is dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from banso.core.business_hours import TOKYO, BusinessHours

from .models import (
    Inquiry,
    Priority,
    SlaMeasurement,
    SlaMetric,
    SlaPolicy,
    Status,
    SupportSettings,
    TeamSettings,
)

log = logging.getLogger(__name__)

# (priority, first response, next response, resolution) in business minutes; a business day is 8 hours
# under the default 9:00–12:00 / 13:00–18:00.
DEFAULT_POLICIES: tuple[tuple[str, int, int, int], ...] = (
    (Priority.URGENT, 30, 60, 8 * 60),
    (Priority.HIGH, 60, 120, 16 * 60),
    (Priority.NORMAL, 240, 480, 3 * 8 * 60),
    (Priority.LOW, 480, 960, 5 * 8 * 60),
)
DEFAULT_POLICY_NAMES: dict[str, str] = {
    Priority.URGENT: "緊急",
    Priority.HIGH: "高",
    Priority.NORMAL: "通常",
    Priority.LOW: "低",
}
TARGET_FIELD: dict[str, str] = {
    SlaMetric.FIRST_RESPONSE: "first_response_minutes",
    SlaMetric.NEXT_RESPONSE: "next_response_minutes",
    SlaMetric.RESOLUTION: "resolution_minutes",
}
DUE_FIELD: dict[str, str] = {
    SlaMetric.FIRST_RESPONSE: "first_response_due_at",
    SlaMetric.NEXT_RESPONSE: "next_response_due_at",
    SlaMetric.RESOLUTION: "resolution_due_at",
}
SYNC_FIELDS = [*DUE_FIELD.values(), "sla_paused_at", "sla_next_due_at"]
RESPONSE_METRICS = (SlaMetric.FIRST_RESPONSE, SlaMetric.NEXT_RESPONSE)


def ensure_default_policies() -> int:
    """Create the Japanese desk's default policy for every priority that has none; returns how many."""
    created = 0
    for priority, first, following, resolution in DEFAULT_POLICIES:
        _policy, made = SlaPolicy.objects.get_or_create(
            priority=priority,
            channel="",
            defaults={
                "name": DEFAULT_POLICY_NAMES[priority],
                "first_response_minutes": first,
                "next_response_minutes": following,
                "resolution_minutes": resolution,
            },
        )
        created += made
    return created


def policy_for(priority: str, channel: str) -> SlaPolicy | None:
    """The most specific active policy: priority + channel, then priority alone. An empty policy table (a
    fresh or flushed database) gets the defaults first; to switch SLAs off for a priority, deactivate its
    policy instead of deleting it."""
    candidates = list(SlaPolicy.objects.filter(active=True, priority=priority, channel__in=[channel, ""]))
    if not candidates and not SlaPolicy.objects.exists():
        ensure_default_policies()
        candidates = list(SlaPolicy.objects.filter(active=True, priority=priority, channel=""))
    candidates.sort(key=lambda p: p.channel != channel)
    return candidates[0] if candidates else None


def hours_for(inquiry: Inquiry, policy: SlaPolicy | None) -> BusinessHours:
    """The policy's business hours, else the inquiry team's, else the default (9–12, 13–18)."""
    if policy is not None and policy.business_hours:
        return BusinessHours.from_json(policy.business_hours)
    if inquiry.team_id is not None:
        team_hours = TeamSettings.objects.filter(team_id=inquiry.team_id).values_list("business_hours", flat=True)
        for value in team_hours:
            if value:
                return BusinessHours.from_json(value)
    return BusinessHours()


def _open(inquiry: Inquiry) -> list[SlaMeasurement]:
    return list(SlaMeasurement.objects.filter(inquiry=inquiry, achieved_at__isnull=True).select_related("policy"))


def _paused_minutes(m: SlaMeasurement, hours: BusinessHours) -> int:
    """Paused business minutes already folded into `m.due_at` (due = start + target + paused)."""
    return max(hours.minutes_between(m.started_at, m.due_at) - m.target_minutes, 0)


def _measure(inquiry: Inquiry, metric: str, policy: SlaPolicy, hours: BusinessHours, at: dt.datetime) -> None:
    target = getattr(policy, TARGET_FIELD[metric])
    if not target:
        return
    SlaMeasurement.objects.create(
        inquiry=inquiry,
        metric=metric,
        policy=policy,
        target_minutes=target,
        started_at=at,
        due_at=hours.add_minutes(at, target),
        assignee_id=inquiry.assignee_id,
        team_id=inquiry.team_id,
    )


def _achieve(m: SlaMeasurement, inquiry: Inquiry, hours: BusinessHours, at: dt.datetime) -> None:
    """Meet `m` at `at`; the inquiry's running pause (if any) does not count as time taken."""
    paused = _paused_minutes(m, hours)
    if inquiry.sla_paused_at is not None:
        paused += hours.minutes_between(max(inquiry.sla_paused_at, m.started_at), at)
    taken = max(hours.minutes_between(m.started_at, at) - paused, 0)
    m.achieved_at = at
    m.business_minutes = taken
    m.breached = m.breached or taken > m.target_minutes
    m.assignee_id = inquiry.assignee_id
    m.team_id = inquiry.team_id
    m.save(update_fields=["achieved_at", "business_minutes", "breached", "assignee", "team"])


def sync(inquiry: Inquiry) -> None:
    """Copy the open measurements' due instants onto the inquiry (what the inbox sorts and filters by)."""
    dues: dict[str, dt.datetime | None] = dict.fromkeys(DUE_FIELD.values())
    for metric, due in SlaMeasurement.objects.filter(inquiry=inquiry, achieved_at__isnull=True).values_list(
        "metric", "due_at"
    ):
        field = DUE_FIELD[SlaMetric(metric)]
        current = dues[field]
        dues[field] = due if current is None else min(current, due)
    for field, value in dues.items():
        setattr(inquiry, field, value)
    open_dues = [d for d in dues.values() if d is not None]
    inquiry.sla_next_due_at = None if inquiry.sla_paused_at is not None or not open_dues else min(open_dues)
    inquiry.save(update_fields=SYNC_FIELDS)


# --- the hooks desk.py calls -----------------------------------------------------------------------------


def start(inquiry: Inquiry, at: dt.datetime) -> None:
    """A new inquiry: open its first-response and resolution targets under the applicable policy."""
    policy = policy_for(inquiry.priority, inquiry.channel)
    if policy is not None:
        hours = hours_for(inquiry, policy)
        _measure(inquiry, SlaMetric.FIRST_RESPONSE, policy, hours, at)
        _measure(inquiry, SlaMetric.RESOLUTION, policy, hours, at)
    if inquiry.status.pauses_sla and not inquiry.status.is_done:
        inquiry.sla_paused_at = at
    sync(inquiry)


def customer_message(inquiry: Inquiry, at: dt.datetime) -> None:
    """The customer wrote again after an agent's reply: open a next-response target if none is open."""
    if inquiry.last_agent_message_at is None or inquiry.status.is_done:
        return
    if SlaMeasurement.objects.filter(inquiry=inquiry, metric__in=RESPONSE_METRICS, achieved_at__isnull=True).exists():
        return
    policy = policy_for(inquiry.priority, inquiry.channel)
    if policy is None:
        return
    _measure(inquiry, SlaMetric.NEXT_RESPONSE, policy, hours_for(inquiry, policy), at)
    sync(inquiry)


def agent_reply(inquiry: Inquiry, at: dt.datetime) -> None:
    """A public agent reply: meet the open first-response / next-response target."""
    measurements = [m for m in _open(inquiry) if m.metric in RESPONSE_METRICS]
    if not measurements:
        return
    for m in measurements:
        _achieve(m, inquiry, hours_for(inquiry, m.policy), at)
    sync(inquiry)


def _resume(inquiry: Inquiry, at: dt.datetime) -> None:
    """End the running pause: push every open target forward by the business minutes it lasted."""
    paused_at = inquiry.sla_paused_at
    inquiry.sla_paused_at = None
    if paused_at is None:
        return
    for m in _open(inquiry):
        hours = hours_for(inquiry, m.policy)
        extra = hours.minutes_between(max(paused_at, m.started_at), at)
        if extra:
            m.due_at = hours.add_minutes(m.started_at, m.target_minutes + _paused_minutes(m, hours) + extra)
            m.save(update_fields=["due_at"])


def _reopen_resolution(inquiry: Inquiry, at: dt.datetime) -> None:
    m = (
        SlaMeasurement.objects.filter(inquiry=inquiry, metric=SlaMetric.RESOLUTION, achieved_at__isnull=False)
        .select_related("policy")
        .order_by("-achieved_at", "-id")
        .first()
    )
    if m is None or m.achieved_at is None:
        return
    hours = hours_for(inquiry, m.policy)
    solved_for = hours.minutes_between(m.achieved_at, at)
    m.due_at = hours.add_minutes(m.started_at, m.target_minutes + _paused_minutes(m, hours) + solved_for)
    m.achieved_at = None
    m.business_minutes = None
    m.save(update_fields=["due_at", "achieved_at", "business_minutes"])


def status_changed(inquiry: Inquiry, old: Status, new: Status, at: dt.datetime) -> None:
    """Pause or resume the clock (Status.pauses_sla); solving meets the open targets; reopening resumes."""
    pauses_now = new.pauses_sla and not new.is_done
    if inquiry.sla_paused_at is not None and not pauses_now:
        _resume(inquiry, at)
    if new.is_done and not old.is_done:
        for m in _open(inquiry):
            _achieve(m, inquiry, hours_for(inquiry, m.policy), at)
    elif old.is_done and not new.is_done:
        _reopen_resolution(inquiry, at)
    if pauses_now and inquiry.sla_paused_at is None:
        inquiry.sla_paused_at = at
    sync(inquiry)


def status_pausing_changed(status: Status, at: dt.datetime) -> int:
    """The desk settings switched `pauses_sla` on a status: inquiries sitting in it pause (or resume) now, as if
    they had just entered it. Returns how many inquiries changed."""
    changed = 0
    inquiries = Inquiry.objects.filter(status=status).select_related("status")
    if status.pauses_sla and not status.is_done:
        for inquiry in inquiries.filter(sla_paused_at__isnull=True).iterator(chunk_size=500):
            inquiry.sla_paused_at = at
            sync(inquiry)
            changed += 1
    else:
        for inquiry in inquiries.filter(sla_paused_at__isnull=False).iterator(chunk_size=500):
            _resume(inquiry, at)
            sync(inquiry)
            changed += 1
    return changed


def priority_changed(inquiry: Inquiry, at: dt.datetime) -> None:
    """The priority (or channel) changed: recompute the open targets under the new policy."""
    policy = policy_for(inquiry.priority, inquiry.channel)
    for m in _open(inquiry):
        old_hours = hours_for(inquiry, m.policy)
        paused = _paused_minutes(m, old_hours)
        target = getattr(policy, TARGET_FIELD[SlaMetric(m.metric)]) if policy is not None else None
        if not target:
            m.delete()
            continue
        hours = hours_for(inquiry, policy)
        m.policy = policy
        m.target_minutes = target
        m.due_at = hours.add_minutes(m.started_at, target + paused)
        m.breached = m.breached and m.due_at <= at
        m.save(update_fields=["policy", "target_minutes", "due_at", "breached"])
    sync(inquiry)


# --- the inbox: badge and filters ------------------------------------------------------------------------


def warn_before_minutes() -> int:
    value = SupportSettings.objects.filter(pk=1).values_list("warn_before_minutes", flat=True).first()
    return 30 if value is None else int(value)


# The last horizon computed: an inbox page asks once per row with the same `now` (saving the setting clears it).
_horizon: dict[dt.datetime, dt.datetime] = {}


def warning_horizon(now: dt.datetime) -> dt.datetime:
    """The instant `warn_before_minutes` business minutes (default hours) after `now`: targets due by then
    are about to breach. Remembered for the same `now`, so badges of one page cost no query."""
    cached = _horizon.get(now)
    if cached is None:
        cached = BusinessHours().add_minutes(now, warn_before_minutes())
        _horizon.clear()
        _horizon[now] = cached
    return cached


def forget_horizon() -> None:
    _horizon.clear()


def about_to_breach_q(now: dt.datetime, horizon: dt.datetime | None = None) -> Q:
    """Inquiries whose next target falls due within the warning window (a range on the indexed column)."""
    return Q(sla_next_due_at__gt=now, sla_next_due_at__lte=horizon or warning_horizon(now))


def breached_q(now: dt.datetime) -> Q:
    """Inquiries with an open target past due (the clock is not paused: paused ones have no next due)."""
    return Q(sla_next_due_at__lte=now)


def badge(inquiry: Inquiry, now: dt.datetime, *, horizon: dt.datetime | None = None) -> dict[str, Any]:
    """The inbox's SLA badge from the inquiry's own columns (no query unless `horizon` is left out):
    state ok|warning|breached|paused|met|none, the next due instant and a short label."""
    due = inquiry.sla_next_due_at
    if inquiry.sla_paused_at is not None:
        return {"state": "paused", "due_at": None, "label": _("Paused")}
    if due is None:
        if inquiry.first_responded_at is not None or inquiry.solved_at is not None:
            return {"state": "met", "due_at": None, "label": _("Met")}
        return {"state": "none", "due_at": None, "label": ""}
    local = due.astimezone(TOKYO)
    if due <= now:
        return {"state": "breached", "due_at": due, "label": _("Overdue since %(at)s") % {"at": f"{local:%m/%d %H:%M}"}}
    state = "warning" if due <= (horizon or warning_horizon(now)) else "ok"
    return {"state": state, "due_at": due, "label": _("Due %(at)s") % {"at": f"{local:%m/%d %H:%M}"}}


def panel(inquiry: Inquiry, now: dt.datetime) -> list[dict[str, Any]]:
    """The conversation page's side panel: every measurement of the inquiry, oldest first, as dicts for
    `support/_sla_panel.html` (context `sla`)."""
    rows = []
    horizon = warning_horizon(now)
    for m in SlaMeasurement.objects.filter(inquiry=inquiry).order_by("started_at", "id"):
        if m.achieved_at is not None:
            state = "breached" if m.breached else "met"
        elif inquiry.sla_paused_at is not None:
            state = "paused"
        elif m.breached or m.due_at <= now:
            state = "breached"
        elif m.due_at <= horizon:
            state = "warning"
        else:
            state = "ok"
        rows.append(
            {
                "metric": m.metric,
                "label": m.get_metric_display(),
                "target_minutes": m.target_minutes,
                "started_at": m.started_at,
                "due_at": m.due_at,
                "achieved_at": m.achieved_at,
                "business_minutes": m.business_minutes,
                "breached": m.breached,
                "state": state,
            }
        )
    return rows


# --- breaches and warnings (the scheduler's minute job) ----------------------------------------------------

BATCH = 500


def _live() -> QuerySet[SlaMeasurement]:
    """Open measurements of inquiries whose clock runs."""
    return SlaMeasurement.objects.filter(achieved_at__isnull=True, inquiry__sla_paused_at__isnull=True)


def work_waiting(now: dt.datetime) -> bool:
    live = _live()
    return (
        live.filter(breached=False, due_at__lte=now).exists()
        or live.filter(
            warned_at__isnull=True, breached=False, due_at__gt=now, due_at__lte=warning_horizon(now)
        ).exists()
    )


def check_breaches(now: dt.datetime) -> tuple[int, int]:
    """Mark open targets past due as breached (recording whose they were) and warn each assignee once per
    target entering the warning window: an email through the outbox and a live `sla_warning`. Returns
    (breached, warned)."""
    from banso.playbooks.outbox import enqueue_email

    from . import realtime

    breached = 0
    with transaction.atomic():
        rows = list(
            _live().filter(breached=False, due_at__lte=now).select_related("inquiry", "inquiry__status")[:BATCH]
        )
        for m in rows:
            m.breached = True
            m.assignee_id = m.inquiry.assignee_id
            m.team_id = m.inquiry.team_id
        SlaMeasurement.objects.bulk_update(rows, ["breached", "assignee", "team"])
        breached = len(rows)
        for m in rows:
            realtime.publish(m.inquiry, "sla_breached", {"metric": m.metric})
    warned = 0
    window = _live().filter(warned_at__isnull=True, breached=False, due_at__gt=now, due_at__lte=warning_horizon(now))
    for m in window.select_related("inquiry", "inquiry__assignee", "inquiry__status")[:BATCH]:
        with transaction.atomic():
            # The conditional update makes the warning once-only even with two schedulers ticking.
            if not SlaMeasurement.objects.filter(pk=m.pk, warned_at__isnull=True).update(warned_at=now):
                continue
            inquiry = m.inquiry
            assignee = inquiry.assignee
            if assignee is not None and assignee.email:
                local = m.due_at.astimezone(TOKYO)
                enqueue_email(
                    assignee.email,
                    _("SLA warning: #%(number)s %(subject)s") % {"number": inquiry.number, "subject": inquiry.subject},
                    _("%(target)s for inquiry #%(number)s is due at %(at)s.")
                    % {"target": m.get_metric_display(), "number": inquiry.number, "at": f"{local:%Y-%m-%d %H:%M}"},
                    source="support.sla",
                    dedupe_key=f"sla-warning-{m.pk}",
                )
            realtime.publish(inquiry, "sla_warning", {"metric": m.metric, "due_at": m.due_at.isoformat()})
            warned += 1
    return breached, warned


def due_job(now: dt.datetime) -> str | None:
    """Every minute: queue the breach check unless one is queued or running, when there is work for it."""
    if not work_waiting(now):
        return None
    from banso.core.schedule import enqueue_unless_pending

    from .sla_tasks import check_sla_breaches

    if not enqueue_unless_pending(check_sla_breaches, now, stale_after=dt.timedelta(minutes=30)):
        return None
    return "support SLA: breach check queued"


def register() -> None:
    """From support.registry: the scheduler's minute-by-minute breach check."""
    from banso.core.schedule import ScheduledJob, register_job

    register_job(ScheduledJob("support.sla_breaches", due_job))
