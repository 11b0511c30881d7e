"""Computing client funnels: stage counts read through the analytics engine, the arithmetic of `engine.py`
(definitions there), and the results stored as `ClientFunnel` rows of a `FunnelRun`.

- `compute_all(funnel, as_of, run)`: every client at once. One query over the events (the Parquet copy on
  the default DuckDB engine) groups (client, stage, period) for the current period and the history periods
  together; per-project counts come from one grouped query on the app database, because the analytics copy
  carries no event properties. Then polars computes rates, benchmarks and bottlenecks for all clients, and
  the rows are written in bulk (`insert_frame`: COPY on PostgreSQL).
- `client_funnel(funnel, account, as_of, project)`: one client for its page, filtered to that client
  (plus every client's current period, which the benchmark needs).
- `stage_trend(funnel, account, periods, as_of)`: counts and rates per period, for the trend chart and
  the client report.
- `run_computation` / `start_computation` / `due_computation`: the background run (task in `tasks.py`)
  and the nightly job (`register`).

Periods are whole Japanese calendar days: the current one ends with the as-of day, (as_of − period_days,
as_of]; period i (1 = the one before) is the same length, i periods earlier.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ibis
import polars as pl
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.db.models.fields.json import KT
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import gettext_noop

from banso.accounts.choices import AccountKind
from banso.accounts.models import Account
from banso.activity import lake
from banso.activity.models import Event
from banso.analytics.backends import Backend, get_backend
from banso.analytics.engine import day_start
from banso.core import arrowdb
from banso.core.models import RunStatus, User
from banso.core.schedule import ScheduledJob, register_job

from . import engine
from .engine import TOTAL, StageInfo
from .models import ClientFunnel, Funnel, FunnelRun

logger = logging.getLogger(__name__)

# "{rate}: {points} pt below the benchmark: about {outcome} -{lost} a month" in Japanese reads
# "面接実施率が基準より12pt低い: 推定 内定-0.8件/月".
EXPLANATION = gettext_noop("{rate} is {points} pt below the benchmark: about {outcome} -{lost} a month")
NIGHTLY_AFTER = dt.time(4, 0)
KEY_STAGE = 32  # periods: at most 25 (history_periods ≤ 24)
KEY_ACCOUNT = (
    KEY_STAGE * 128
)  # stages: fewer than 128  # Japan time: after the analytics recompute (03:00) has copied the day's events

# The definitions as the pages show them (engine.py's docstring has the full text).
DEFINITIONS = [
    _lazy(
        "Count: the distinct applicants with an event of the stage in the period; events without an applicant "
        "count one each."
    ),
    _lazy("Rate: a stage's count divided by the previous stage's; none when the previous count is 0."),
    _lazy("Own history: the rates pooled over the client's previous periods."),
    _lazy(
        "Benchmark: the rates pooled over similar clients, the client itself left out; all clients when fewer "
        "than 3 are similar."
    ),
    _lazy(
        "Bottleneck: the stage whose shortfall against the benchmark loses the most final outcomes, carried "
        "through the later stages at the client's own rates (the benchmark's where it has none), per month."
    ),
]


@dataclass(frozen=True)
class Period:
    start: dt.date  # first day
    end: dt.date  # last day (inclusive, as ClientFunnel.period_end shows it)


def period(funnel: Funnel, as_of: dt.date, back: int = 0) -> Period:
    """The period ending on `as_of` (back=0), or `back` periods before it."""
    last = as_of - dt.timedelta(days=funnel.period_days * back)
    return Period(last - dt.timedelta(days=funnel.period_days - 1), last)


def stage_infos(funnel: Funnel) -> list[StageInfo]:
    return [StageInfo(s.label, s.rate_label) for s in funnel.stages.order_by("position")]


def _kinds(funnel: Funnel) -> dict[str, int]:
    return dict(funnel.stages.order_by("position").values_list("event_kind", "position"))


# Reading the counts -------------------------------------------------------------------------------------


def _period_of(occurred_at: Any, as_of: dt.date, period_days: int, periods: int) -> Any:
    """The period index of an event (0 the current period), exact at day boundaries on every engine."""
    bounds = [day_start(as_of + dt.timedelta(days=1 - period_days * (i + 1))) for i in range(periods)]
    return ibis.cases(*[(occurred_at >= ibis.literal(b, type="timestamp('UTC')"), i) for i, b in enumerate(bounds)])


def lake_counts(
    backend: Backend,
    funnel: Funnel,
    as_of: dt.date,
    periods: int,
    account_id: int | None = None,
    others_current: bool = False,
) -> pl.DataFrame:
    """Client totals per (account, stage, period) for `periods` periods ending on `as_of`, in one query.

    With `account_id`, only that client (the filter goes to the engine, which skips other data);
    `others_current` adds every other client's current period (for the benchmark)."""
    kinds = _kinds(funnel)
    schema = dict(engine.COUNT_SCHEMA)
    if not kinds:
        return pl.DataFrame(schema=schema)
    first = as_of + dt.timedelta(days=1 - funnel.period_days * periods)
    end = day_start(as_of + dt.timedelta(days=1))
    events = backend.events(since=first)
    ts = events.occurred_at
    where = events.kind.isin(list(kinds)) & events.account_id.notnull()
    where &= (ts >= ibis.literal(day_start(first), type="timestamp('UTC')")) & (
        ts < ibis.literal(end, type="timestamp('UTC')")
    )
    if account_id is not None:
        mine = events.account_id == account_id
        if others_current:
            current = ts >= ibis.literal(
                day_start(as_of + dt.timedelta(days=1 - funnel.period_days)), type="timestamp('UTC')"
            )
            mine |= current
        where &= mine
    # One integer key per (account, stage, period): DuckDB counts distinct applicants per group about a
    # third faster than with the three columns as keys (measured on the bench's 20 M events: 5.9 s of CPU
    # against 8.8 s); events without an applicant are the group's rows minus those with one.
    rows = events.filter(where)
    position = ibis.cases(*[(rows.kind == kind, k) for kind, k in kinds.items()])
    key = (
        rows.account_id * KEY_ACCOUNT
        + position * KEY_STAGE
        + _period_of(rows.occurred_at, as_of, funnel.period_days, periods)
    )
    keyed = rows.select(key=key, end_user_id=rows.end_user_id)
    grouped = keyed.group_by("key").aggregate(
        users=keyed.end_user_id.nunique(), rows=keyed.key.count(), known=keyed.end_user_id.count()
    )
    frame = pl.from_arrow(grouped.to_pyarrow())
    assert isinstance(frame, pl.DataFrame)
    if frame.is_empty():
        return pl.DataFrame(schema=schema)
    return frame.select(
        (pl.col("key") // KEY_ACCOUNT).alias("account_id"),
        pl.lit(TOTAL).alias("project"),
        (pl.col("key") % KEY_ACCOUNT // KEY_STAGE).alias("position"),
        (pl.col("key") % KEY_STAGE).alias("period"),
        (pl.col("users") + pl.col("rows") - pl.col("known")).alias("n"),
    ).cast(schema)  # type: ignore[arg-type]


def project_counts(
    funnel: Funnel, as_of: dt.date, periods: int, account_ids: Sequence[int] | None = None
) -> pl.DataFrame:
    """Per (client, project, stage, period) counts, from the app database (the analytics copy has no event
    properties): one grouped query, the period worked out by the database."""
    schema = dict(engine.COUNT_SCHEMA)
    kinds = _kinds(funnel)
    if not funnel.project_property or not kinds:
        return pl.DataFrame(schema=schema)
    first = as_of + dt.timedelta(days=1 - funnel.period_days * periods)
    events = Event.objects.filter(
        kind__in=list(kinds),
        account__isnull=False,
        occurred_at__gte=day_start(first),
        occurred_at__lt=day_start(as_of + dt.timedelta(days=1)),
    )
    if account_ids is not None:
        events = events.filter(account_id__in=list(account_ids))
    whens = [
        When(occurred_at__gte=day_start(as_of + dt.timedelta(days=1 - funnel.period_days * (i + 1))), then=Value(i))
        for i in range(periods)
    ]
    grouped: QuerySet[Any] = (
        events.annotate(project=KT(f"properties__{funnel.project_property}"))
        .exclude(project__isnull=True)
        .annotate(period=Case(*whens, output_field=IntegerField()))
        .values("account_id", "project", "kind", "period")
        .annotate(users=Count("end_user_id", distinct=True), anonymous=Count("id", filter=Q(end_user_id__isnull=True)))
        .order_by()
    )
    rows = [row for row in grouped if row["project"]]
    if not rows:
        return pl.DataFrame(schema=schema)
    frame = pl.DataFrame(rows)
    return frame.select(
        pl.col("account_id"),
        pl.col("project").cast(pl.String),
        pl.col("kind").replace_strict(kinds, return_dtype=pl.Int32).alias("position"),
        pl.col("period"),
        (pl.col("users") + pl.col("anonymous")).alias("n"),
    ).cast(schema)  # type: ignore[arg-type]


def peers_of(funnel: Funnel, account_ids: Sequence[int] | None = None) -> pl.DataFrame:
    """(account_id, peer): the value of the funnel's peer attribute for every client (all client-kind
    accounts, plus `account_ids`)."""
    accounts = Account.objects.filter(Q(kind=AccountKind.CLIENT) | Q(pk__in=list(account_ids or [])))
    attribute = funnel.peer_attribute
    if not attribute:
        ids = list(accounts.values_list("pk", flat=True))
        return pl.DataFrame({"account_id": ids, "peer": [""] * len(ids)}, schema=engine.CLIENT_SCHEMA)
    if attribute.startswith("attributes."):
        pairs = list(
            accounts.annotate(peer=KT(f"attributes__{attribute.removeprefix('attributes.')}")).values_list("pk", "peer")
        )
    else:
        pairs = list(accounts.values_list("pk", attribute))
    return pl.DataFrame(
        {"account_id": [pk for pk, _v in pairs], "peer": ["" if v is None else str(v) for _pk, v in pairs]},
        schema=engine.CLIENT_SCHEMA,
    )


# The whole run ------------------------------------------------------------------------------------------


def compute_all(
    funnel: Funnel,
    as_of: dt.date,
    run: FunnelRun | None = None,
    backend_factory: Callable[[], Backend] | None = None,
    timings: dict[str, float] | None = None,
) -> pl.DataFrame:
    """Every client's funnel for the period ending on `as_of` (one row per client and project, see
    `engine.funnel_table`, plus `explanation`). With `run`, the rows are stored as its ClientFunnels
    (replacing any it had) and progress is recorded on it. `timings` (the benchmark) gets the seconds of
    the query, the arithmetic and the writing."""
    clock = time.perf_counter()
    periods = funnel.history_periods + 1
    backend = (backend_factory or get_backend)()
    if run is not None:
        run.progress(10, _("Counting the stages"))
    counts = lake_counts(backend, funnel, as_of, periods)
    counts = pl.concat([counts, project_counts(funnel, as_of, periods)])
    clients = peers_of(funnel, counts["account_id"].unique().to_list())
    queried = time.perf_counter()
    if run is not None:
        run.progress(50, _("Comparing clients"))
    stages = stage_infos(funnel)
    table = engine.funnel_table(counts, clients, len(stages), funnel.period_days)
    with translation.override(settings.LANGUAGE_CODE):  # stored text: the workspace's language, not the worker's
        template = _(EXPLANATION)
    explained = [
        engine.explain(row, stages, template) if row["bottleneck_position"] else ""
        for row in table.select("bottleneck_position", "rates", "benchmark_rates", "loss_per_month").to_dicts()
    ]
    table = table.with_columns(pl.Series("explanation", explained, dtype=pl.String))
    computed = time.perf_counter()
    if run is not None:
        run.progress(80, _("Saving the results"))
        write_results(run, table, period(funnel, as_of))
        run.progress(
            95,
            _("Saved"),
            clients=table.filter(pl.col("project") == TOTAL).height,
            events=int(counts.filter(pl.col("project") == TOTAL)["n"].sum() or 0),
        )
    if timings is not None:
        finished = time.perf_counter()
        timings.update(query=queried - clock, compute=computed - queried, write=finished - computed)
    return table


def _json_list(column: str) -> pl.Expr:
    return pl.format("[{}]", pl.col(column).list.eval(pl.element().cast(pl.String).fill_null("null")).list.join(", "))


def write_results(run: FunnelRun, table: pl.DataFrame, span: Period) -> int:
    """Store the rows as the run's ClientFunnels in one bulk insert (replacing what the run had)."""
    rows = table.select(
        pl.lit(run.pk).alias("run_id"),
        "account_id",
        "project",
        pl.lit(span.start.isoformat()).alias("period_start"),
        pl.lit(span.end.isoformat()).alias("period_end"),
        _json_list("counts").alias("counts"),
        _json_list("rates").alias("rates"),
        _json_list("history_rates").alias("history_rates"),
        _json_list("benchmark_rates").alias("benchmark_rates"),
        "peer_group",
        "peers",
        "bottleneck_position",
        pl.col("loss_per_month").cast(pl.String),
        pl.col("explanation").str.slice(0, 300),
    )
    with transaction.atomic():
        ClientFunnel.objects.filter(run=run).delete()
        return arrowdb.insert_frame(ClientFunnel._meta.db_table, rows, rows.columns)


# One client -------------------------------------------------------------------------------------------


@dataclass
class ClientFunnelResult:
    """One client's (or project's) funnel as the pages show it."""

    stages: list[StageInfo]
    period: Period
    counts: list[int]
    rates: list[float | None]
    history_rates: list[float | None]
    benchmark_rates: list[float | None]
    peer_group: str
    peers: int
    bottleneck_position: int | None
    loss_per_month: Decimal
    explanation: str


def client_funnel(
    funnel: Funnel,
    account: Account,
    as_of: dt.date,
    project: str = TOTAL,
    backend_factory: Callable[[], Backend] | None = None,
) -> ClientFunnelResult:
    """`account`'s funnel (or one of its projects') now, computed on the spot: its own periods and every
    client's current period (the benchmark), read in one query."""
    periods = funnel.history_periods + 1
    backend = (backend_factory or get_backend)()
    counts = lake_counts(backend, funnel, as_of, periods, account_id=account.pk, others_current=True)
    if project != TOTAL:
        counts = pl.concat([counts, project_counts(funnel, as_of, periods, [account.pk])])
    clients = peers_of(funnel, [*counts["account_id"].unique().to_list(), account.pk])
    stages = stage_infos(funnel)
    table = engine.funnel_table(counts, clients, len(stages), funnel.period_days)
    found = table.filter((pl.col("account_id") == account.pk) & (pl.col("project") == project))
    if found.is_empty():  # a project without events in these periods: nothing counted, its client's benchmark
        nothing = pl.lit([None] * len(stages), dtype=pl.List(pl.Float64))
        found = table.filter((pl.col("account_id") == account.pk) & (pl.col("project") == TOTAL)).with_columns(
            project=pl.lit(project),
            counts=pl.lit([0] * len(stages), dtype=pl.List(pl.Int64)),
            rates=nothing,
            history_rates=nothing,
            bottleneck_position=pl.lit(None, dtype=pl.Int32),
            loss=pl.lit(0.0),
            loss_per_month=pl.lit(Decimal("0.00"), dtype=pl.Decimal(12, 2)),
        )
    row = found.to_dicts()[0]
    position = row["bottleneck_position"]
    return ClientFunnelResult(
        stages=stages,
        period=period(funnel, as_of),
        counts=row["counts"],
        rates=row["rates"],
        history_rates=row["history_rates"],
        benchmark_rates=row["benchmark_rates"],
        peer_group=row["peer_group"] or "",
        peers=int(row["peers"] or 0),
        bottleneck_position=None if position is None else int(position),
        loss_per_month=row["loss_per_month"],
        explanation=engine.explain(row, stages, _(EXPLANATION)),
    )


def stage_trend(
    funnel: Funnel,
    account: Account,
    periods: int,
    as_of: dt.date | None = None,
    backend_factory: Callable[[], Backend] | None = None,
) -> pl.DataFrame:
    """`account`'s counts and rates in each of the last `periods` periods, oldest first: period_start,
    period_end, counts (list per stage), rates (list, rates[0] null)."""
    as_of = as_of or timezone.localdate()
    backend = (backend_factory or get_backend)()
    counts = lake_counts(backend, funnel, as_of, periods, account_id=account.pk)
    n = funnel.stages.count()
    by_period = counts.with_columns(pl.col("period").alias("account_id").cast(pl.Int64), period=pl.lit(0))
    spans = [period(funnel, as_of, back) for back in range(periods)]
    table = engine.funnel_table(
        by_period,
        pl.DataFrame({"account_id": list(range(periods)), "peer": [""] * periods}, schema=engine.CLIENT_SCHEMA),
        n,
        funnel.period_days,
    )
    return (
        table.filter(pl.col("project") == TOTAL)
        .select(
            pl.col("account_id").alias("back"),
            pl.col("account_id").map_elements(lambda b: spans[b].start, return_dtype=pl.Date).alias("period_start"),
            pl.col("account_id").map_elements(lambda b: spans[b].end, return_dtype=pl.Date).alias("period_end"),
            "counts",
            "rates",
        )
        .sort("back", descending=True)
        .drop("back")
    )


# Background run and schedule -------------------------------------------------------------------------------


def run_computation(run: FunnelRun, backend_factory: Callable[[], Backend] | None = None) -> FunnelRun:
    """Carry out a queued (or command-line) run: copy new events to the analytics copy, compute, store."""
    run.status, run.started_at = RunStatus.RUNNING, timezone.now()
    run.save(update_fields=["status", "started_at"])
    try:
        if backend_factory is None and _uses_lake():
            run.progress(5, _("Copying new events"))
            lake.sync()
        compute_all(run.funnel, run.as_of, run=run, backend_factory=backend_factory)
        run.status, run.percent = RunStatus.SUCCEEDED, 100
        run.step = _("%(n)s clients computed") % {"n": run.clients}
    except Exception as error:
        run.status, run.error = RunStatus.FAILED, f"{type(error).__name__}: {error}"
        raise
    finally:
        run.finished_at = timezone.now()
        run.save()
    return run


def _uses_lake() -> bool:
    return settings.BANSO_ANALYTICS_BACKEND in ("duckdb", "pyspark")


def compute_now(funnel: Funnel, as_of: dt.date | None = None, actor: User | None = None) -> FunnelRun:
    """Compute here and now (the command line and tests), recorded like a queued run."""
    run = FunnelRun.objects.create(funnel=funnel, as_of=as_of or timezone.localdate(), triggered_by=actor)
    return run_computation(run)


def start_computation(
    funnel: Funnel, actor: User | None, as_of: dt.date | None = None, *, scheduled: bool = False
) -> FunnelRun:
    """Queue a run for the worker (the "compute now" button, the API and the nightly job)."""
    from .tasks import compute_funnel_task

    run = FunnelRun.objects.create(
        funnel=funnel, as_of=as_of or timezone.localdate(), triggered_by=actor, scheduled=scheduled
    )
    transaction.on_commit(lambda: compute_funnel_task.enqueue(run.pk))
    return run


def latest_run(funnel: Funnel) -> FunnelRun | None:
    """The latest finished run, whose ClientFunnels the pages show."""
    return FunnelRun.objects.filter(funnel=funnel, status=RunStatus.SUCCEEDED).order_by("-as_of", "-created_at").first()


def due_computation(now: dt.datetime | None = None) -> list[FunnelRun]:
    """The scheduler's question, every minute: after 04:00 Japan time, queue each funnel's run for
    yesterday (the last whole day) once. Several schedulers: the unique constraint on scheduled
    (funnel, as_of) lets one of them create it."""
    local = timezone.localtime(now or timezone.now())
    if local.time() < NIGHTLY_AFTER:
        return []
    as_of = local.date() - dt.timedelta(days=1)
    queued = []
    for funnel in Funnel.objects.exclude(runs__as_of=as_of, runs__scheduled=True):
        if FunnelRun.objects.filter(funnel=funnel, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).exists():
            continue
        try:
            with transaction.atomic():
                queued.append(start_computation(funnel, None, as_of, scheduled=True))
        except IntegrityError:
            continue
    return queued


def _due_job(now: dt.datetime) -> str | None:
    runs = due_computation(now)
    return None if not runs else f"funnels: {len(runs)} computation(s) queued"


def register() -> None:
    """Called from the app's registry: the nightly funnel computation."""
    register_job(ScheduledJob("funnels.compute", _due_job))
