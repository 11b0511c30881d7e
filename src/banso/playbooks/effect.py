"""A playbook's effect: the renewal rate of accounts that went through it against comparable accounts that
did not, over the same window, with a 95% interval for the difference; and its tasks' completion.

The window runs from the playbook's first run to its last run plus a horizon (renewals decided after the
run). An account's outcome is its first decided renewal in the window (after its run, for accounts that
went through the playbook): renewed, upgraded or downgraded counts as renewed, churned as not. Accounts with
no renewal record fall back to their contracts: renewed (by renewal date) or churned (by churn date).
Comparable accounts are those of the same kinds and touch tiers as the ones that went through it."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db.models import Max, Min, Q
from django.utils import timezone

from banso.accounts.choices import ContractStatus
from banso.accounts.models import Account, Contract
from banso.success.models import WON_STAGES, Renewal, RenewalStage

from .models import Playbook, PlaybookRun

HORIZON = dt.timedelta(days=180)
MIN_GROUP = 10  # decided renewals per group below which the difference is not worth reading
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Group:
    decided: int
    renewed: int

    @property
    def rate(self) -> float | None:
        return self.renewed / self.decided if self.decided else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson(self.renewed, self.decided)


@dataclass(frozen=True)
class Effect:
    start: dt.date | None
    end: dt.date | None
    treated: Group
    control: Group
    difference: float | None
    interval: tuple[float, float] | None  # 95% Newcombe interval for treated − control
    too_small: bool


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval for a proportion."""
    if n == 0:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(a: Group, b: Group) -> tuple[float, float] | None:
    """Newcombe's hybrid score interval (method 10) for the difference of two proportions, a − b."""
    if not a.decided or not b.decided or a.rate is None or b.rate is None:
        return None
    (l1, u1), (l2, u2) = wilson(a.renewed, a.decided), wilson(b.renewed, b.decided)  # type: ignore[misc]
    d = a.rate - b.rate
    lower = d - math.sqrt((a.rate - l1) ** 2 + (u2 - b.rate) ** 2)
    upper = d + math.sqrt((u1 - a.rate) ** 2 + (b.rate - l2) ** 2)
    return lower, upper


Outcome = tuple[dt.date, bool, tuple[str, str]]  # decided on, renewed?, the account's (kind, tier)


def _outcomes(accounts: Q, start: dt.date, end: dt.date) -> dict[int, Outcome]:
    """Per account matching `accounts` (a Q on `account__`): the first decided renewal record in the window;
    for accounts without one, their first renewed or churned contract in it. Subqueries, not id lists, so
    a playbook that ran on 100,000 accounts stays one query each."""
    out: dict[int, Outcome] = {}
    renewals = Renewal.objects.filter(
        accounts, renewal_date__range=(start, end), stage__in=(*WON_STAGES, RenewalStage.CHURNED)
    )
    for account_id, day, stage, kind, tier in renewals.order_by("renewal_date", "id").values_list(
        "account_id", "renewal_date", "stage", "account__kind", "account__tier"
    ):
        out.setdefault(account_id, (day, stage in WON_STAGES, (kind, tier)))
    from_contracts: dict[int, Outcome] = {}
    contracts = Contract.objects.filter(accounts, status__in=(ContractStatus.RENEWED, ContractStatus.CHURNED))
    for account_id, status, renewal_date, churned_on, kind, tier in contracts.values_list(
        "account_id", "status", "renewal_date", "churned_on", "account__kind", "account__tier"
    ):
        decided: dt.date | None = churned_on if status == ContractStatus.CHURNED else renewal_date
        if account_id in out or decided is None or not start <= decided <= end:
            continue
        previous = from_contracts.get(account_id)
        if previous is None or decided < previous[0]:
            from_contracts[account_id] = (decided, status == ContractStatus.RENEWED, (kind, tier))
    return out | from_contracts


def playbook_effect(playbook: Playbook, today: dt.date | None = None) -> Effect:
    today = today or timezone.localdate()
    runs = PlaybookRun.objects.filter(playbook=playbook)
    bounds = runs.aggregate(first=Min("started_at"), last=Max("started_at"))
    empty = Group(0, 0)
    if bounds["first"] is None:
        return Effect(None, None, empty, empty, None, None, True)
    start = timezone.localtime(bounds["first"]).date()
    end = min(today, timezone.localtime(bounds["last"]).date() + HORIZON)
    started: dict[int, dt.date] = {}
    for account_id, at in runs.order_by("started_at").values_list("account_id", "started_at"):
        started.setdefault(account_id, timezone.localtime(at).date())
    went_through = Q(account_id__in=runs.values("account_id"))
    treated_out = _outcomes(went_through, start, end)
    treated = [renewed for account_id, (day, renewed, _s) in treated_out.items() if day >= started[account_id]]
    shape = set(Account.objects.filter(pk__in=runs.values("account_id")).values_list("kind", "tier").distinct())
    comparable = Q(account__kind__in={k for k, _t in shape}, account__tier__in={t for _k, t in shape})
    control_out = _outcomes(comparable & ~went_through, start, end)
    control = [renewed for _day, renewed, pair in control_out.values() if pair in shape]
    a, b = Group(len(treated), sum(treated)), Group(len(control), sum(control))
    difference = a.rate - b.rate if a.rate is not None and b.rate is not None else None
    return Effect(start, end, a, b, difference, newcombe(a, b), min(a.decided, b.decided) < MIN_GROUP)
