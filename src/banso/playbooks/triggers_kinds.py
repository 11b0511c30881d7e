"""What each trigger kind watches, its settings, and the accounts it fires for: one set-based computation per
kind over all accounts (a few grouped queries, or the analytics engine for events), never a loop over accounts.

Each kind returns a frame of (account_id, cause, context). The cause names the state change itself (the day a
band changed, the renewal date, the survey answer...), so the same change never starts a playbook twice on an
account: runs are unique per (playbook, account, cause).

Event-based kinds read the analytics engine's copy of the events (brought up to date first). The support
desk (issue 7) feeds them: `inquiry_spike` counts its inquiry events (kind "inquiry_opened" unless the
playbook names another), and `sla_breach` reacts to the "sla_breach" events it writes when an SLA is
missed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import ibis
import polars as pl
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from banso.accounts.models import Account, Contact
from banso.analytics.models import Segment, SegmentMembership
from banso.analytics.specs import MetricSpec, Window
from banso.churn.models import RiskPrediction
from banso.health.models import Band, HealthSnapshot, SurveyKind, SurveyResponse

from .models import TriggerKind

FIRED_SCHEMA = {"account_id": pl.Int64, "cause": pl.String, "context": pl.String}
DATE_COLUMNS = ("next_renewal_date", "created_at")


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=FIRED_SCHEMA)


@dataclass
class Moment:
    """The instant an evaluation looks from, its Japanese day, and the analytics engine (opened on demand)."""

    now: dt.datetime
    backend_factory: Callable[[], Any] | None = None
    _backend: Any = field(default=None, init=False, repr=False)

    @cached_property
    def today(self) -> dt.date:
        return timezone.localdate(self.now)

    def days_ago(self, days: int) -> dt.datetime:
        return self.now - dt.timedelta(days=days)

    def start_of(self, day: dt.date) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min))

    @property
    def backend(self) -> Any:
        if self._backend is None:
            from banso.analytics.backends import get_backend

            backend = (self.backend_factory or get_backend)()
            if backend.uses_lake:
                from banso.activity import lake

                lake.sync()
            self._backend = backend
        return self._backend


# Settings --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One setting of a trigger kind, for validation and for the editor's form. `type` is int, number,
    bands, text, segment or date_field."""

    name: str
    label: Any
    type: str
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None

    @property
    def required(self) -> bool:
        return self.default is None


WINDOW = Param("within_days", _("look back (days)"), "int", 7, 1, 365)
PARAMS: dict[str, tuple[Param, ...]] = {
    TriggerKind.HEALTH_BAND: (
        Param("to_bands", _("to bands"), "bands"),
        Param("from_bands", _("from bands (any if empty)"), "bands", []),
    ),
    TriggerKind.RISK_THRESHOLD: (Param("threshold", _("churn probability at least"), "number", None, 0.01, 0.99),),
    TriggerKind.RENEWAL_DUE: (
        Param("days", _("days before renewal"), "int", None, 0, 730),
        Param("window", _("days late still firing"), "int", 3, 0, 60),
    ),
    TriggerKind.NO_TOUCH: (Param("days", _("days without a touch"), "int", None, 1, 730),),
    TriggerKind.SURVEY_DETRACTOR: (Param("max_score", _("NPS score at most"), "int", 6, 0, 10), WINDOW),
    TriggerKind.INQUIRY_SPIKE: (
        Param("event_kind", _("event kind"), "text", "inquiry_opened"),
        Param("days", _("over the last (days)"), "int", 7, 1, 28),
        Param("min_count", _("at least (events)"), "int", 3, 1, 10000),
        Param("ratio", _("times the usual rate"), "number", 2.0, 1.0, 100.0),
    ),
    TriggerKind.SLA_BREACH: (Param("within_days", _("look back (days)"), "int", 1, 1, 30),),
    TriggerKind.CONTACT_CHANGED: (WINDOW,),
    TriggerKind.SEGMENT_ENTERED: (Param("segment_id", _("segment"), "segment"), WINDOW),
    TriggerKind.SEGMENT_LEFT: (Param("segment_id", _("segment"), "segment"), WINDOW),
    TriggerKind.DATE_REACHED: (
        Param("attribute", _("date (column or custom attribute)"), "date_field"),
        Param("offset_days", _("days after the date (negative: before)"), "int", 0, -365, 365),
        Param("window", _("days late still firing"), "int", 3, 0, 60),
    ),
    TriggerKind.EVENT: (
        Param("event_kind", _("event kind"), "text"),
        Param("within_days", _("look back (days)"), "int", 1, 1, 30),
    ),
    TriggerKind.MANUAL: (),
}


def validate_params(kind: str, params: Any) -> dict[str, Any]:
    """Check a trigger's settings for `kind` and return them with defaults filled in.

    Raises ValidationError keyed "trigger" (unknown kind), "trigger_params" (not an object) or
    "trigger_params.<name>" for the setting at fault."""
    if kind not in PARAMS:
        raise ValidationError({"trigger": _("Unknown trigger “%(kind)s”.") % {"kind": kind}})
    if params in (None, ""):
        params = {}
    if not isinstance(params, dict):
        raise ValidationError({"trigger_params": _("Trigger settings must be an object.")})
    specs = {param.name: param for param in PARAMS[kind]}
    errors: dict[str, list[Any]] = {}
    for name in sorted(set(params) - set(specs)):
        errors.setdefault(f"trigger_params.{name}", []).append(_("Unknown setting for this trigger."))
    cleaned: dict[str, Any] = {}
    for name, param in specs.items():
        try:
            cleaned[name] = _param(param, params.get(name))
        except ValidationError as error:
            errors.setdefault(f"trigger_params.{name}", []).extend(error.messages)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _param(param: Param, value: Any) -> Any:
    if value in (None, "", []):
        if param.required:
            raise ValidationError(_("This field is required."))
        return param.default
    if param.type in ("int", "segment"):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(_("Enter a whole number."))
    elif param.type == "number":
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValidationError(_("Enter a number.")) from None
    elif param.type == "bands":
        bands = value if isinstance(value, list) else [value]
        if any(band not in Band.values for band in bands):
            raise ValidationError(_("Choose among: %(expected)s.") % {"expected": ", ".join(Band.values)})
        return sorted(set(bands), key=Band.values.index)
    elif param.type in ("text", "date_field"):
        value = str(value).strip()
        valid = value in DATE_COLUMNS or value.removeprefix("attributes.").replace("_", "a").isalnum()
        if param.type == "date_field" and not valid:
            raise ValidationError(_("Name a date column (next_renewal_date, created_at) or a custom attribute."))
        if len(value) > 50:
            raise ValidationError(_("At most %(n)s characters.") % {"n": 50})
        return value.removeprefix("attributes.") if param.type == "date_field" else value
    if param.minimum is not None and value < param.minimum:
        raise ValidationError(_("Enter %(n)s or more.") % {"n": _number(param.minimum)})
    if param.maximum is not None and value > param.maximum:
        raise ValidationError(_("Enter %(n)s or less.") % {"n": _number(param.maximum)})
    if param.type == "segment" and not Segment.objects.filter(pk=value, subject_type="account").exists():
        raise ValidationError(_("No segment of accounts with this id."))
    return value


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# Helpers ---------------------------------------------------------------------------------------------


def _frame(rows: list[tuple[Any, ...]], columns: list[str], schema: dict[str, Any] | None = None) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema or columns, orient="row")


def _finish(frame: pl.DataFrame, cause: pl.Expr, context: list[str]) -> pl.DataFrame:
    """The fired frame: account, cause and the context columns as a JSON object (dates as text)."""
    if frame.is_empty():
        return empty()
    cast = [pl.col(c).cast(pl.String) if frame.schema[c] in (pl.Date, pl.Datetime) else pl.col(c) for c in context]
    return frame.select(
        pl.col("account_id").cast(pl.Int64),
        cause.cast(pl.String).alias("cause"),
        pl.struct(cast).struct.json_encode().alias("context"),
    )


def _local_date(column: str) -> pl.Expr:
    return pl.col(column).dt.convert_time_zone(str(timezone.get_current_timezone())).dt.date()


# Kinds -----------------------------------------------------------------------------------------------


def health_band(params: dict[str, Any], at: Moment) -> pl.DataFrame:
    """The band of the latest snapshot day differs from the day before's and is one of `to_bands`. One join
    of the two days' snapshots in the database (a correlated lookup per account cost 0.9 s at 100,000)."""
    latest = HealthSnapshot.objects.filter(day__lte=at.today).aggregate(d=Max("day"))["d"]
    previous = latest and HealthSnapshot.objects.filter(day__lt=latest).aggregate(d=Max("day"))["d"]
    if not latest or not previous:
        return empty()
    table = connection.ops.quote_name(HealthSnapshot._meta.db_table)
    bands = list(params["to_bands"])
    marks = ", ".join(["%s"] * len(bands))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT l.account_id, l.band, p.band FROM {table} l JOIN {table} p"  # noqa: S608 (names, not input)
            f" ON p.account_id = l.account_id AND p.day = %s"
            f" WHERE l.day = %s AND l.band IN ({marks}) AND p.band <> l.band",
            [previous, latest, *bands],
        )
        rows = cursor.fetchall()
    frame = _frame(rows, ["account_id", "band", "previous_band"])
    if params["from_bands"]:
        frame = frame.filter(pl.col("previous_band").is_in(params["from_bands"]))
    frame = frame.with_columns(pl.lit(latest).alias("day"))
    cause = pl.format("health_band:{}:{}", "band", pl.lit(latest.isoformat()))
    return _finish(frame, cause, ["band", "previous_band", "day"])


def _risk_day(day: dt.date) -> tuple[dt.date, int] | None:
    """The latest prediction day up to `day` and the newest model that predicted on it."""
    found = RiskPrediction.objects.filter(day__lte=day).aggregate(d=Max("day"))["d"]
    if found is None:
        return None
    model = RiskPrediction.objects.filter(day=found).aggregate(m=Max("model_id"))["m"]
    return found, model


def risk_threshold(params: dict[str, Any], at: Moment) -> pl.DataFrame:
    """The latest prediction is at or above `threshold` and the one of the prediction day before was below."""
    latest = _risk_day(at.today)
    previous = latest and _risk_day(latest[0] - dt.timedelta(days=1))
    if not latest or not previous:
        return empty()
    threshold = params["threshold"]
    before = RiskPrediction.objects.filter(
        day=previous[0], model_id=previous[1], account_id=OuterRef("account_id")
    ).values("probability")[:1]
    rows = (
        RiskPrediction.objects.filter(day=latest[0], model_id=latest[1], probability__gte=threshold)
        .annotate(previous=Subquery(before))
        .filter(previous__lt=threshold)
        .values_list("account_id", "probability", "previous")
    )
    frame = _frame(list(rows), ["account_id", "probability", "previous"]).with_columns(pl.lit(latest[0]).alias("day"))
    return _finish(frame, pl.lit(f"risk:{latest[0].isoformat()}"), ["probability", "previous", "day"])


def renewal_due(params: dict[str, Any], at: Moment) -> pl.DataFrame:
    """The next renewal is `days` days away (or up to `window` days closer: a missed evaluation still fires)."""
    last = at.today + dt.timedelta(days=params["days"])
    first = last - dt.timedelta(days=params["window"])
    rows = Account.objects.filter(next_renewal_date__gte=first, next_renewal_date__lte=last).values_list(
        "id", "next_renewal_date"
    )
    frame = _frame(list(rows), ["account_id", "renewal_date"], {"account_id": pl.Int64, "renewal_date": pl.Date})
    return _finish(frame, pl.format("renewal:{}", pl.col("renewal_date").cast(pl.String)), ["renewal_date"])


def no_touch(params: dict[str, Any], at: Moment) -> pl.DataFrame:
    """No touch for at least `days` days (Japanese calendar days); an account never touched counts from its
    creation. One grouped query (every account's last touch, as `success.services.last_touches` reads it)
    that returns only the accounts past the limit: reading all 100,000 into Python cost 2 s."""
    days = params["days"]
    cutoff = at.start_of(at.today - dt.timedelta(days=days - 1))  # anything on or after this day is too recent
    rows = (
        Account.objects.annotate(last_touch=Max("touches__occurred_at"))
        .filter(Q(last_touch__lt=cutoff) | Q(last_touch__isnull=True, created_at__lt=cutoff))
        .values_list("id", "last_touch")
    )
    frame = _frame(
        list(rows), ["account_id", "last_touch"], {"account_id": pl.Int64, "last_touch": pl.Datetime("us", "UTC")}
    ).with_columns(_local_date("last_touch").alias("last_touch_on"), pl.lit(days).alias("days"))
    cause = pl.format("no_touch:{}", pl.col("last_touch_on").cast(pl.String).fill_null("never"))
    return _finish(frame, cause, ["last_touch_on", "days"])


def survey_detractor(params: dict[str, Any], at: Moment) -> pl.DataFrame:
    """An NPS answer of `max_score` or less given in the last `within_days` days."""
    rows = SurveyResponse.objects.filter(
        survey__kind=SurveyKind.NPS,
        score__lte=params["max_score"],
        answered_at__gte=at.days_ago(params["within_days"]),
        answered_at__lte=at.now,
    ).values_list("account_id", "id", "score")
    frame = _frame(list(rows), ["account_id", "response_id", "score"])
    return _finish(frame, pl.format("survey:{}", "response_id"), ["response_id", "score"])


BASELINE_WEEKS = 8


def inquiry_spike(params: dict[str, Any], at: Moment) -> pl.DataFrame:
    """At least `min_count` events of `event_kind` in the last `days` days and at least `ratio` times the
    account's own rate over the 8 weeks before (an account with no history needs only `min_count`)."""
    days, kind = params["days"], params["event_kind"]
    specs = {
        "recent": MetricSpec(aggregate="count", kinds=(kind,), window=Window(days=days)),
        "baseline": MetricSpec(aggregate="count", kinds=(kind,), window=Window(days=7 * BASELINE_WEEKS, offset=days)),
    }
    from banso.analytics.services import compute_metrics

    table = pl.from_arrow(compute_metrics("account", at.today, specs, at.backend))
    assert isinstance(table, pl.DataFrame)
    if table.is_empty():
        return empty()
    usual = pl.col("baseline").fill_null(0).cast(pl.Float64) * days / (7 * BASELINE_WEEKS)
    recent = pl.col("recent").fill_null(0).cast(pl.Float64)
    frame = (
        table.rename({"subject_id": "account_id"})
        .with_columns(pl.col("account_id").cast(pl.Int64))
        .filter((recent >= params["min_count"]) & (recent >= usual * params["ratio"]))
        .with_columns(pl.col("recent").alias("count"), usual.round(2).alias("usual"))
    )
    frame = frame.join(_existing(frame["account_id"]), on="account_id", how="semi")
    year, week, _day = at.today.isocalendar()
    return _finish(frame, pl.lit(f"inquiry_spike:{year}-W{week:02d}"), ["count", "usual"])


def _recent_events(kind: str, within_days: int, at: Moment) -> pl.DataFrame:
    """Events of `kind` on existing accounts in the last `within_days` days: account_id and the instant as ISO
    text in UTC (the engine's copy of events carries no event ids, so an event is named by account and
    instant)."""
    since = at.days_ago(within_days)
    events = at.backend.events(since=timezone.localdate(since))
    # The engine's timestamps are UTC without a zone on some engines: compare with a naive UTC literal.
    bound = ibis.literal(since.astimezone(dt.UTC).replace(tzinfo=None))
    occurred = events.occurred_at.cast("timestamp")
    query = events.filter((events.kind == kind) & events.account_id.notnull() & (occurred >= bound)).select(
        events.account_id, occurred_at=occurred
    )
    frame = pl.from_arrow(query.to_pyarrow())
    assert isinstance(frame, pl.DataFrame)
    if frame.is_empty():
        return pl.DataFrame(schema={"account_id": pl.Int64, "occurred_at": pl.String})
    frame = frame.with_columns(
        pl.col("account_id").cast(pl.Int64),
        pl.col("occurred_at").dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ"),
    )
    return frame.join(_existing(frame["account_id"]), on="account_id", how="semi")


def sla_breach(params: dict[str, Any], at: Moment) -> pl.DataFrame:
    """An "sla_breach" event (written by the support desk) in the last `within_days` days: the event trigger
    for that kind, keeping its own cause ("sla:<instant>") so runs started before stay recognised."""
    frame = _recent_events("sla_breach", params["within_days"], at).rename({"occurred_at": "breached_at"})
    return _finish(frame, pl.format("sla:{}", "breached_at"), ["breached_at"])


def event_recorded(params: dict[str, Any], at: Moment) -> pl.DataFrame:
    """Any app's event of `event_kind` in the last `within_days` days fires once per event, cause
    "event:<kind>:<account>:<instant>". The funnels app's staleness check writes "funnel_stale" events (with
    properties {rule, days}) when it raises an alert, so a playbook can react to a client left unattended."""
    kind = params["event_kind"]
    frame = _recent_events(kind, params["within_days"], at).with_columns(pl.lit(kind).alias("event_kind"))
    cause = pl.format(f"event:{kind}:{{}}:{{}}", pl.col("account_id"), pl.col("occurred_at"))
    return _finish(frame, cause, ["event_kind", "occurred_at"])


def contact_changed(params: dict[str, Any], at: Moment) -> pl.DataFrame:
    """A contact person left (担当者変更 sets `left_on` and the successor) in the last `within_days` days."""
    rows = Contact.objects.filter(
        left_on__gt=at.today - dt.timedelta(days=params["within_days"]), left_on__lte=at.today
    ).values_list("account_id", "id", "successor_id", "left_on")
    frame = _frame(
        list(rows),
        ["account_id", "contact_id", "successor_id", "left_on"],
        {"account_id": pl.Int64, "contact_id": pl.Int64, "successor_id": pl.Int64, "left_on": pl.Date},
    )
    return _finish(frame, pl.format("contact:{}", "contact_id"), ["contact_id", "successor_id", "left_on"])


def _segment(params: dict[str, Any], at: Moment, column: str, prefix: str) -> pl.DataFrame:
    segment_id = params["segment_id"]
    if not Segment.objects.filter(pk=segment_id, subject_type="account").exists():
        return empty()
    rows = SegmentMembership.objects.filter(
        segment_id=segment_id, **{f"{column}__gte": at.days_ago(params["within_days"]), f"{column}__lte": at.now}
    ).values_list("subject_id", column)
    frame = _frame(
        list(rows), ["account_id", "at"], {"account_id": pl.Int64, "at": pl.Datetime("us", "UTC")}
    ).with_columns(_local_date("at").alias("on"), pl.lit(segment_id).alias("segment_id"))
    frame = frame.join(_existing(frame["account_id"]), on="account_id", how="semi")
    cause = pl.format(f"{prefix}:{segment_id}:{{}}", pl.col("on").cast(pl.String))
    return _finish(frame, cause, ["segment_id", "on"])


def _existing(ids: pl.Series) -> pl.DataFrame:
    """Of these ids, the accounts that exist (segment members and the engine's events name accounts by plain
    ids, which may outlive the account)."""
    unique = ids.unique().to_list()
    accounts = Account.objects.filter(pk__in=unique) if len(unique) <= 2000 else Account.objects.all()
    found = accounts.values_list("id", flat=True) if unique else []
    return pl.DataFrame({"account_id": list(found)}, schema={"account_id": pl.Int64})


def segment_entered(params: dict[str, Any], at: Moment) -> pl.DataFrame:
    """The account entered the segment in the last `within_days` days."""
    return _segment(params, at, "entered_at", "segment_in")


def segment_left(params: dict[str, Any], at: Moment) -> pl.DataFrame:
    """The account left the segment in the last `within_days` days."""
    return _segment(params, at, "left_at", "segment_out")


def date_reached(params: dict[str, Any], at: Moment) -> pl.DataFrame:
    """A date (a column, or a custom attribute holding an ISO date) plus `offset_days` is today, or up to
    `window` days ago (a missed evaluation still fires)."""
    attribute = params["attribute"]
    offset = dt.timedelta(days=params["offset_days"])
    first, last = at.today - dt.timedelta(days=params["window"]), at.today
    if attribute == "next_renewal_date":
        rows = Account.objects.filter(next_renewal_date__gte=first - offset, next_renewal_date__lte=last - offset)
        dates = _frame(list(rows.values_list("id", "next_renewal_date")), ["account_id", "date"])
    elif attribute == "created_at":
        rows = Account.objects.filter(created_at__gte=at.start_of(first - offset - dt.timedelta(days=1)))
        rows = rows.filter(created_at__lt=at.start_of(last - offset + dt.timedelta(days=2)))
        frame = _frame(
            list(rows.values_list("id", "created_at")),
            ["account_id", "at"],
            {"account_id": pl.Int64, "at": pl.Datetime("us", "UTC")},
        )
        dates = frame.select("account_id", _local_date("at").alias("date"))
    else:
        values = Account.objects.filter(attributes__has_key=attribute).values_list("id", f"attributes__{attribute}")
        raw = _frame([(a, v if isinstance(v, str) else None) for a, v in values], ["account_id", "value"])
        if raw.is_empty():
            return empty()
        dates = raw.select(
            "account_id", pl.col("value").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False).alias("date")
        )
    dates = dates.with_columns(pl.col("account_id").cast(pl.Int64), pl.col("date").cast(pl.Date))
    reached = pl.col("date") + pl.duration(days=params["offset_days"])
    frame = dates.filter(reached.is_between(first, last)).with_columns(pl.lit(attribute).alias("attribute"))
    cause = pl.format(f"date:{attribute}:{{}}", pl.col("date").cast(pl.String))
    return _finish(frame, cause, ["attribute", "date"])


FIRES: dict[str, Callable[[dict[str, Any], Moment], pl.DataFrame]] = {
    TriggerKind.HEALTH_BAND: health_band,
    TriggerKind.RISK_THRESHOLD: risk_threshold,
    TriggerKind.RENEWAL_DUE: renewal_due,
    TriggerKind.NO_TOUCH: no_touch,
    TriggerKind.SURVEY_DETRACTOR: survey_detractor,
    TriggerKind.INQUIRY_SPIKE: inquiry_spike,
    TriggerKind.SLA_BREACH: sla_breach,
    TriggerKind.CONTACT_CHANGED: contact_changed,
    TriggerKind.SEGMENT_ENTERED: segment_entered,
    TriggerKind.SEGMENT_LEFT: segment_left,
    TriggerKind.DATE_REACHED: date_reached,
    TriggerKind.EVENT: event_recorded,
}


def fired(kind: str, params: dict[str, Any], at: Moment) -> pl.DataFrame:
    """The accounts `kind` fires for with these (validated) settings, one row per cause."""
    return FIRES[kind](params, at)


def context_json(values: dict[str, Any]) -> str:
    return json.dumps(values, ensure_ascii=False, default=str)
