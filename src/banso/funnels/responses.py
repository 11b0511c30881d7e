"""First response to new applicants: `ApplicantResponse` rows kept in step with the events, the live queue of
applicants still waiting for a first contact, the "contacted" action, and how response time relates to
reaching the next stage (seed 002: 即レス).

`sync()` reads the events after its watermark, in id order and in chunks. Every (client, applicant) pair met in
a chunk is recomputed from all of that pair's events of the three kinds (application, contact, next stage)
up to the chunk's last id, so events arriving in any order (a contact stored before its application, an
earlier application imported late) give the same row, and reading a chunk twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.activity import lake
from banso.activity.models import Event
from banso.activity.store import EVENT_WRITE_LOCK, append_events
from banso.core.business_hours import TOKYO, BusinessHours
from banso.core.calendar import closed_days
from banso.core.models import User

from .models import ApplicantResponse, Funnel, ResponseSync

CHUNK_EVENTS = 2_000
# One scheduler tick reads at most this many events per funnel; the next tick goes on from the watermark.
MAX_EVENTS_PER_SYNC = 10_000
# A gap of more event ids than this behind the watermark goes to a background task instead.
BACKLOG_EVENT_IDS = 50_000
# A page or API call syncs what arrived since the last tick, not a backlog (that is the scheduler's job).
PAGE_SYNC_EVENTS = 5_000
DEFAULT_CONTACT_KIND = "applicant_contacted"
AMBER_MINUTES = 5
QUEUE_LIMIT = 200
# The live queue shows applicants of the last two weeks; older ones never contacted are lost chances, counted
# by relation() as "never contacted", not work for today.
QUEUE_DAYS = 14
Z95 = 1.959963984540054


# --- configuration -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kinds:
    application: str
    contact: str
    next_stage: str | None

    @property
    def all(self) -> list[str]:
        return [k for k in (self.application, self.contact, self.next_stage) if k]


def kinds_of(funnel: Funnel) -> Kinds | None:
    """The funnel's application (first stage), contact and next-stage kinds; None without a contact kind."""
    stage_kinds = list(funnel.stages.order_by("position").values_list("event_kind", flat=True)[:2])
    if not stage_kinds or not funnel.response_event_kind:
        return None
    return Kinds(stage_kinds[0], funnel.response_event_kind, stage_kinds[1] if len(stage_kinds) > 1 else None)


def hours_of(funnel: Funnel) -> BusinessHours:
    return BusinessHours.from_json(funnel.business_hours)


def default_funnel() -> Funnel | None:
    return Funnel.objects.exclude(response_event_kind="").order_by("-is_default", "name").first()


# --- sync ----------------------------------------------------------------------------------------------------


@dataclass
class SyncResult:
    events: int = 0
    created: int = 0
    updated: int = 0


def _committed_bound(wait: bool) -> int | None:
    """lake.committed_bound(), or None when `wait` is False and an event import is still writing (PostgreSQL):
    a page must not hang behind a long import; the scheduler's next tick catches up."""
    if wait or connection.vendor != "postgresql":
        return lake.committed_bound()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [EVENT_WRITE_LOCK])
        if not cursor.fetchone()[0]:
            return None
        try:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {Event._meta.db_table}")  # noqa: S608
            return int(cursor.fetchone()[0])
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [EVENT_WRITE_LOCK])


def sync(funnel: Funnel, max_events: int | None = MAX_EVENTS_PER_SYNC, *, wait: bool = True) -> SyncResult:
    """Bring the funnel's applicant responses up to the committed events; returns what changed. With
    `wait=False` (pages) it does nothing while an event import is still writing."""
    result = SyncResult()
    kinds = kinds_of(funnel)
    if kinds is None:
        return result
    hours = hours_of(funnel)
    ResponseSync.objects.get_or_create(funnel=funnel)
    bound = _committed_bound(wait)
    if bound is None:
        return result
    while max_events is None or result.events < max_events:
        with transaction.atomic():
            state = ResponseSync.objects.select_for_update().get(funnel=funnel)
            chunk = list(
                Event.objects.filter(
                    id__gt=state.last_event_id,
                    id__lte=bound,
                    kind__in=kinds.all,
                    account__isnull=False,
                    end_user__isnull=False,
                )
                .order_by("id")
                .values_list("id", "account_id", "end_user_id")[:CHUNK_EVENTS]
            )
            if not chunk:
                state.last_event_id = max(state.last_event_id, bound)
                state.synced_at = timezone.now()
                state.save(update_fields=["last_event_id", "synced_at"])
                break
            last_id = chunk[-1][0]
            created, updated = _recompute(funnel, kinds, hours, {(a, u) for _i, a, u in chunk}, last_id)
            state.last_event_id = last_id
            state.synced_at = timezone.now()
            state.save(update_fields=["last_event_id", "synced_at"])
        result.events += len(chunk)
        result.created += created
        result.updated += updated
    return result


def _recompute(
    funnel: Funnel, kinds: Kinds, hours: BusinessHours, pairs: set[tuple[int, int]], upto: int
) -> tuple[int, int]:
    """Recompute the rows of `pairs` from their events with ids up to `upto`; returns (created, updated)."""
    users = sorted({u for _a, u in pairs})
    events = Event.objects.filter(end_user_id__in=users, kind__in=kinds.all, id__lte=upto).values_list(
        "account_id", "end_user_id", "kind", "occurred_at", "properties"
    )
    by_pair: dict[tuple[int, int], list[tuple[str, dt.datetime, Any]]] = defaultdict(list)
    for account_id, user_id, kind, when, properties in events:
        if (account_id, user_id) in pairs:
            by_pair[(account_id, user_id)].append((kind, when, properties))
    wanted: dict[tuple[int, int], dict[str, Any]] = {}
    for pair, rows in by_pair.items():
        applications = sorted((when, props) for kind, when, props in rows if kind == kinds.application)
        if not applications:
            continue  # a contact or interview before its application: the application will bring it in
        applied_at, props = applications[0]
        contacts = [when for kind, when, _p in rows if kind == kinds.contact and when >= applied_at]
        nexts = [when for kind, when, _p in rows if kind == kinds.next_stage and when >= applied_at]
        project = ""
        if funnel.project_property and isinstance(props, dict):
            project = str(props.get(funnel.project_property) or "")[:200]
        wanted[pair] = {
            "applied_at": applied_at,
            "project": project,
            "first_contact_at": min(contacts) if contacts else None,
            "next_stage_at": min(nexts) if nexts else None,
        }
    if not wanted:
        return 0, 0
    span = [v["applied_at"] for v in wanted.values()] + [
        v["first_contact_at"] or v["applied_at"] for v in wanted.values()
    ]
    closed = closed_days(min(span).astimezone(TOKYO).date(), max(span).astimezone(TOKYO).date())
    for values in wanted.values():
        contact = values["first_contact_at"]
        values["response_minutes"] = (
            None if contact is None else hours.minutes_between(values["applied_at"], contact, closed)
        )
    existing = {
        (row.account_id, row.end_user_id): row
        for row in ApplicantResponse.objects.filter(
            funnel=funnel,
            end_user_id__in=sorted({u for _a, u in wanted}),
            account_id__in=sorted({a for a, _u in wanted}),
        )
    }
    changed: list[ApplicantResponse] = []
    new: list[ApplicantResponse] = []
    for (account_id, user_id), values in wanted.items():
        row = existing.get((account_id, user_id))
        if row is None:
            new.append(ApplicantResponse(funnel=funnel, account_id=account_id, end_user_id=user_id, **values))
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            changed.append(row)
    ApplicantResponse.objects.bulk_create(new, ignore_conflicts=True)
    ApplicantResponse.objects.bulk_update(changed, list(next(iter(wanted.values())).keys()))
    return len(new), len(changed)


def sync_all(max_events: int | None = MAX_EVENTS_PER_SYNC) -> SyncResult:
    total = SyncResult()
    for funnel in Funnel.objects.exclude(response_event_kind=""):
        part = sync(funnel, max_events)
        total.events += part.events
        total.created += part.created
        total.updated += part.updated
    return total


def _backlog() -> int:
    """Event ids not yet read by the funnel furthest behind (an upper bound on the events to read)."""
    newest = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    oldest = Event.objects.order_by("id").values_list("id", flat=True).first() or 1
    funnels = Funnel.objects.exclude(response_event_kind="")
    marks = dict(ResponseSync.objects.filter(funnel__in=funnels).values_list("funnel_id", "last_event_id"))
    return max((newest - marks.get(pk, oldest - 1) for pk in funnels.values_list("pk", flat=True)), default=0)


def due_job(now: dt.datetime) -> str | None:
    """Every minute: sync every funnel with a first-contact kind inline (a few new events each); a backlog goes
    to one background task, queued unless one is queued or running already."""
    if _backlog() > BACKLOG_EVENT_IDS:
        from banso.core.schedule import enqueue_unless_pending

        from .response_tasks import sync_responses

        # A task running longer than an hour belonged to a worker that died.
        if not enqueue_unless_pending(sync_responses, now, stale_after=dt.timedelta(hours=1)):
            return None
        return "first responses: backlog sync queued"
    result = sync_all()
    if not (result.created or result.updated):
        return None
    return f"first responses: {result.created} new applicants, {result.updated} updated"


def register() -> None:
    """From funnels.registry: the scheduler's minute-by-minute sync."""
    from banso.core.schedule import ScheduledJob, register_job

    register_job(ScheduledJob("funnels.responses", due_job))


# --- the live queue ------------------------------------------------------------------------------------------


@dataclass
class Waiting:
    row: ApplicantResponse
    waited: int  # business minutes so far
    left: int  # business minutes to the target (negative: past it)
    deadline: dt.datetime

    @property
    def over(self) -> int:
        return max(0, -self.left)

    @property
    def state(self) -> str:
        if self.left <= 0:
            return "breached"
        if self.left < AMBER_MINUTES:
            return "due"
        return "ok"


def waiting_rows(funnel: Funnel) -> QuerySet[ApplicantResponse]:
    return ApplicantResponse.objects.filter(
        funnel=funnel, first_contact_at__isnull=True, next_stage_at__isnull=True
    ).select_related("account", "account__owner", "end_user")


def queue(
    funnel: Funnel,
    *,
    owner: User | None = None,
    account_id: int | None = None,
    now: dt.datetime | None = None,
    limit: int = QUEUE_LIMIT,
    days: int = QUEUE_DAYS,
) -> tuple[list[Waiting], int]:
    """Applicants of the last `days` days waiting for a first contact, oldest first, with the business minutes
    waited and left; and how many wait in all (the list stops at `limit`)."""
    now = now or timezone.now()
    rows = waiting_rows(funnel).filter(applied_at__gte=now - dt.timedelta(days=days))
    if owner is not None:
        rows = rows.filter(account__owner=owner)
    if account_id is not None:
        rows = rows.filter(account_id=account_id)
    total = rows.count()
    page = list(rows.order_by("applied_at", "id")[:limit])
    if not page:
        return [], total
    hours = hours_of(funnel)
    closed = closed_days(
        page[0].applied_at.astimezone(TOKYO).date(), now.astimezone(TOKYO).date() + dt.timedelta(days=60)
    )
    target = funnel.response_target_minutes
    out = []
    for row in page:
        waited = hours.minutes_between(row.applied_at, now, closed)
        out.append(Waiting(row, waited, target - waited, hours.add_minutes(row.applied_at, target, closed)))
    return out, total


def record_contact(response: ApplicantResponse, actor: User | None, now: dt.datetime | None = None) -> bool:
    """Record the first contact of a waiting applicant: an event of the funnel's contact kind (so every report
    sees it) and the row at once. False when the applicant had been contacted already (nothing written)."""
    now = now or timezone.now()
    funnel = response.funnel
    with transaction.atomic():
        row = ApplicantResponse.objects.select_for_update().get(pk=response.pk)
        if row.first_contact_at is not None:
            return False
        properties: dict[str, Any] = {"by": actor.pk if actor else None}
        if funnel.project_property and row.project:
            properties[funnel.project_property] = row.project
        frame = pl.DataFrame(
            {
                "source": ["banso"],
                "external_id": [f"contact-{uuid.uuid4()}"],
                "account_id": [row.account_id],
                "end_user_id": [row.end_user_id],
                "kind": [funnel.response_event_kind or DEFAULT_CONTACT_KIND],
                "occurred_at": [now.astimezone(dt.UTC)],
                "value": [None],
                "properties": [json.dumps(properties, ensure_ascii=False)],
            },
            schema_overrides={"value": pl.String, "occurred_at": pl.Datetime("us", "UTC")},
        )
        append_events(frame)
        row.first_contact_at = now
        row.response_minutes = hours_of(funnel).minutes_between(row.applied_at, now)
        row.save(update_fields=["first_contact_at", "response_minutes"])
    response.first_contact_at, response.response_minutes = row.first_contact_at, row.response_minutes
    return True


# --- response time and the next stage ------------------------------------------------------------------------


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson score interval of a proportion (None, None for n = 0)."""
    if n == 0:
        return None, None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class Bucket:
    key: str
    label: str
    applicants: int = 0
    reached: int = 0

    @property
    def rate(self) -> float | None:
        return self.reached / self.applicants if self.applicants else None

    @property
    def interval(self) -> tuple[float | None, float | None]:
        return wilson(self.reached, self.applicants)


@dataclass
class Regression:
    n: int
    too_small: bool
    reason: str = ""
    odds_ratio: float | None = None  # per doubling of (1 + response minutes)
    low: float | None = None
    high: float | None = None


@dataclass
class Relation:
    since: dt.date
    until: dt.date
    target: int
    buckets: list[Bucket]
    regression: Regression
    attainment_clients: list[dict[str, Any]] = field(default_factory=list)
    attainment_people: list[dict[str, Any]] = field(default_factory=list)


MIN_REGRESSION_N = 30
MIN_REGRESSION_CLASS = 5


def bucket_edges(hours: BusinessHours) -> list[tuple[str, str, int | None]]:
    """(key, label, upper bound in business minutes, inclusive) for the contacted buckets."""
    return [
        ("15m", _("≤ 15 min"), 15),
        ("1h", _("15–60 min"), 60),
        ("4h", _("1–4 h"), 240),
        ("1d", _("4 h – 1 business day"), max(hours.day_minutes, 241)),
        ("more", _("> 1 business day"), None),
    ]


def relation(funnel: Funnel, since: dt.date, until: dt.date | None = None) -> Relation:
    """Applicants who applied in [since, until] by response time bucket, with the share that reached the next
    stage (Wilson 95% interval), a logistic regression of reaching it on log1p(response minutes), and the share
    answered within the target per client and per CSM per month."""
    until = until or timezone.localdate()
    start = dt.datetime.combine(since, dt.time(), TOKYO)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), TOKYO)
    rows = ApplicantResponse.objects.filter(funnel=funnel, applied_at__gte=start, applied_at__lt=end)
    pairs = list(rows.values_list("response_minutes", "next_stage_at"))
    hours = hours_of(funnel)
    edges = bucket_edges(hours)
    buckets = [Bucket(key, label) for key, label, _u in edges] + [Bucket("never", _("Never contacted"))]
    for minutes, next_at in pairs:
        bucket = buckets[-1] if minutes is None else buckets[_bucket_index(minutes, edges)]
        bucket.applicants += 1
        bucket.reached += next_at is not None
    contacted = [(m, n is not None) for m, n in pairs if m is not None]
    return Relation(
        since=since,
        until=until,
        target=funnel.response_target_minutes,
        buckets=buckets,
        regression=logistic(contacted),
        attainment_clients=_attainment(rows, funnel.response_target_minutes, ("account_id", "account__name")),
        attainment_people=_attainment(
            rows,
            funnel.response_target_minutes,
            ("account__owner_id", "account__owner__display_name", "account__owner__username"),
        ),
    )


def _bucket_index(minutes: int, edges: list[tuple[str, str, int | None]]) -> int:
    for index, (_k, _l, upper) in enumerate(edges):
        if upper is None or minutes <= upper:
            return index
    return len(edges) - 1


def logistic(observations: Iterable[tuple[int, bool]]) -> Regression:
    """Logistic regression of reached-next-stage on log1p(minutes); the odds ratio per doubling of (1 + minutes)
    with a Wald 95% interval. Too small below 30 applicants or 5 in either outcome."""
    data = list(observations)
    n = len(data)
    reached = sum(1 for _m, r in data if r)
    if n < MIN_REGRESSION_N or min(reached, n - reached) < MIN_REGRESSION_CLASS:
        return Regression(
            n,
            True,
            _("Too few contacted applicants to estimate (%(n)s; at least %(min)s, with %(cls)s in each outcome).")
            % {"n": n, "min": MIN_REGRESSION_N, "cls": MIN_REGRESSION_CLASS},
        )
    from sklearn.linear_model import LogisticRegression

    x = np.log1p(np.array([m for m, _r in data], dtype=float))
    y = np.array([r for _m, r in data], dtype=int)
    if np.ptp(x) == 0:
        return Regression(n, True, _("Every applicant was answered in the same time: nothing to compare."))
    model = LogisticRegression(C=np.inf, max_iter=1000).fit(x.reshape(-1, 1), y)
    slope = float(model.coef_[0][0])
    p = model.predict_proba(x.reshape(-1, 1))[:, 1]
    design = np.column_stack([np.ones(n), x])
    information = design.T @ (design * (p * (1 - p))[:, None])
    try:
        se = float(math.sqrt(np.linalg.inv(information)[1, 1]))
    except np.linalg.LinAlgError:
        return Regression(n, True, _("The data separate perfectly: no finite estimate."))
    ln2 = math.log(2)
    return Regression(
        n,
        False,
        odds_ratio=math.exp(slope * ln2),
        low=math.exp((slope - Z95 * se) * ln2),
        high=math.exp((slope + Z95 * se) * ln2),
    )


def _attainment(rows: QuerySet[ApplicantResponse], target: int, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Per month and per `keys` (id, name, fallback name): applicants and the share answered within the target."""
    grouped = (
        rows.annotate(month=TruncMonth("applied_at", tzinfo=TOKYO))
        .values("month", *keys)
        .annotate(applicants=Count("id"), within=Count("id", filter=Q(response_minutes__lte=target)))
        .order_by("month", keys[1])
    )
    out = []
    for line in grouped:
        month = line["month"]
        out.append(
            {
                "month": month.date() if isinstance(month, dt.datetime) else month,
                "id": line[keys[0]],
                "name": next((str(line[k]) for k in keys[1:] if line[k]), ""),
                "applicants": line["applicants"],
                "within": line["within"],
                "rate": line["within"] / line["applicants"] if line["applicants"] else None,
            }
        )
    return out
