"""The analytics engine's business logic: the metric catalogue with custom metrics, computing metrics,
segments (preview, refresh with membership history), and the recompute run that does it all on schedule.
Views, the API, tasks and commands call these functions; none of them builds a query itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from banso.accounts.models import Account, EndUser
from banso.activity import lake
from banso.core.choices import AuditAction
from banso.core.models import User
from banso.core.services import record_change, snapshot

from .backends import Backend, get_backend
from .catalogue import BUILTIN, BUILTIN_KEYS, CatalogueMetric
from .engine import can_match_without_events, metric_table, plan_segment, segment_members
from .models import AnalyticsRun, MetricDefinition, RunStatus, Segment, SegmentMembership, SubjectType
from .specs import (
    AttributeRule,
    Group,
    MetricRule,
    MetricSpec,
    SegmentSpec,
    SpecError,
    Subject,
    check_key,
    parse_metric,
    parse_segment,
)
from .values import write_values

# Metrics -------------------------------------------------------------------------------------------


def catalogue(subject: Subject | None = None, *, include_inactive: bool = False) -> dict[str, CatalogueMetric]:
    """Every metric by key: the built-ins, then the custom ones (active only, unless asked)."""
    found = {metric.key: metric for metric in BUILTIN}
    customs = MetricDefinition.objects.all() if include_inactive else MetricDefinition.objects.filter(is_active=True)
    for definition in customs:
        try:
            spec = parse_metric(definition.spec)
        except SpecError:
            continue  # saved definitions are validated; one broken by a later rule change is skipped, not fatal
        found[definition.key] = CatalogueMetric(
            definition.key, definition.label, _("Custom"), spec, builtin=False, description=definition.description
        )
    if subject is not None:
        found = {key: metric for key, metric in found.items() if metric.spec.subject == subject}
    return found


AUDITED_METRIC_FIELDS = ("label", "description", "spec", "is_active")
AUDITED_SEGMENT_FIELDS = ("name", "description", "subject_type", "rules", "is_active")


def _save_audited(obj: MetricDefinition | Segment, fields: tuple[str, ...], actor: User | None, via: str) -> None:
    """Save a definition and log who changed what: metrics and segments decide what teams act on."""
    created = obj.pk is None
    before = None if created else snapshot(type(obj).objects.get(pk=obj.pk), fields)
    obj.save()
    action = AuditAction.CREATE if created else AuditAction.UPDATE
    record_change(
        actor=actor, obj=obj, action=action, before=before, after=snapshot(obj, fields), account_id=None, via=via
    )


def save_custom_metric(
    actor: User | None,
    *,
    key: str,
    label: str,
    spec: Any,
    description: str = "",
    is_active: bool = True,
    instance: MetricDefinition | None = None,
    via: str = "ui",
) -> MetricDefinition:
    """Validate and store a custom metric; raises SpecError naming each bad field."""
    errors: list[tuple[str, str]] = []
    if instance is None:
        try:
            check_key(key)
        except SpecError as error:
            errors.extend(error.errors)
        if key in BUILTIN_KEYS or MetricDefinition.objects.filter(key=key).exists():
            errors.append(("key", _("A metric with this key already exists.")))
    if not label.strip():
        errors.append(("label", _("Give the metric a name.")))
    try:
        parsed = parse_metric(spec)
    except SpecError as error:
        errors.extend((f"spec.{field}" if field else "spec", message) for field, message in error.errors)
    if errors:
        raise SpecError(errors)
    definition = instance or MetricDefinition(key=key, created_by=actor)
    definition.label = label.strip()
    definition.description = description
    definition.spec = parsed.model_dump(mode="json", exclude_defaults=True)
    definition.is_active = is_active
    definition.updated_at = timezone.now()
    _save_audited(definition, AUDITED_METRIC_FIELDS, actor, via)
    return definition


def update_custom_metric(
    actor: User | None,
    definition: MetricDefinition,
    *,
    label: str,
    spec: Any,
    description: str = "",
    is_active: bool = True,
    via: str = "ui",
) -> MetricDefinition:
    """Change a custom metric's definition and, if asked, switch it on or off: both or neither (switching
    off is refused while an active segment uses it)."""
    try:
        with transaction.atomic():
            save_custom_metric(
                actor,
                key=definition.key,
                label=label,
                spec=spec,
                description=description,
                is_active=definition.is_active,
                instance=definition,
                via=via,
            )
            if is_active != definition.is_active:
                set_metric_active(actor, definition, is_active, via=via)
    except SpecError:
        definition.refresh_from_db()
        raise
    return definition


def horizon(metrics: Iterable[MetricSpec], as_of: dt.date) -> dt.date | None:
    """The first day any of `metrics` reads (None: one of them reads all history)."""
    lookbacks = [spec.lookback_days for spec in metrics]
    if not lookbacks or None in lookbacks:
        return None
    return as_of - dt.timedelta(days=max(lb for lb in lookbacks if lb is not None) - 1)


def compute_metrics(
    subject: Subject, as_of: dt.date, metrics: Mapping[str, MetricSpec], backend: Backend | None = None
) -> pa.Table:
    """`subject_id` and one column per metric, for every subject with events in scope."""
    backend = backend or get_backend()
    events = backend.events(since=horizon(metrics.values(), as_of))
    return metric_table(events, metrics, subject, as_of).to_pyarrow()


# Segments ------------------------------------------------------------------------------------------

SUBJECT_FIELDS: dict[Subject, dict[str, str]] = {
    # rule field -> model field; anything else must be "attributes.<key>" (custom attributes)
    "account": {
        "kind": "kind",
        "tier": "tier",
        "lifecycle_stage": "lifecycle_stage",
        "industry": "industry",
        "owner": "owner_id",
        "mrr": "mrr",
        "next_renewal_date": "next_renewal_date",
    },
    "end_user": {"kind": "kind", "account": "account_id"},
}
SUBJECT_MODELS: dict[Subject, type[Account] | type[EndUser]] = {"account": Account, "end_user": EndUser}


@dataclass(frozen=True)
class SegmentQuery:
    spec: SegmentSpec
    backend: Backend
    as_of: dt.date

    def members(self) -> Any:
        plan = plan_segment(self.spec.rules, {k: m.spec for k, m in catalogue(self.spec.subject).items()})
        attributes = _attribute_rules(self.spec.rules)
        needs_subjects = bool(attributes) or can_match_without_events(plan)
        subjects: Any = None
        columns: dict[str, str] = {}
        if needs_subjects:
            subjects, columns = _subjects_table(self.spec.subject, attributes, self.backend)
        return segment_members(
            plan,
            self.backend.events(since=horizon(plan.metrics.values(), self.as_of)),
            self.spec.subject,
            self.as_of,
            subjects,
            columns,
        )


def _leaves(group: Group) -> list[MetricRule | AttributeRule]:
    """Every rule of a tree that is not a group, in order."""
    found: list[MetricRule | AttributeRule] = []
    for rule in group.rules:
        found.extend(_leaves(rule) if isinstance(rule, Group) else [rule])
    return found


def _attribute_rules(group: Group) -> list[AttributeRule]:
    return [rule for rule in _leaves(group) if isinstance(rule, AttributeRule)]


def _metric_rules(group: Group) -> list[MetricRule]:
    return [rule for rule in _leaves(group) if isinstance(rule, MetricRule)]


def _subjects_table(subject: Subject, rules: list[AttributeRule], backend: Backend) -> tuple[Any, dict[str, str]]:
    """Upload the subjects with the attribute columns the rules compare (numbers where a rule compares numbers)."""
    fields = SUBJECT_FIELDS[subject]
    needed = sorted({rule.field for rule in rules})
    columns = {name: f"a{i}" for i, name in enumerate(needed)}
    numeric = {rule.field for rule in rules if _is_numeric(rule.value)}
    model_fields = [fields[name] for name in needed if name in fields]
    wants_custom = any(name not in fields for name in needed)
    values = ["id", *model_fields, *(["attributes"] if wants_custom else [])]
    rows = list(SUBJECT_MODELS[subject].objects.values_list(*values))
    data: dict[str, pa.Array] = {"subject_id": pa.array([row[0] for row in rows], pa.int64())}
    for name in needed:
        if name in fields:
            position = values.index(fields[name])
            raw = [row[position] for row in rows]
        else:
            key = name.removeprefix("attributes.")
            raw = [(row[-1] or {}).get(key) for row in rows]
        data[columns[name]] = _as_column(raw, numeric=name in numeric)
    return backend.upload(pa.table(data)), columns


def _is_numeric(value: Any) -> bool:
    items = value if isinstance(value, list) else [value]
    return bool(items) and all(isinstance(item, int | float) and not isinstance(item, bool) for item in items)


def _as_column(raw: list[Any], *, numeric: bool) -> pa.Array:
    if numeric:
        out: list[float | None] = []
        for item in raw:
            try:
                out.append(None if item in (None, "") else float(item))
            except (TypeError, ValueError):
                out.append(None)
        return pa.array(out, pa.float64())
    return pa.array([None if item in (None, "") else str(item) for item in raw], pa.string())


def check_segment(data: Any) -> SegmentSpec:
    """Validate a segment (rules, metric keys, attribute fields); raises SpecError naming each problem."""
    spec = parse_segment(data)
    known = catalogue(spec.subject)
    errors: list[tuple[str, str]] = []
    for rule in _metric_rules(spec.rules):
        if isinstance(rule.metric, str) and rule.metric not in known:
            errors.append(("rules", _("Unknown metric “%(key)s” for these members.") % {"key": rule.metric}))
        if isinstance(rule.metric, MetricSpec) and rule.metric.subject != spec.subject:
            errors.append(("rules", _("A metric in the rules is about different members than the segment.")))
    for attribute in _attribute_rules(spec.rules):
        if attribute.field not in SUBJECT_FIELDS[spec.subject] and not attribute.field.startswith("attributes."):
            errors.append(("rules", _("Unknown attribute “%(field)s”.") % {"field": attribute.field}))
    if errors:
        raise SpecError(errors)
    return spec


def preview_count(data: Any, as_of: dt.date | None = None, backend: Backend | None = None) -> int:
    """How many subjects a segment definition selects now (nothing is stored)."""
    query = SegmentQuery(check_segment(data), backend or get_backend(), as_of or timezone.localdate())
    return int(query.members().count().execute())


def save_segment(
    actor: User | None,
    *,
    name: str,
    rules: Any,
    subject_type: Subject = "account",
    description: str = "",
    is_active: bool = True,
    instance: Segment | None = None,
    via: str = "ui",
) -> Segment:
    errors: list[tuple[str, str]] = []
    if not name.strip():
        errors.append(("name", _("Give the segment a name.")))
    try:
        spec = check_segment({"subject": subject_type, "rules": rules})
    except SpecError as error:
        errors.extend(error.errors)
    if errors:
        raise SpecError(errors)
    segment = instance or Segment(created_by=actor)
    if instance is not None and instance.subject_type != subject_type:
        raise SpecError([("subject_type", _("The members of an existing segment cannot change kind."))])
    segment.name, segment.description, segment.is_active = name.strip(), description, is_active
    segment.subject_type = subject_type
    segment.rules = spec.rules.model_dump(mode="json")  # keeps each rule's "type", which parsing needs
    segment.updated_at = timezone.now()
    _save_audited(segment, AUDITED_SEGMENT_FIELDS, actor, via)
    return segment


def segment_spec(segment: Segment) -> SegmentSpec:
    return parse_segment({"subject": segment.subject_type, "rules": segment.rules})


def refresh_segment(
    segment: Segment, as_of: dt.date | None = None, backend: Backend | None = None, now: dt.datetime | None = None
) -> tuple[int, int]:
    """Recompute the members and record who entered and who left; returns (entered, left)."""
    now = now or timezone.now()
    query = SegmentQuery(segment_spec(segment), backend or get_backend(), as_of or timezone.localdate())
    members = set(query.members().to_pyarrow()["subject_id"].to_pylist())
    with transaction.atomic():
        Segment.objects.select_for_update().filter(pk=segment.pk).first()
        current = set(segment.memberships.filter(left_at__isnull=True).values_list("subject_id", flat=True))
        entered, left = members - current, current - members
        SegmentMembership.objects.bulk_create(
            (SegmentMembership(segment=segment, subject_id=i, entered_at=now) for i in sorted(entered)),
            batch_size=5000,
        )
        gone = sorted(left)
        for start in range(0, len(gone), 5000):
            segment.memberships.filter(left_at__isnull=True, subject_id__in=gone[start : start + 5000]).update(
                left_at=now
            )
        Segment.objects.filter(pk=segment.pk).update(member_count=len(members), refreshed_at=now)
    segment.member_count, segment.refreshed_at = len(members), now
    return len(entered), len(left)


# The recompute run ---------------------------------------------------------------------------------


def start_recompute(actor: User | None, as_of: dt.date | None = None) -> AnalyticsRun:
    """Queue a recompute for the worker; the run's page shows its progress."""
    from .tasks import recompute

    run = AnalyticsRun.objects.create(as_of=as_of or timezone.localdate(), triggered_by=actor)
    transaction.on_commit(lambda: recompute.enqueue(run.pk))
    return run


class SegmentsFailed(Exception):
    def __init__(self, failures: list[str]) -> None:
        super().__init__(_("Segments not refreshed: %(list)s") % {"list": "; ".join(failures)})


def _existing_subjects(subject: Subject, table: pa.Table) -> pa.Table:
    """Drop subjects deleted from the app database whose events the Parquet copy still holds."""
    existing = pa.array(SUBJECT_MODELS[subject].objects.values_list("id", flat=True), pa.int64())
    return table.filter(pc.is_in(table["subject_id"], value_set=existing))


def run_recompute(
    run: AnalyticsRun, backend: Backend | None = None, echo: Callable[[str], None] | None = None
) -> AnalyticsRun:
    """Copy new events, compute every active metric, write the changed values, refresh active segments."""
    run.status, run.started_at = RunStatus.RUNNING, timezone.now()
    run.save(update_fields=["status", "started_at"])

    def step(percent: int, text: str, **counts: int) -> None:
        run.progress(percent, text, **counts)
        if echo:
            echo(f"{percent:3d}% {text}")

    try:
        backend = backend or get_backend()
        run.backend = backend.name
        run.save(update_fields=["backend"])
        if backend.uses_lake:
            step(2, _("Copying new events"))
            copied = lake.sync(progress=lambda n: step(5, _("Copying new events: %(n)s") % {"n": f"{n:,}"}))
            # Frequent small imports leave many small files per month; merging them keeps scans quick.
            lake.compact()
            step(20, _("Events copied"), events_synced=copied)
        written = 0
        subjects: tuple[tuple[int, Subject], ...] = ((25, "account"), (55, "end_user"))
        for percent, subject in subjects:
            metrics = {key: metric.spec for key, metric in catalogue(subject).items()}
            if not metrics:
                continue
            label = SubjectType(subject).label
            step(percent, _("Computing %(n)s metrics for %(subject)s") % {"n": len(metrics), "subject": label})
            table = _existing_subjects(subject, compute_metrics(subject, run.as_of, metrics, backend))
            written += write_values(subject, run.as_of, table, metrics)
            step(percent + 25, _("Metric values written"), values_written=written)
        segments = list(Segment.objects.filter(is_active=True))
        failed: list[str] = []
        for index, segment in enumerate(segments):
            step(80 + 19 * index // max(len(segments), 1), _("Refreshing segment “%(name)s”") % {"name": segment.name})
            try:
                refresh_segment(segment, run.as_of, backend)
            except (SpecError, KeyError, ValueError) as error:
                # One broken segment (e.g. naming a metric switched off in the admin) must not stop the others.
                failed.append(f"{segment.name}: {error}")
                continue
            run.segments_refreshed += 1
            AnalyticsRun.objects.filter(pk=run.pk).update(segments_refreshed=run.segments_refreshed)
        if failed:
            raise SegmentsFailed(failed)
        run.status = RunStatus.SUCCEEDED
        step(100, _("Done"))
    except SegmentsFailed as error:
        run.status, run.error = RunStatus.FAILED, str(error)
        step(100, _("Done, but some segments could not be refreshed"))
    except Exception as error:  # the run records any failure for the page, then the worker logs it
        run.status, run.error = RunStatus.FAILED, f"{type(error).__name__}: {error}"
        raise
    finally:
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
    return run


def due_recompute(now: dt.datetime | None = None, at: dt.time = dt.time(3, 0)) -> AnalyticsRun | None:
    """The scheduler's question: once a day after `at` (Japan time), queue that day's recompute.

    Safe with several schedulers: a unique constraint lets only one of them create the day's run."""
    from .tasks import recompute

    now = timezone.localtime(now or timezone.now())
    if now.time() < at or AnalyticsRun.objects.filter(as_of=now.date(), scheduled=True).exists():
        return None
    try:
        with transaction.atomic():
            run = AnalyticsRun.objects.create(as_of=now.date(), scheduled=True)
    except IntegrityError:
        return None
    transaction.on_commit(lambda: recompute.enqueue(run.pk))
    return run


def recompute_now(
    as_of: dt.date | None = None, backend: Backend | None = None, echo: Callable[[str], None] | None = None
) -> AnalyticsRun:
    """Run a recompute here and now (the command line), recorded like a queued one; raises if it fails."""
    run = AnalyticsRun.objects.create(as_of=as_of or timezone.localdate())
    return run_recompute(run, backend, echo)


def active_run() -> AnalyticsRun | None:
    """The latest run still queued or running, if any: a second one would only repeat its work."""
    return AnalyticsRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).first()


# Switching custom metrics off ----------------------------------------------------------------------


def segments_using(key: str) -> list[Segment]:
    """The active segments whose rules name the metric `key` (they stop working without it)."""
    found = []
    for segment in Segment.objects.filter(is_active=True):
        try:
            rules = segment_spec(segment).rules
        except SpecError:
            continue
        if any(rule.metric == key for rule in _metric_rules(rules)):
            found.append(segment)
    return found


def set_metric_active(
    actor: User | None, definition: MetricDefinition, active: bool, *, via: str = "ui"
) -> MetricDefinition:
    """Switch a custom metric on or off; refused while an active segment's rules name it."""
    if not active:
        using = segments_using(definition.key)
        if using:
            names = pgettext("list separator", ", ").join(segment.name for segment in using)
            raise SpecError([("is_active", _("Segments use this metric: %(names)s.") % {"names": names})])
    definition.is_active, definition.updated_at = active, timezone.now()
    _save_audited(definition, AUDITED_METRIC_FIELDS, actor, via)
    return definition
