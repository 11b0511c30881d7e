"""My day: a CSM's queue for a day — the plan's contacts due by today and not yet touched this month, follow-ups
due, and owned accounts past their tier's contact-frequency rule — and, for managers, the team's counts.

Everything is filtered in the database and returned as querysets for the caller to page, so a queue stays
fast with 100,000 accounts and 200 CSMs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from banso.accounts.choices import LifecycleStage
from banso.accounts.models import Account
from banso.accounts.services import owner_choices
from banso.core.calendar import month_start
from banso.core.choices import Role
from banso.core.models import User

from .models import CoverageTarget, Touch
from .services import local_midnight, month_range
from .touches import untouched_days


def planned(user: User | None, today: dt.date | None = None) -> QuerySet[CoverageTarget]:
    """The current month's plan targets assigned to `user` (None: everyone) and planned on or before today,
    whose account has not been touched this month."""
    today = today or timezone.localdate()
    start, end = month_range(today)
    touched = Touch.objects.filter(account_id=OuterRef("account_id"), occurred_at__gte=start, occurred_at__lt=end)
    targets = CoverageTarget.objects.filter(plan__month=month_start(today), planned_on__lte=today)
    if user is not None:
        targets = targets.filter(assignee=user)
    return (
        targets.filter(~Exists(touched)).select_related("account", "assignee").order_by("planned_on", "-priority", "id")
    )


def follow_ups(user: User | None, today: dt.date | None = None) -> QuerySet[Touch]:
    """Next steps of `user`'s touches due today or earlier and not done (overdue: due before today)."""
    today = today or timezone.localdate()
    touches = Touch.objects.filter(next_step_done_at__isnull=True, next_step_due__lte=today)
    if user is not None:
        touches = touches.filter(csm=user)
    return touches.select_related("account", "csm", "contact").order_by("next_step_due", "id")


def _last_touch() -> Subquery:
    return Subquery(Touch.objects.filter(account_id=OuterRef("pk")).order_by("-occurred_at").values("occurred_at")[:1])


def breaching(user: User | None, today: dt.date | None = None) -> QuerySet[Account]:
    """Accounts owned by `user` (None: everyone's) not touched for longer than their tier allows, never
    touched ones first, then the longest untouched. Churned accounts and tiers without a rule are left out."""
    today = today or timezone.localdate()
    rule = Q()
    for tier, max_days in untouched_days().items():
        if max_days > 0:
            rule |= Q(tier=tier) & (
                Q(last_touch__isnull=True) | Q(last_touch__lt=local_midnight(today - dt.timedelta(days=max_days)))
            )
    if not rule:
        return Account.objects.none()
    accounts = Account.objects.exclude(lifecycle_stage=LifecycleStage.CHURNED)
    accounts = accounts.filter(owner=user) if user is not None else accounts.filter(owner__isnull=False)
    return (
        accounts.annotate(last_touch=_last_touch())
        .filter(rule)
        .select_related("owner")
        .defer("attributes", "search_text")
        .order_by(F("last_touch").asc(nulls_first=True), "-mrr", "id")
    )


@dataclass(frozen=True)
class TeamLine:
    user: User
    planned: int
    follow_ups: int
    overdue: int
    breaching: int

    @property
    def total(self) -> int:
        return self.planned + self.follow_ups + self.breaching


def team(today: dt.date | None = None) -> list[TeamLine]:
    """Per CSM (everyone accounts can be assigned to), how long each part of their queue is: three grouped
    queries whatever the team's size."""
    today = today or timezone.localdate()
    planned_n = dict(
        planned(None, today).order_by().values("assignee_id").annotate(n=Count("id")).values_list("assignee_id", "n")
    )
    follow = {
        row["csm_id"]: (row["n"], row["late"])
        for row in follow_ups(None, today)
        .order_by()
        .values("csm_id")
        .annotate(n=Count("id"), late=Count("id", filter=Q(next_step_due__lt=today)))
    }
    breach_n = dict(
        breaching(None, today).order_by().values("owner_id").annotate(n=Count("id")).values_list("owner_id", "n")
    )
    lines = [
        TeamLine(
            user,
            planned_n.get(user.pk, 0),
            follow.get(user.pk, (0, 0))[0],
            follow.get(user.pk, (0, 0))[1],
            breach_n.get(user.pk, 0),
        )
        for user in owner_choices()
    ]
    # CSMs always; anyone else (a manager who owns accounts) only with something in their queue.
    return [line for line in lines if line.user.role == Role.CSM or line.total]
