"""Checking: an all-string frame → a typed frame with references resolved, or the row errors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.db import connection
from django.utils.translation import gettext as _

from banso.accounts.choices import ContractStatus

from ..models import ImportEntity
from .specs import (
    LOOKUP_CHUNK,
    MAX_ERRORS,
    REF_MODELS,
    ROW,
    SELF_REFS,
    TOKYO,
    Column,
    EntitySpec,
    ImportRefused,
    row_error,
)


@dataclass
class Checked:
    spec: EntitySpec
    source: str
    frame: pl.DataFrame  # ROW, then one typed column per spec column (refs as pk, "<name>__ext" as text)
    present: tuple[str, ...]  # spec columns the batch carries
    errors: list[dict[str, Any]]
    error_count: int


class _Errors:
    def __init__(self, order: Mapping[str, int]) -> None:
        self.items: list[dict[str, Any]] = []
        self.count = 0
        self.order = order

    def add_rows(self, frame: pl.DataFrame, mask: pl.Series, column: str, reason: Callable[[Any], str]) -> None:
        """One error per row where `mask` is true; `reason` gets the row's raw value."""
        mask = mask.fill_null(False)
        hits = int(mask.sum())
        if not hits:
            return
        self.count += hits
        room = MAX_ERRORS - len(self.items)
        if room <= 0:
            return
        raw = column if column in frame.columns else ROW
        for row, value in frame.filter(mask).head(room).select(ROW, raw).iter_rows():
            self.items.append(row_error(row, column, reason(value)))

    def add(self, error: dict[str, Any]) -> None:
        self.count += 1
        if len(self.items) < MAX_ERRORS:
            self.items.append(error)

    def sorted(self) -> list[dict[str, Any]]:
        return sorted(self.items, key=lambda e: (e["row"] or 0, self.order.get(e["column"], 999)))


_FULL_WIDTH = list("０１２３４５６７８９，．－＋")
_ASCII = list("0123456789,.-+")
EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d")
AWARE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z")
NAIVE_FORMATS = (
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M",
)
TRUE_WORDS = ("true", "t", "yes", "y", "1", "はい", "○", "◯")
FALSE_WORDS = ("false", "f", "no", "n", "0", "いいえ", "×", "")


def _parse_dates(raw: pl.Series) -> pl.Series:
    out = raw.str.to_date(DATE_FORMATS[0], strict=False)
    for fmt in DATE_FORMATS[1:]:
        if not (out.is_null() & raw.is_not_null()).any():
            break
        out = out.fill_null(raw.str.to_date(fmt, strict=False))
    return out


def _parse_datetimes(raw: pl.Series) -> pl.Series:
    """Aware UTC datetimes; text without an offset is Tokyo time."""
    utc = pl.Datetime("us", "UTC")
    out = pl.Series(raw.name, [None] * len(raw), dtype=utc)
    todo = raw.is_not_null()
    for fmt in NAIVE_FORMATS + AWARE_FORMATS:
        if not (out.is_null() & todo).any():
            return out
        if fmt in AWARE_FORMATS:
            parsed = raw.str.to_datetime(fmt, strict=False, time_unit="us").cast(utc)
        else:
            parsed = (
                raw.str.to_datetime(fmt, strict=False, time_unit="us")
                .dt.replace_time_zone(TOKYO, ambiguous="earliest", non_existent="null")
                .dt.convert_time_zone("UTC")
            )
        out = out.fill_null(parsed)
    if (out.is_null() & todo).any():
        dates = _parse_dates(raw)
        midnight = dates.cast(pl.Datetime("us")).dt.replace_time_zone(TOKYO).dt.convert_time_zone("UTC")
        out = out.fill_null(midnight)
    return out


def check(spec: EntitySpec, raw: pl.DataFrame, source: str, *, first_row: int = 2) -> Checked:
    """Validate every row of `raw` (all strings); rows are numbered from `first_row` (2 under a header)."""
    order = {c.name: i for i, c in enumerate(spec.columns)}
    errors = _Errors(order)
    known = spec.by_name
    frame = raw.rename({c: c.strip() for c in raw.columns if c != c.strip()})

    # Header: blank-named columns that hold nothing are Excel's stray commas; ignore them.
    for name in list(frame.columns):
        if name == "" and frame.get_column(name).is_null().all():
            frame = frame.drop(name)
    for name in frame.columns:
        if "_duplicated_" in name:
            errors.add(row_error(1, name.split("_duplicated_")[0], _("This column appears more than once.")))
        elif name not in known:
            errors.add(
                row_error(
                    1,
                    name,
                    _("Unknown column. Expected columns: %(columns)s")
                    % {"columns": ", ".join(c.name for c in spec.columns)},
                )
            )
    for column in spec.columns:
        if column.required and column.name not in frame.columns:
            errors.add(row_error(1, column.name, _("Required column is missing.")))
    if errors.count:
        raise ImportRefused(errors.sorted(), total_rows=raw.height, error_count=errors.count)

    present = tuple(c.name for c in spec.columns if c.name in frame.columns)
    frame = frame.with_row_index(ROW, offset=first_row).with_columns(pl.col(ROW).cast(pl.Int64))
    # Trim every cell; an empty cell is a missing value. Wholly empty rows (Excel leaves them) are skipped.
    frame = frame.with_columns([pl.col(c).str.strip_chars().replace("", None) for c in present]).with_columns(
        [pl.lit(None, dtype=pl.String).alias(c.name) for c in spec.columns if c.name not in present]
    )
    if present:
        frame = frame.filter(pl.any_horizontal([pl.col(c).is_not_null() for c in present]))
    frame = frame.select([ROW, *(c.name for c in spec.columns)])

    typed: dict[str, pl.Series] = {ROW: frame.get_column(ROW)}
    for column in spec.columns:
        typed.update(_check_column(spec, column, frame, source, errors))

    ids = frame.get_column("external_id")
    dup = ids.is_not_null() & ~ids.is_first_distinct()
    if dup.any():
        first_rows = dict(frame.filter(ids.is_not_null()).group_by("external_id").agg(pl.col(ROW).min()).iter_rows())
        errors.add_rows(
            frame,
            dup,
            "external_id",
            lambda v: _("Duplicate id %(id)s: it is also in row %(row)s.") % {"id": v, "row": first_rows[v]},
        )

    result = pl.DataFrame(typed)
    if spec.entity == ImportEntity.CONTRACTS and "status" in present:
        churned = (result.get_column("status") == ContractStatus.CHURNED) & result.get_column("churned_on").is_null()
        errors.add_rows(frame, churned, "churned_on", lambda _v: _("A churned contract needs the date it churned."))
    if spec.entity == ImportEntity.EVENTS:
        no_subject = frame.get_column("account").is_null() & frame.get_column("end_user").is_null()
        errors.add_rows(
            frame, no_subject, "account", lambda _v: _("An event needs an account or an end user (or both).")
        )
    for extra in spec.checks:
        extra(frame, result, errors.add_rows)
    return Checked(spec, source, result, present, errors.sorted(), errors.count)


def _check_column(
    spec: EntitySpec, column: Column, frame: pl.DataFrame, source: str, errors: _Errors
) -> dict[str, pl.Series]:
    name = column.name
    raw = frame.get_column(name)
    given = raw.is_not_null()
    if column.required:
        errors.add_rows(frame, ~given, name, lambda _v: _("A value is required."))
    kind = column.kind
    if kind in ("str", "email"):
        if column.max_length:
            too_long = raw.str.len_chars() > column.max_length
            errors.add_rows(
                frame,
                too_long,
                name,
                lambda _v: _("Longer than %(n)s characters.") % {"n": column.max_length},
            )
        if kind == "email":
            errors.add_rows(
                frame,
                given & ~raw.str.contains(EMAIL_RE),
                name,
                lambda v: _("%(value)s is not an email address.") % {"value": v},
            )
        return {name: raw}
    if kind == "choice":
        assert column.choices is not None
        values = [str(v) for v in column.choices.values]
        value = raw.str.to_lowercase()
        bad = given & ~value.is_in(values)
        errors.add_rows(
            frame,
            bad,
            name,
            lambda v: _("%(value)s is not one of: %(choices)s") % {"value": v, "choices": ", ".join(values)},
        )
        return {name: value}
    if kind == "bool":
        value = raw.str.to_lowercase()
        truth = value.is_in(TRUE_WORDS)
        bad = given & ~truth & ~value.is_in(FALSE_WORDS)
        errors.add_rows(frame, bad, name, lambda v: _("%(value)s is not yes/no (true/false).") % {"value": v})
        return {name: pl.select(pl.when(given).then(truth).otherwise(None)).to_series().alias(name)}
    if kind == "int":
        text = raw.str.replace_many(_FULL_WIDTH, _ASCII).str.replace_all(r"[,\s%％]", "")
        value = text.cast(pl.Int64, strict=False)
        bad = given & (~text.str.contains(r"^\d{1,9}$") | value.is_null())
        errors.add_rows(frame, bad, name, lambda v: _("%(value)s is not a whole number.") % {"value": v})
        if column.allowed:
            allowed = ", ".join(str(a) for a in column.allowed)
            errors.add_rows(
                frame,
                given & ~bad & ~value.is_in(list(column.allowed)),
                name,
                lambda v: _("%(value)s is not one of: %(choices)s") % {"value": v, "choices": allowed},
            )
        return {name: value}
    if kind == "int_yen":
        text = raw.str.replace_many(_FULL_WIDTH, _ASCII).str.replace_all(r"[,¥￥円\s]", "")
        number = text.str.contains(r"^[+-]?\d+(\.\d+)?$")
        negative = number & text.str.starts_with("-") & text.str.contains(r"[1-9]")
        fraction = number & text.str.contains(r"\.\d*[1-9]")
        value = text.str.replace(r"\.0*$", "").str.replace(r"^\+", "").cast(pl.Int64, strict=False)
        errors.add_rows(frame, given & ~number, name, lambda v: _("%(value)s is not a yen amount.") % {"value": v})
        errors.add_rows(
            frame,
            negative,
            name,
            lambda v: _("%(value)s is negative; yen amounts here must be 0 or more.") % {"value": v},
        )
        errors.add_rows(
            frame,
            fraction & ~negative,
            name,
            lambda v: _("%(value)s has a fraction; yen amounts are whole numbers.") % {"value": v},
        )
        errors.add_rows(
            frame,
            number & ~negative & ~fraction & value.is_null(),
            name,
            lambda v: _("%(value)s is too large.") % {"value": v},
        )
        return {name: value.abs()}
    if kind == "decimal":
        text = raw.str.replace_many(_FULL_WIDTH, _ASCII).str.replace_all(r"[,\s]", "")
        ok = text.str.contains(r"^[+-]?\d{1,14}(\.\d{1,4})?$")
        errors.add_rows(
            frame,
            given & ~ok,
            name,
            lambda v: _("%(value)s is not a number (at most 14 digits and 4 decimal places).") % {"value": v},
        )
        return {name: text}
    if kind == "date":
        value = _parse_dates(raw)
        errors.add_rows(
            frame,
            given & value.is_null(),
            name,
            lambda v: _("%(value)s is not a date; write it as YYYY-MM-DD.") % {"value": v},
        )
        return {name: value}
    if kind == "datetime":
        value = _parse_datetimes(raw)
        errors.add_rows(
            frame,
            given & value.is_null(),
            name,
            lambda v: (
                _(
                    "%(value)s is not a date and time; write it as YYYY-MM-DD HH:MM:SS (Tokyo time unless "
                    "an offset such as +09:00 is given)."
                )
                % {"value": v}
            ),
        )
        return {name: value}
    if kind == "json":
        value = raw.str.json_path_match("$")
        bad = given & (value.is_null() | ~raw.str.starts_with("{"))
        errors.add_rows(frame, bad, name, lambda _v: _('Not a JSON object such as {"key": "value"}.'))
        return {name: value}
    if kind == "ref":
        assert column.ref is not None
        pks = _resolve(column.ref, source, raw)
        in_file = (
            raw.is_in(frame.get_column("external_id").drop_nulls().implode())
            if SELF_REFS.get(spec.entity) == column.ref
            else pl.Series([False] * len(raw))
        )
        missing = given & pks.is_null() & ~in_file
        errors.add_rows(
            frame,
            missing,
            name,
            lambda v: (
                _("No %(target)s with id %(id)s in source %(source)s.")
                % {"target": _ref_label(column.ref or ""), "id": v, "source": source}
            ),
        )
        return {name: pks, f"{name}__ext": raw}
    raise ValueError(f"unknown column kind {kind!r}")


def _ref_label(ref: str) -> str:
    return {"account": _("account"), "contact": _("contact"), "end_user": _("end user")}[ref]


def _resolve(ref: str, source: str, raw: pl.Series) -> pl.Series:
    """The primary keys of the referenced records (by external id in `source`); null where unknown.

    Raw SQL rather than the ORM: an event file can name tens of thousands of accounts and end users, and
    the ORM's per-value preparation of `__in` lists was half of this function's time (measured)."""
    table = REF_MODELS[ref]._meta.db_table
    wanted = raw.drop_nulls().unique().to_list()
    found: list[tuple[str, int]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            chunk = wanted[start : start + LOOKUP_CHUNK]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT external_id, id FROM {table} WHERE source = %s AND external_id IN ({marks})",  # noqa: S608
                [source, *chunk],
            )
            found.extend(cursor.fetchall())
    return raw.replace_strict(
        [ext for ext, _ in found], [pk for _, pk in found], default=None, return_dtype=pl.Int64
    ).alias(raw.name)
