"""How a scorecard turns measured values into a score: the definition (validated with pydantic, errors by
field path) and the scoring itself, vectorised over every account at once with polars.

A card lists measures (`metric:logins_30d`, `contract:days_to_renewal`, `survey:nps_latest`…). Each maps its
raw value to 0–100 points, either by ordered thresholds ("≥ 20 → 100, ≥ 10 → 70, otherwise 30") or by a
range (linear from a bad value, 0 points, to a good value, 100 points, clamped; good may be below bad).
The score is the weighted mean of the points of the measures that have data: a measure without data is left
out and its weight shared among the others in proportion to theirs (its effective weight is 0). The card's
band limits colour the score red, yellow or green.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Any, Literal

import polars as pl
from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from banso.analytics.specs import SpecError, _message

from . import measures

MAX_MEASURES = 30


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Threshold(_Strict):
    min: float = Field(description="the raw value at or above which this band applies")
    points: float = Field(ge=0, le=100)


class Thresholds(_Strict):
    type: Literal["thresholds"] = "thresholds"
    steps: tuple[Threshold, ...] = Field(min_length=1, max_length=10)
    otherwise: float = Field(default=0, ge=0, le=100, description="points below the lowest threshold")

    @field_validator("steps")
    @classmethod
    def _ordered(cls, steps: tuple[Threshold, ...]) -> tuple[Threshold, ...]:
        mins = [step.min for step in steps]
        if any(a <= b for a, b in pairwise(mins)):
            raise ValueError(_("List the thresholds from the highest value down, each lower than the one before."))
        return steps


class Range(_Strict):
    type: Literal["range"] = "range"
    bad: float = Field(description="at or beyond this value: 0 points")
    good: float = Field(description="at or beyond this value: 100 points")

    @model_validator(mode="after")
    def _distinct(self) -> Range:
        if self.bad == self.good:
            raise ValueError(_("The bad and the good value must differ."))
        return self


Mapping = Annotated[Thresholds | Range, Field(discriminator="type")]


class Measure(_Strict):
    key: str = Field(min_length=3, max_length=100, description="<source>:<key>, e.g. metric:logins_30d")
    label: str = Field(default="", max_length=200)
    weight: float = Field(gt=0, le=100)
    mapping: Mapping

    @field_validator("key")
    @classmethod
    def _known(cls, key: str) -> str:
        try:
            measures.split_key(key)
        except KeyError:
            raise ValueError(_("Unknown measure “%(key)s”.") % {"key": key}) from None
        return key


class Bands(_Strict):
    red_below: float = Field(default=40, gt=0, le=100, description="a score below this is red")
    green_from: float = Field(default=70, gt=0, le=100, description="a score at or above this is green")

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if self.red_below > self.green_from:
            raise ValueError(_("The red limit must not be above the green limit."))
        return self


class CardDefinition(_Strict):
    measures: tuple[Measure, ...] = Field(min_length=1, max_length=MAX_MEASURES)
    bands: Bands = Bands()

    @model_validator(mode="after")
    def _unique(self) -> CardDefinition:
        keys = [measure.key for measure in self.measures]
        if len(set(keys)) != len(keys):
            raise ValueError(_("Each measure may appear only once on a card."))
        return self


def parse_definition(data: Any) -> CardDefinition:
    """Validate a card definition given as data; raises SpecError with (field path, message) pairs."""
    try:
        return CardDefinition.model_validate(data)
    except ValidationError as error:
        found = []
        for item in error.errors():
            field = ".".join(str(part) for part in item["loc"] if not str(part).startswith("function-"))
            # A discriminated union adds the chosen member's tag to the path: measures.0.mapping.range.bad.
            field = field.replace(".mapping.thresholds", ".mapping").replace(".mapping.range", ".mapping")
            found.append((field, _message(item)))
        raise SpecError(found) from None


def dump_definition(definition: CardDefinition) -> dict[str, Any]:
    return definition.model_dump(mode="json")


# Scoring -------------------------------------------------------------------------------------------

NO_RULE = -1  # `rule{i}` when the value fell below every threshold (the "otherwise" points)


def _points(mapping: Thresholds | Range, value: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(points, index of the matched threshold) as expressions; both null where the value is."""
    if isinstance(mapping, Range):
        share = ((value - mapping.bad) / (mapping.good - mapping.bad)).clip(0.0, 1.0)
        return share * 100.0, pl.when(value.is_null()).then(None).otherwise(pl.lit(0, pl.Int8))
    points: Any = pl.when(value.is_null()).then(None)
    rule: Any = pl.when(value.is_null()).then(None)
    for index, step in enumerate(mapping.steps):
        points = points.when(value >= step.min).then(pl.lit(step.points))
        rule = rule.when(value >= step.min).then(pl.lit(index, pl.Int8))
    return points.otherwise(pl.lit(mapping.otherwise)), rule.otherwise(pl.lit(NO_RULE, pl.Int8))


def score_frame(definition: CardDefinition, values: pl.DataFrame) -> pl.DataFrame:
    """Score every row of `values` (`account_id` and one Float64 column per measure key; null = no data).

    Returns `account_id`, `score` (0–100, one decimal; null when no measure has data), `band`, and per
    measure i: `v{i}` raw value, `p{i}` points, `r{i}` matched threshold, `w{i}` effective weight (0–1)."""
    frame = values.select(
        "account_id", *[pl.col(m.key).cast(pl.Float64).alias(f"v{i}") for i, m in enumerate(definition.measures)]
    )
    columns: list[pl.Expr] = []
    for i, measure in enumerate(definition.measures):
        points, rule = _points(measure.mapping, pl.col(f"v{i}"))
        columns += [points.alias(f"p{i}"), rule.alias(f"r{i}")]
    frame = frame.with_columns(columns)
    n = len(definition.measures)
    present = [pl.col(f"p{i}").is_not_null().cast(pl.Float64) * definition.measures[i].weight for i in range(n)]
    total = pl.sum_horizontal(present)
    frame = frame.with_columns(total.alias("_total"))
    frame = frame.with_columns(
        [
            pl.when(pl.col("_total") > 0).then(present[i] / pl.col("_total")).otherwise(0.0).alias(f"w{i}")
            for i in range(n)
        ]
    )
    raw = pl.sum_horizontal([pl.col(f"p{i}").fill_null(0.0) * pl.col(f"w{i}") for i in range(n)])
    score = pl.when(pl.col("_total") > 0).then(raw.round(1)).otherwise(None)
    frame = frame.with_columns(score.alias("score")).drop("_total")
    limits = definition.bands
    band = (
        pl.when(pl.col("score").is_null())
        .then(None)
        .when(pl.col("score") < limits.red_below)
        .then(pl.lit("red"))
        .when(pl.col("score") >= limits.green_from)
        .then(pl.lit("green"))
        .otherwise(pl.lit("yellow"))
    )
    return frame.with_columns(band.alias("band"))


def band_of(definition: CardDefinition, score: float) -> str:
    if score < definition.bands.red_below:
        return "red"
    return "green" if score >= definition.bands.green_from else "yellow"
