"""How a metric and a segment are declared: once, as data, validated before anything runs.

A metric is an aggregation of one subject's events (an account's, or an end user's) over a window of
calendar days (Asia/Tokyo) that ends on the day the metric is computed for ("as of"). The built-in
catalogue (`catalogue.py`) and the custom metrics an ops manager adds in the UI are the same pydantic
models, so both are checked by the same rules and reach the engine in the same shape:

    MetricSpec(aggregate="count", kinds=["login"], window=Window(days=30))           # logins, last 30 days
    MetricSpec(aggregate="trend", kinds=["page_view"], window=Window(days=30))      # vs the 30 days before
    MetricSpec(aggregate="days_since", kinds=["login"])                              # days since last login
    MetricSpec(aggregate="distinct_end_users", kinds=["visit"], window=Window(days=5, offset=3))

A segment is a tree of rules (AND/OR/NOT) over subject attributes and metric values.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

MAX_DAYS = 3660  # ten years of history is the longest window a metric may look at
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,62}$")

Subject = Literal["account", "end_user"]
Aggregate = Literal["count", "sum", "distinct_end_users", "distinct_accounts", "days_since", "trend"]


class SpecError(ValueError):
    """A definition that cannot run; `errors` lists (field path, message) pairs for the form or API."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {message}" if field else message for field, message in errors))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(_Strict):
    """`days` calendar days, ending `offset` days before the as-of day (offset 0 includes that day)."""

    days: int = Field(ge=1, le=MAX_DAYS)
    offset: int = Field(default=0, ge=0, le=MAX_DAYS)

    def bounds(self, as_of: dt.date) -> tuple[dt.date, dt.date]:
        """First and last day covered, both inclusive."""
        last = as_of - dt.timedelta(days=self.offset)
        return last - dt.timedelta(days=self.days - 1), last

    def previous(self) -> Window:
        """The window of the same length just before this one (what a trend compares against)."""
        return Window(days=self.days, offset=self.offset + self.days)


class MetricSpec(_Strict):
    """One metric: which events (kinds, optionally at which accounts), over which window, aggregated how."""

    subject: Subject = "account"
    aggregate: Aggregate
    kinds: tuple[Annotated[str, Field(min_length=1, max_length=50)], ...] = Field(min_length=1, max_length=20)
    window: Window | None = None
    # Only events that happened at these accounts (e.g. "visited merchant X"): meant for end-user metrics.
    at_accounts: tuple[int, ...] = Field(default=(), max_length=1000)

    @model_validator(mode="after")
    def _window_fits_aggregate(self) -> MetricSpec:
        if self.aggregate != "days_since" and self.window is None:
            raise ValueError(_("A window is required for this aggregate."))
        if self.aggregate == "distinct_end_users" and self.subject == "end_user":
            raise ValueError(_("Counting distinct end users per end user is always 0 or 1; use count."))
        if self.aggregate == "distinct_accounts" and self.subject == "account":
            raise ValueError(_("Counting distinct accounts per account is always 0 or 1; use count."))
        return self

    @property
    def lookback_days(self) -> int | None:
        """How many days before the as-of day this metric reads (None: all history)."""
        if self.window is None:
            return None
        window = self.window.previous() if self.aggregate == "trend" else self.window
        return window.offset + window.days

    @property
    def empty_value(self) -> int | None:
        """The value of a subject with no matching events: 0 for counts and sums, nothing for the others."""
        return 0 if self.aggregate in ("count", "sum", "distinct_end_users", "distinct_accounts") else None


Comparison = Literal["eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "is_empty", "is_not_empty"]


class MetricRule(_Strict):
    """Compare a metric (a catalogue key, or an inline spec) with a value."""

    type: Literal["metric"] = "metric"
    metric: str | MetricSpec
    op: Comparison
    value: float | int | list[float | int] | None = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> MetricRule:
        _check_value(self.op, self.value, numeric=True)
        return self


class AttributeRule(_Strict):
    """Compare a subject's attribute (a field such as tier, or a key of its custom attributes) with a value."""

    type: Literal["attribute"] = "attribute"
    field: str = Field(min_length=1, max_length=100)
    op: Comparison
    value: str | int | float | list[str | int | float] | None = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> AttributeRule:
        _check_value(self.op, self.value, numeric=False)
        return self


class Group(_Strict):
    """All (and) or any (or) of the rules hold; `negate` turns the group into its opposite."""

    type: Literal["group"] = "group"
    match: Literal["all", "any"] = "all"
    negate: bool = False
    rules: list[Annotated[MetricRule | AttributeRule | Group, Field(discriminator="type")]] = Field(
        min_length=1, max_length=50
    )


class SegmentSpec(_Strict):
    subject: Subject = "account"
    rules: Group


def _check_value(op: str, value: Any, *, numeric: bool) -> None:
    if op in ("is_empty", "is_not_empty"):
        if value is not None:
            raise ValueError(_("“%(op)s” takes no value.") % {"op": op})
        return
    if op == "between":
        if not (isinstance(value, list) and len(value) == 2):
            raise ValueError(_("“between” takes two values: [low, high]."))
        if numeric and value[0] > value[1]:
            raise ValueError(_("The low end of “between” is above the high end."))
        return
    if op == "in":
        if not (isinstance(value, list) and value):
            raise ValueError(_("“in” takes a non-empty list of values."))
        return
    if value is None or isinstance(value, list):
        raise ValueError(_("“%(op)s” takes one value.") % {"op": op})


def _message(item: Any) -> str:
    """Pydantic's message in the user's language for the errors a person can make; the rules' own
    messages (raised as ValueError above) are translated where they are raised."""
    context = item.get("ctx") or {}
    kind = item["type"]
    if kind == "value_error":
        return str(item["msg"]).removeprefix("Value error, ")
    if kind == "too_short" and context.get("min_length") == 1:
        return _("Give at least one.")
    if kind == "too_long":
        return _("At most %(n)s.") % {"n": context.get("max_length")}
    if kind in ("greater_than_equal", "greater_than"):
        return _("Enter %(n)s or more.") % {"n": context.get("ge", context.get("gt"))}
    if kind in ("less_than_equal", "less_than"):
        return _("Enter %(n)s or less.") % {"n": context.get("le", context.get("lt"))}
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("Enter a whole number.")
    if kind in ("float_parsing", "float_type"):
        return _("Enter a number.")
    if kind in ("literal_error", "enum"):
        return _("Choose one of: %(expected)s.") % {"expected": context.get("expected", "")}
    if kind == "missing":
        return _("This field is required.")
    if kind == "extra_forbidden":
        return _("Unknown field.")
    if kind == "string_too_short":
        return _("Enter a value.")
    if kind == "string_too_long":
        return _("At most %(n)s characters.") % {"n": context.get("max_length")}
    return str(item["msg"])


def _errors(error: ValidationError) -> list[tuple[str, str]]:
    found = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"] if not str(part).startswith("function-"))
        found.append((field, _message(item)))
    return found


def parse_metric(data: Any) -> MetricSpec:
    """Validate a metric definition given as data (JSON from the UI, API or a file)."""
    try:
        return MetricSpec.model_validate(data)
    except ValidationError as error:
        raise SpecError(_errors(error)) from None


def parse_segment(data: Any) -> SegmentSpec:
    """Validate a segment definition given as data."""
    try:
        return SegmentSpec.model_validate(data)
    except ValidationError as error:
        raise SpecError(_errors(error)) from None


def check_key(key: str) -> None:
    if not KEY_PATTERN.match(key):
        raise SpecError([("key", _("Use 2–63 lower-case letters, digits and underscores, starting with a letter."))])
