"""Overdue-task alerts: each Japanese business morning, one digest mail per person listing their overdue tasks,
queued through the outbox (so it is sent once, retried, and visible), and the tasks marked as alerted."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from banso.accounts.models import Account
from banso.core.calendar import is_business_day
from banso.core.models import User

from .models import Task
from .worklist import overdue_filter

# Mornings start at 08:00 Japan time: the digest is waiting when people sit down.
DIGEST_FROM = dt.time(8, 0)


def _task_url(task: Task) -> str:
    base = settings.BANSO_PUBLIC_URL.rstrip("/")
    return f"{base}{reverse('playbooks:task', args=[task.pk])}"


def _digest(person: User, tasks: list[Task], day: dt.date) -> tuple[str, str]:
    subject = ngettext(
        "[Banso] %(count)d overdue task",
        "[Banso] %(count)d overdue tasks",
        len(tasks),
    ) % {"count": len(tasks)}
    lines = [_("%(name)s,") % {"name": person}, "", _("These tasks are past their due date:"), ""]
    for task in tasks:
        due = task.due_on.isoformat() if task.due_on else ""
        lines.append(_("- %(title)s (due %(due)s)") % {"title": task.title, "due": due})
        if task.account is not None:
            lines.append("  " + _("Account: %(name)s") % {"name": task.account.name})
        if task.delegated_to_id and task.delegated_to_id != person.pk:
            lines.append("  " + _("Delegated to %(name)s; you stay accountable.") % {"name": task.delegated_to})
        elif task.delegated_to_id == person.pk:
            lines.append("  " + _("Delegated to you by %(name)s.") % {"name": task.owner})
        lines.append(f"  {_task_url(task)}")
    lines += ["", _("Update the status or due date in Banso when a task has moved on.")]
    return subject, "\n".join(lines)


def send_overdue_digests(day: dt.date) -> int:
    """Queue one digest per person with overdue tasks on `day` (owner and delegate both hear of a delegated
    task); nothing on weekends, holidays and closed days. Idempotent: the outbox keeps one mail per person
    and day. Returns how many digests were queued."""
    from .outbox import enqueue_email

    if not is_business_day(day):
        return 0
    overdue = list(
        Task.objects.filter(overdue_filter(day))
        .select_related("owner", "delegated_to", "account")
        .order_by("due_on", "id")
    )
    by_person: dict[int, list[Task]] = defaultdict(list)
    people: dict[int, User] = {}
    for task in overdue:
        for person in (task.owner, task.delegated_to):
            if person is not None and person.is_active and person.email:
                by_person[person.pk].append(task)
                people[person.pk] = person
    with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
        for pk, tasks in by_person.items():
            subject, text = _digest(people[pk], tasks, day)
            enqueue_email(people[pk].email, subject, text, source="tasks", dedupe_key=f"overdue:{pk}:{day}")
        Task.objects.filter(pk__in=[t.pk for t in overdue]).update(overdue_alerted_on=day)
    return len(by_person)


def due(now: dt.datetime) -> str | None:
    """The scheduler's question: send the day's digests once, from 08:00 Japan time on business days."""
    local = timezone.localtime(now)
    if local.time() < DIGEST_FROM:
        return None
    if not cache.add(f"playbooks:overdue-digest:{local.date().isoformat()}", True, timeout=2 * 86400):
        return None
    if not is_business_day(local.date()):
        return None
    sent = send_overdue_digests(local.date())
    return f"overdue-task digests for {local.date()}: {sent}"


def account_tasks_card(account: Account) -> dict[str, Any]:
    """The Account 360's tasks card: links only, so it shows nobody's tasks to people who may not see them."""
    return {"account": account}


def register() -> None:
    """From registry.register(): the overdue-digest job, and the Account 360's card with the new-task link."""
    from banso.accounts.panels import AccountPanel, register_account_panel
    from banso.core.permissions import Capability
    from banso.core.schedule import ScheduledJob, register_job

    register_job(ScheduledJob("playbooks.overdue_tasks", due))
    register_account_panel(AccountPanel("playbooks/_account_tasks.html", Capability.WORK_TASKS, account_tasks_card))
