"""Scorecards' business logic: designing cards (each edit a new immutable version), deciding which card scores
which account, rescoring a day for every account at once (vectorised, written in bulk), the scheduled
daily rescore, and reading scores back with their explanation and "what moved it".
Views, the API, tasks and commands call these functions."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.accounts.choices import LifecycleStage, TouchTier
from banso.accounts.models import Account
from banso.activity import lake
from banso.analytics.backends import get_backend
from banso.analytics.models import AnalyticsRun, Segment, SegmentMembership
from banso.analytics.models import RunStatus as AnalyticsStatus
from banso.analytics.specs import SpecError
from banso.core import arrowdb
from banso.core.choices import AuditAction
from banso.core.models import User
from banso.core.services import record_change, snapshot

from . import measures
from .measures import MeasureOption
from .models import Band, HealthRun, HealthSnapshot, RunStatus, Scorecard, ScorecardVersion
from .scoring import NO_RULE, CardDefinition, Range, Thresholds, dump_definition, parse_definition, score_frame

log = logging.getLogger(__name__)

# Measures ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OptionGroup:
    category: str
    options: list[tuple[str, str]]  # (measure key, label)


def measure_options() -> dict[str, MeasureOption]:
    """Every measure a card can use, by its full key (`metric:logins_30d`), in registration order."""
    found: dict[str, MeasureOption] = {}
    for prefix, source in measures.sources().items():
        try:
            options = source.options()
        except Exception:  # a broken source must not take the designer down with it
            log.exception("measure source %s: options failed", prefix)
            continue
        for option in options:
            found[f"{prefix}:{option.key}"] = option
    return found


def option_groups() -> list[OptionGroup]:
    """The measures grouped by category, for the designer's picker."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for key, option in measure_options().items():
        category = str(option.category or measures.sources()[key.split(":")[0]].label)
        groups.setdefault(category, []).append((key, str(option.label)))
    return [OptionGroup(category, options) for category, options in groups.items()]


def measure_label(key: str, options: dict[str, MeasureOption] | None = None, given: str = "") -> str:
    if given:
        return given
    option = (options if options is not None else measure_options()).get(key)
    return str(option.label) if option else key


# Designing cards -----------------------------------------------------------------------------------

AUDITED_FIELDS = ("name", "description", "segment", "tier", "priority", "is_active", "current")


def check_card(
    *, name: str, definition: Any, segment: Segment | None, tier: str, priority: int
) -> tuple[CardDefinition, list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []
    parsed: CardDefinition | None = None
    if not name.strip():
        errors.append(("name", _("Give the scorecard a name.")))
    if tier and tier not in TouchTier.values:
        errors.append(("tier", _("Unknown touch tier “%(tier)s”.") % {"tier": tier}))
    if segment is not None and tier:
        errors.append(("tier", _("Choose a segment or a touch tier, not both.")))
    if segment is not None and segment.subject_type != "account":
        errors.append(("segment", _("The segment must be of accounts.")))
    if priority < 0:
        errors.append(("priority", _("The priority must be 0 or more.")))
    try:
        parsed = parse_definition(definition)
    except SpecError as error:
        errors.extend((f"definition.{f}" if f else "definition", message) for f, message in error.errors)
    if parsed is not None:
        # Saved versions stay readable if a measure disappears later; a new one may only use what exists now.
        known = measure_options()
        for index, measure in enumerate(parsed.measures):
            if measure.key not in known:
                message = _("Unknown measure “%(key)s”.") % {"key": measure.key}
                errors.append((f"definition.measures.{index}.key", message))
    return parsed or CardDefinition.model_construct(measures=()), errors


def save_scorecard(
    actor: User | None,
    *,
    name: str,
    definition: Any,
    description: str = "",
    segment: Segment | None = None,
    tier: str = "",
    priority: int = 100,
    is_active: bool = True,
    note: str = "",
    instance: Scorecard | None = None,
    via: str = "ui",
) -> Scorecard:
    """Create a card, or change one: a changed definition becomes a new version (earlier versions, and the
    snapshots computed with them, stay as they were). Raises SpecError naming each bad field."""
    parsed, errors = check_card(name=name, definition=definition, segment=segment, tier=tier, priority=priority)
    if errors:
        raise SpecError(errors)
    data = dump_definition(parsed)
    with transaction.atomic():
        created = instance is None
        card = instance or Scorecard(created_by=actor)
        before = None if created else snapshot(Scorecard.objects.get(pk=card.pk), AUDITED_FIELDS)
        card.name, card.description = name.strip(), description
        card.segment, card.tier, card.priority, card.is_active = segment, tier, priority, is_active
        card.updated_at = timezone.now()
        card.save()
        current = card.current
        if current is None or current.definition != data:
            number = (card.versions.aggregate(n=Max("number"))["n"] or 0) + 1
            version = ScorecardVersion.objects.create(
                scorecard=card, number=number, definition=data, note=note[:300], created_by=actor
            )
            card.current = version
            card.save(update_fields=["current"])
        action = AuditAction.CREATE if created else AuditAction.UPDATE
        record_change(
            actor=actor,
            obj=card,
            action=action,
            before=before,
            after=snapshot(card, AUDITED_FIELDS),
            account_id=None,
            via=via,
        )
    return card


def definition_of(version: ScorecardVersion) -> CardDefinition:
    return parse_definition(version.definition)


def _mapping_text(mapping: Thresholds | Range) -> str:
    if isinstance(mapping, Range):
        return _("linear from %(bad)s (0 points) to %(good)s (100 points)") % {
            "bad": _num(mapping.bad),
            "good": _num(mapping.good),
        }
    steps = ", ".join(f"≥ {_num(s.min)} → {_num(s.points)}" for s in mapping.steps)
    return _("%(steps)s, otherwise %(points)s") % {"steps": steps, "points": _num(mapping.otherwise)}


def _num(value: float) -> str:
    return f"{value:g}"


def version_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """What a version changed against the one before, in words (the card page lists them)."""
    new = parse_definition(after)
    if before is None:
        return [_("First version: %(n)s measures") % {"n": len(new.measures)}]
    try:
        old = parse_definition(before)
    except SpecError:
        return [_("Definition replaced")]
    options = measure_options()
    changes: list[str] = []
    old_by_key = {m.key: m for m in old.measures}
    new_by_key = {m.key: m for m in new.measures}
    for key, measure in new_by_key.items():
        label = measure_label(key, options, measure.label)
        was = old_by_key.get(key)
        if was is None:
            changes.append(_("Added %(label)s (weight %(w)s)") % {"label": label, "w": _num(measure.weight)})
            continue
        if was.weight != measure.weight:
            changes.append(
                _("%(label)s: weight %(a)s → %(b)s")
                % {"label": label, "a": _num(was.weight), "b": _num(measure.weight)}
            )
        if was.mapping != measure.mapping:
            changes.append(
                _("%(label)s: mapping changed to %(text)s") % {"label": label, "text": _mapping_text(measure.mapping)}
            )
    for key, measure in old_by_key.items():
        if key not in new_by_key:
            changes.append(_("Removed %(label)s") % {"label": measure_label(key, options, measure.label)})
    if old.bands != new.bands:
        changes.append(
            _("Bands: red below %(red)s, green from %(green)s")
            % {"red": _num(new.bands.red_below), "green": _num(new.bands.green_from)}
        )
    return changes or [_("No change to the definition")]


# Which card scores which account -------------------------------------------------------------------


def _segment_members(segment_id: int, as_of: dt.date) -> list[int]:
    """Members of a segment at the end of the day (from the membership history, so past days are exact)."""
    end = timezone.make_aware(dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time()))
    stays = SegmentMembership.objects.filter(segment_id=segment_id, entered_at__lt=end).exclude(left_at__lte=end)
    return list(stays.values_list("subject_id", flat=True))


def active_cards() -> list[Scorecard]:
    """Active cards with a version, in the order they are tried (priority, then id; the default ones last)."""
    cards = list(Scorecard.objects.filter(is_active=True, current__isnull=False).select_related("current"))
    return sorted(cards, key=lambda c: (c.is_default, c.priority, c.pk))


def assign_cards(as_of: dt.date, cards: list[Scorecard] | None = None) -> pl.DataFrame:
    """`account_id`, `scorecard_id`: each scored account with the first active card that matches it.

    Accounts that have churned are not scored."""
    cards = active_cards() if cards is None else cards
    rows = Account.objects.exclude(lifecycle_stage=LifecycleStage.CHURNED).values_list("id", "tier")
    accounts = pl.DataFrame(list(rows), schema={"account_id": pl.Int64, "tier": pl.String}, orient="row")
    remaining = accounts
    taken: list[pl.DataFrame] = []
    for card in cards:
        if card.segment_id is not None:
            members = pl.DataFrame({"account_id": pl.Series(_segment_members(card.segment_id, as_of), dtype=pl.Int64)})
            matched = remaining.join(members, on="account_id", how="semi")
        elif card.tier:
            matched = remaining.filter(pl.col("tier") == card.tier)
        else:
            matched = remaining
        taken.append(matched.select("account_id", pl.lit(card.pk, pl.Int64).alias("scorecard_id")))
        remaining = remaining.join(matched, on="account_id", how="anti")
    if not taken:
        return pl.DataFrame(schema={"account_id": pl.Int64, "scorecard_id": pl.Int64})
    return pl.concat(taken)


# Measured values -----------------------------------------------------------------------------------


def measure_values(keys: Iterable[str], as_of: dt.date, account_ids: list[int] | None = None) -> pl.DataFrame:
    """`account_id` and one Float64 column per measure key, asking each source once for all its keys."""
    by_source: dict[str, list[str]] = {}
    for key in dict.fromkeys(keys):
        prefix, name = measures.split_key(key)
        by_source.setdefault(prefix, []).append(name)
    ids = pl.Series(account_ids if account_ids is not None else [], dtype=pl.Int64)
    frame = pl.DataFrame({"account_id": ids}) if account_ids is not None else None
    for prefix, names in by_source.items():
        values = measures.sources()[prefix].values(names, as_of, account_ids)
        values = values.select(
            pl.col("account_id").cast(pl.Int64),
            *[pl.col(name).cast(pl.Float64).alias(f"{prefix}:{name}") for name in names],
        )
        frame = values if frame is None else frame.join(values, on="account_id", how="full", coalesce=True)
    if frame is None:
        return pl.DataFrame(schema={"account_id": pl.Int64})
    return frame


# Rescoring -----------------------------------------------------------------------------------------


def score_day(as_of: dt.date, cards: list[Scorecard] | None = None) -> pl.DataFrame:
    """Every scored account's result for the day: `account_id`, `scorecard_id`, `version_id`, `score`,
    `band`, `values` (JSON of the raw values by measure key). Nothing is written."""
    cards = active_cards() if cards is None else cards
    assigned = assign_cards(as_of, cards)
    definitions = {card.pk: definition_of(card.current) for card in cards if card.current is not None}
    keys = [m.key for d in definitions.values() for m in d.measures]
    if assigned.is_empty() or not keys:
        return _empty_scores()
    values = measure_values(keys, as_of, None)
    values = assigned.join(values, on="account_id", how="left")
    results = []
    for card in cards:
        definition = definitions[card.pk]
        mine = values.filter(pl.col("scorecard_id") == card.pk)
        if mine.is_empty():
            continue
        scored = score_frame(definition, mine)
        # The raw values as a JSON array in the version's measure order (compact: 100,000 a day).
        items = [
            pl.when(pl.col(f"v{i}").is_finite()).then(pl.col(f"v{i}").cast(pl.String)).otherwise(pl.lit("null"))
            for i in range(len(definition.measures))
        ]
        raw = pl.concat_str([pl.lit("["), pl.concat_str(items, separator=","), pl.lit("]")])
        results.append(
            scored.filter(pl.col("score").is_not_null()).select(
                "account_id",
                pl.lit(card.pk, pl.Int64).alias("scorecard_id"),
                pl.lit(card.current_id, pl.Int64).alias("version_id"),
                "score",
                "band",
                raw.alias("values"),
            )
        )
    return pl.concat(results) if results else _empty_scores()


def _empty_scores() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "account_id": pl.Int64,
            "scorecard_id": pl.Int64,
            "version_id": pl.Int64,
            "score": pl.Float64,
            "band": pl.String,
            "values": pl.String,
        }
    )


def _previous_scores(as_of: dt.date) -> pl.DataFrame:
    """Scores of the latest day before `as_of` that has snapshots (what "change" compares with)."""
    day = HealthSnapshot.objects.filter(day__lt=as_of).aggregate(d=Max("day"))["d"]
    rows = [] if day is None else list(HealthSnapshot.objects.filter(day=day).values_list("account_id", "score"))
    return pl.DataFrame(
        [(a, float(s)) for a, s in rows], schema={"account_id": pl.Int64, "previous": pl.Float64}, orient="row"
    )


SNAPSHOT_COLUMNS = ("account_id", "day", "score", "band", "change", "scorecard_id", "version_id", "values")


def write_snapshots(as_of: dt.date, scores: pl.DataFrame) -> int:
    """Replace the day's snapshots with `scores` in one transaction; returns how many were written.

    Written in bulk, not through model instances (`core.arrowdb.insert_frame`: COPY on PostgreSQL)."""
    existing = pl.DataFrame(
        {"account_id": pl.Series(list(Account.objects.values_list("id", flat=True)), dtype=pl.Int64)}
    )
    rows = (
        scores.join(existing, on="account_id", how="semi")  # accounts deleted meanwhile are skipped
        .join(_previous_scores(as_of), on="account_id", how="left")
        .select(
            "account_id",
            pl.lit(as_of.isoformat()).alias("day"),
            pl.col("score").round(1).cast(pl.String).alias("score"),
            "band",
            (pl.col("score") - pl.col("previous")).round(1).cast(pl.String).alias("change"),
            "scorecard_id",
            "version_id",
            "values",
        )
    )
    with transaction.atomic():
        HealthSnapshot.objects.filter(day=as_of).delete()
        arrowdb.insert_frame(HealthSnapshot._meta.db_table, rows, SNAPSHOT_COLUMNS)
    return rows.height


def run_rescore(run: HealthRun, backend: Any = None, echo: Callable[[str], None] | None = None) -> HealthRun:
    """Score every account with its card for `run.as_of` and replace that day's snapshots."""
    run.status, run.started_at = RunStatus.RUNNING, timezone.now()
    run.save(update_fields=["status", "started_at"])

    def step(percent: int, text: str, **counts: int) -> None:
        run.progress(percent, text, **counts)
        if echo:
            echo(f"{percent:3d}% {text}")

    try:
        backend = backend or get_backend()
        if backend.uses_lake:
            step(2, _("Copying new events"))
            lake.sync()  # incremental: usually nothing, as the day's analytics recompute has just run
        cards = active_cards()
        step(5, _("Scoring %(n)s scorecards") % {"n": len(cards)})
        with measures.using_backend(backend):
            scores = score_day(run.as_of, cards)
        step(70, _("Writing %(n)s scores") % {"n": f"{scores.height:,}"})
        written = write_snapshots(run.as_of, scores)
        run.status = RunStatus.SUCCEEDED
        step(100, _("Done"), accounts_scored=written)
    except Exception as error:  # recorded for the page, then raised for the worker or the command
        run.status, run.error = RunStatus.FAILED, f"{type(error).__name__}: {error}"
        raise
    finally:
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
    return run


def rescore(as_of: dt.date | None = None, backend: Any = None, echo: Callable[[str], None] | None = None) -> HealthRun:
    """Rescore a day here and now (command line, demo, benchmark), recorded like a queued run."""
    run = HealthRun.objects.create(as_of=as_of or timezone.localdate())
    return run_rescore(run, backend, echo)


def start_rescore(actor: User | None, as_of: dt.date | None = None) -> HealthRun:
    """Queue a rescore for the worker; its page shows the progress."""
    from .tasks import rescore_task

    run = HealthRun.objects.create(as_of=as_of or timezone.localdate(), triggered_by=actor)
    transaction.on_commit(lambda: rescore_task.enqueue(run.pk))
    return run


def active_run() -> HealthRun | None:
    return HealthRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).first()


def due_rescore(now: dt.datetime | None = None) -> HealthRun | None:
    """The scheduler's question: once the day's analytics recompute has succeeded, queue the day's rescore,
    once per day however many schedulers ask (a unique constraint lets only one create it)."""
    from .tasks import rescore_task

    today = timezone.localtime(now or timezone.now()).date()
    if HealthRun.objects.filter(as_of=today, scheduled=True).exists():
        return None
    if not AnalyticsRun.objects.filter(as_of=today, status=AnalyticsStatus.SUCCEEDED).exists():
        return None
    try:
        with transaction.atomic():
            run = HealthRun.objects.create(as_of=today, scheduled=True)
    except IntegrityError:
        return None
    transaction.on_commit(lambda: rescore_task.enqueue(run.pk))
    return run


def scheduled_job(now: dt.datetime) -> str | None:
    run = due_rescore(now)
    return None if run is None else f"health rescore queued for {run.as_of}"


# Reading scores ------------------------------------------------------------------------------------


def latest_day() -> dt.date | None:
    day: dt.date | None = HealthSnapshot.objects.aggregate(d=Max("day"))["d"]
    return day


def band_distribution(day: dt.date, scorecard_id: int | None = None) -> dict[str, int]:
    snapshots = HealthSnapshot.objects.filter(day=day)
    if scorecard_id:
        snapshots = snapshots.filter(scorecard_id=scorecard_id)
    counts = {row["band"]: row["n"] for row in snapshots.values("band").annotate(n=Count("id"))}
    return {band: counts.get(band, 0) for band in Band.values}


@dataclass
class MeasureLine:
    key: str
    label: str
    unit: str
    raw: float | None
    points: float | None
    rule: str
    weight: float  # nominal, as on the card
    effective_weight: float  # share of the score, 0–100 %
    contribution: float  # points × effective share

    @property
    def has_data(self) -> bool:
        return self.raw is not None


@dataclass
class Explanation:
    account_id: int
    day: dt.date
    score: Decimal
    band: str
    scorecard: Scorecard
    version: ScorecardVersion
    lines: list[MeasureLine] = field(default_factory=list)

    @property
    def redistributed(self) -> bool:
        return any(not line.has_data for line in self.lines)


def _rule_text(mapping: Thresholds | Range, rule: int | None) -> str:
    if rule is None:
        return ""
    if isinstance(mapping, Range):
        return _mapping_text(mapping)
    if rule == NO_RULE:
        return _("below %(min)s → %(points)s") % {
            "min": _num(mapping.steps[-1].min),
            "points": _num(mapping.otherwise),
        }
    step = mapping.steps[rule]
    return f"≥ {_num(step.min)} → {_num(step.points)}"


def _stored_value(values: Any, index: int, key: str) -> Any:
    """A measure's raw value as stored: a list in the version's measure order (or, keyed by measure, a dict)."""
    if isinstance(values, list):
        return values[index] if index < len(values) else None
    return (values or {}).get(key)


def raw_values(snap: HealthSnapshot) -> dict[str, float | None]:
    """The snapshot's raw values by measure key."""
    definition = definition_of(snap.version)
    return {m.key: _stored_value(snap.values, i, m.key) for i, m in enumerate(definition.measures)}


def explain(snap: HealthSnapshot) -> Explanation:
    """Each measure of the snapshot's version: raw value, points, matched rule, weights and contribution;
    recomputed from the stored raw values with the same scoring, so it is exactly what was scored."""
    definition = definition_of(snap.version)
    options = measure_options()
    row: dict[str, Any] = {"account_id": [snap.account_id]}
    for index, measure in enumerate(definition.measures):
        raw = _stored_value(snap.values, index, measure.key)
        row[measure.key] = [None if raw is None else float(raw)]
    frame = pl.DataFrame(row, schema={"account_id": pl.Int64, **{m.key: pl.Float64 for m in definition.measures}})
    scored = score_frame(definition, frame).row(0, named=True)
    lines = []
    for i, measure in enumerate(definition.measures):
        option = options.get(measure.key)
        points, share = scored[f"p{i}"], scored[f"w{i}"]
        lines.append(
            MeasureLine(
                key=measure.key,
                label=measure_label(measure.key, options, measure.label),
                unit=str(option.unit) if option else "",
                raw=scored[f"v{i}"],
                points=None if points is None else round(points, 1),
                rule=_rule_text(measure.mapping, scored[f"r{i}"]),
                weight=measure.weight,
                effective_weight=round(share * 100, 1),
                contribution=round((points or 0.0) * share, 1),
            )
        )
    return Explanation(snap.account_id, snap.day, snap.score, snap.band, snap.scorecard, snap.version, lines)


def snapshot_on(account_id: int, day: dt.date | None = None) -> HealthSnapshot | None:
    """The account's snapshot on `day` (None: its latest)."""
    found = HealthSnapshot.objects.filter(account_id=account_id).select_related("scorecard", "version")
    if day is not None:
        found = found.filter(day=day)
    return found.order_by("-day").first()


def history(account_id: int, since: dt.date | None = None) -> list[HealthSnapshot]:
    found = HealthSnapshot.objects.filter(account_id=account_id)
    if since is not None:
        found = found.filter(day__gte=since)
    return list(found.order_by("day").only("day", "score", "band", "change", "version_id", "scorecard_id"))


@dataclass
class Movement:
    key: str
    label: str
    before_raw: float | None
    after_raw: float | None
    before_contribution: float
    after_contribution: float

    @property
    def delta(self) -> float:
        return round(self.after_contribution - self.before_contribution, 1)


@dataclass
class Comparison:
    before: Explanation
    after: Explanation
    movements: list[Movement]  # largest change of contribution first

    @property
    def change(self) -> Decimal:
        return self.after.score - self.before.score

    @property
    def top(self) -> Movement | None:
        return self.movements[0] if self.movements and self.movements[0].delta != 0 else None


def compare(account_id: int, day: dt.date, against: dt.date | None = None) -> Comparison | None:
    """What moved the score: the snapshot of `day` against `against` (default: the one before it), measure
    by measure, the measure whose contribution changed most first."""
    after = snapshot_on(account_id, day)
    if after is None:
        return None
    earlier = HealthSnapshot.objects.filter(account_id=account_id).select_related("scorecard", "version")
    earlier = earlier.filter(day=against) if against is not None else earlier.filter(day__lt=day).order_by("-day")
    before = earlier.first()
    if before is None:
        return None
    old, new = explain(before), explain(after)
    old_lines = {line.key: line for line in old.lines}
    new_lines = {line.key: line for line in new.lines}
    movements = []
    for key in dict.fromkeys([*new_lines, *old_lines]):
        a, b = old_lines.get(key), new_lines.get(key)
        movements.append(
            Movement(
                key=key,
                label=(b or a).label,  # type: ignore[union-attr]
                before_raw=a.raw if a else None,
                after_raw=b.raw if b else None,
                before_contribution=a.contribution if a else 0.0,
                after_contribution=b.contribution if b else 0.0,
            )
        )
    movements.sort(key=lambda m: (-abs(m.delta), m.label))
    return Comparison(old, new, movements)


def preview(definition: Any, as_of: dt.date | None = None, backend: Any = None) -> dict[str, Any]:
    """Score a draft definition for every scored account on a day (nothing stored): band counts and a
    histogram by tens. Raises SpecError for a bad definition."""
    parsed = parse_definition(definition)
    as_of = as_of or timezone.localdate()
    accounts = Account.objects.exclude(lifecycle_stage=LifecycleStage.CHURNED).values_list("id", flat=True)
    ids = list(accounts)
    with measures.using_backend(backend):
        values = measure_values([m.key for m in parsed.measures], as_of, ids)
    scored = score_frame(parsed, values).filter(pl.col("score").is_not_null())
    bands = dict.fromkeys(Band.values, 0)
    for band, n in scored.group_by("band").len().iter_rows():
        bands[band] = n
    buckets = [0] * 10
    for bucket, n in (
        scored.select((pl.col("score") // 10).clip(0, 9).cast(pl.Int64).alias("b")).group_by("b").len().iter_rows()
    ):
        buckets[bucket] = n
    mean = scored["score"].mean() if scored.height else None
    return {"accounts": scored.height, "bands": bands, "buckets": buckets, "mean": mean, "as_of": as_of}
