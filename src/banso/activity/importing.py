"""The import engine: one declarative column spec per record type, vectorised checks, all-or-nothing writes.

Files (CSV in UTF-8 with or without BOM or in Shift_JIS/cp932, XLSX) and JSON API batches become the same
all-string polars frame. Every row is checked before anything is written; any error refuses the whole
batch with a report of (row, column, reason). A clean batch is upserted by (source, external_id) in one
transaction: new records are created, changed ones updated, identical ones left alone, so importing the
same file twice changes nothing. Events are insert-only through the event store.
"""

from __future__ import annotations

import codecs
import datetime
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.accounts.choices import AccountKind, ContactRole, ContractStatus, EndUserKind, LifecycleStage, TouchTier
from banso.accounts.models import Account, Contact, Contract, EndUser
from banso.accounts.services import refresh_rollups
from banso.core.choices import AuditAction
from banso.core.models import AuditEntry, User
from banso.core.services import diff, record_changes_bulk, snapshot
from banso.core.text import search_key

from . import store
from .models import Event, ImportEntity

Progress = Callable[[int, int], None]

ROW = "__row"
MAX_ERRORS = 1000  # kept and shown; the total is still counted and reported
WRITE_CHUNK = 100_000  # events per store call (and progress step)
RECORD_CHUNK = 2_000  # records per upsert step
LOOKUP_CHUNK = 5_000  # external ids per reference query
TOKYO = "Asia/Tokyo"


# ---------------------------------------------------------------------------------------------------------
# Column specs


@dataclass(frozen=True)
class Column:
    """One column of an import file: its name there, how its text is read, and the model field it fills."""

    name: str
    kind: str  # str | int_yen | date | datetime | bool | decimal | json | email | choice | ref
    required: bool = False
    max_length: int | None = None
    choices: type[models.TextChoices] | None = None
    ref: str | None = None  # for kind="ref": "account" | "contact" | "end_user", by external id in the source

    @property
    def attname(self) -> str:
        return f"{self.name}_id" if self.kind == "ref" else self.name


@dataclass(frozen=True)
class EntitySpec:
    entity: str
    model: type[models.Model]
    columns: tuple[Column, ...]

    @property
    def by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}


EXTERNAL_ID = Column("external_id", "str", required=True, max_length=100)

SPECS: dict[str, EntitySpec] = {
    ImportEntity.ACCOUNTS: EntitySpec(
        ImportEntity.ACCOUNTS,
        Account,
        (
            EXTERNAL_ID,
            Column("name", "str", required=True, max_length=200),
            Column("name_kana", "str", max_length=200),
            Column("kind", "choice", choices=AccountKind),
            Column("tier", "choice", choices=TouchTier),
            Column("lifecycle_stage", "choice", choices=LifecycleStage),
            Column("industry", "str", max_length=100),
            Column("attributes", "json"),
        ),
    ),
    ImportEntity.CONTACTS: EntitySpec(
        ImportEntity.CONTACTS,
        Contact,
        (
            EXTERNAL_ID,
            Column("account", "ref", required=True, ref="account"),
            Column("name", "str", required=True, max_length=200),
            Column("name_kana", "str", max_length=200),
            Column("email", "email", max_length=254),
            Column("phone", "str", max_length=40),
            Column("title", "str", max_length=100),
            Column("role", "choice", choices=ContactRole),
            Column("is_primary", "bool"),
            Column("left_on", "date"),
            Column("successor", "ref", ref="contact"),
        ),
    ),
    ImportEntity.CONTRACTS: EntitySpec(
        ImportEntity.CONTRACTS,
        Contract,
        (
            EXTERNAL_ID,
            Column("account", "ref", required=True, ref="account"),
            Column("plan", "str", required=True, max_length=100),
            Column("mrr", "int_yen", required=True),
            Column("start_date", "date", required=True),
            Column("end_date", "date"),
            Column("renewal_date", "date"),
            Column("auto_renew", "bool"),
            Column("status", "choice", choices=ContractStatus),
            Column("churned_on", "date"),
            Column("churn_reason", "str", max_length=200),
        ),
    ),
    ImportEntity.END_USERS: EntitySpec(
        ImportEntity.END_USERS,
        EndUser,
        (
            EXTERNAL_ID,
            Column("kind", "choice", choices=EndUserKind),
            Column("name", "str", max_length=200),
            Column("email", "email", max_length=254),
            Column("account", "ref", ref="account"),
            Column("attributes", "json"),
        ),
    ),
    ImportEntity.EVENTS: EntitySpec(
        ImportEntity.EVENTS,
        Event,  # written by the event store, not the ORM
        (
            EXTERNAL_ID,
            Column("account", "ref", ref="account"),
            Column("end_user", "ref", ref="end_user"),
            Column("kind", "str", required=True, max_length=50),
            Column("occurred_at", "datetime", required=True),
            Column("value", "decimal"),
            Column("properties", "json"),
        ),
    ),
}

REF_MODELS: dict[str, type[Account | Contact | EndUser]] = {
    "account": Account,
    "contact": Contact,
    "end_user": EndUser,
}
SELF_REFS: dict[str, str] = {ImportEntity.CONTACTS: "contact"}  # references that may point at rows of the same file


def spec_for(entity: str) -> EntitySpec:
    try:
        return SPECS[entity]
    except KeyError:
        raise ValueError(f"unknown entity {entity!r}") from None


# ---------------------------------------------------------------------------------------------------------
# Results and errors


def row_error(row: int | None, column: str, reason: str) -> dict[str, Any]:
    return {"row": row, "column": column, "reason": reason}


class ImportRefused(Exception):
    """The batch was refused; nothing was written. `errors` are (row, column, reason) dicts."""

    def __init__(self, errors: list[dict[str, Any]], total_rows: int = 0, error_count: int | None = None):
        super().__init__(f"{error_count or len(errors)} error(s)")
        self.errors = errors
        self.total_rows = total_rows
        self.error_count = error_count if error_count is not None else len(errors)


@dataclass
class ImportResult:
    total_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.error_count


# ---------------------------------------------------------------------------------------------------------
# Reading: bytes → all-string frame


def _utf8_error(data: bytes | memoryview) -> int | None:
    """Byte offset of the first invalid UTF-8 sequence, or None; decodes in chunks to keep memory flat."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    step = 1 << 22
    view = memoryview(data)
    for start in range(0, len(view), step):
        chunk = view[start : start + step]
        try:
            decoder.decode(chunk, final=start + step >= len(view))
        except UnicodeDecodeError as exc:
            # The decoder may hold back up to 3 bytes of a sequence split across chunks.
            return max(0, start + exc.start - len(decoder.getstate()[0]))
    return None


def decode_to_utf8(data: bytes) -> bytes:
    """The file's text as UTF-8 bytes without a BOM: UTF-8 (BOM or not) as is, else Shift_JIS (cp932)."""
    if data.startswith(codecs.BOM_UTF8):
        body = data[len(codecs.BOM_UTF8) :]
        bad = _utf8_error(body)
        if bad is None:
            return body
        raise ImportRefused([_encoding_error(_line_at(body, bad), bom=True)])
    bad = _utf8_error(data)
    if bad is None:
        return data
    try:
        text = data.decode("cp932")
    except UnicodeDecodeError as exc:
        raise ImportRefused([_encoding_error(_line_at(data, max(bad, exc.start)))]) from None
    # Python's cp932 maps the bytes Shift_JIS leaves unassigned (0x80, 0xA0, 0xFD-0xFF) to placeholders
    # rather than failing; in a CSV they mean the file is in some other encoding.
    stray = _CP932_UNASSIGNED.search(text)
    if stray:
        line = text.count("\n", 0, stray.start()) + 1
        raise ImportRefused([_encoding_error(line)])
    return text.encode("utf-8")


_CP932_UNASSIGNED = re.compile("[\x80\uf8f0-\uf8f3]")


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _encoding_error(line: int, *, bom: bool = False) -> dict[str, Any]:
    if bom:
        reason = _("The file starts with a UTF-8 mark but contains bytes that are not UTF-8.")
    else:
        reason = _(
            "The file is neither UTF-8 nor Shift_JIS (cp932): it contains bytes that are not text in either. "
            "Save it as CSV (UTF-8) or CSV (Shift_JIS) and try again."
        )
    return row_error(line, "", reason)


def read_csv(data: bytes) -> pl.DataFrame:
    text = decode_to_utf8(data)
    if not text.strip():
        raise ImportRefused([row_error(1, "", _("The file is empty."))])
    try:
        return pl.read_csv(io.BytesIO(text), infer_schema=False, encoding="utf8")
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportRefused(
            [row_error(None, "", _("The file could not be read as CSV: %(problem)s") % {"problem": first})]
        ) from None


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value)
    return text


def read_xlsx(data: bytes) -> pl.DataFrame:
    """The first sheet of a workbook; its first row is the header."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a file that is not a workbook
        raise ImportRefused(
            [row_error(None, "", _("The file could not be read as an Excel workbook (.xlsx)."))]
        ) from exc
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise ImportRefused([row_error(1, "", _("The file is empty."))])
        names = [_cell_text(v) or "" for v in header]
        while names and not names[-1]:
            names.pop()
        columns: list[list[str | None]] = [[] for _ in names]
        stray: list[dict[str, Any]] = []
        for number, values in enumerate(rows, start=2):
            for i in range(len(names)):
                columns[i].append(_cell_text(values[i]) if i < len(values) else None)
            if len(values) > len(names) and any(v is not None for v in values[len(names) :]) and len(stray) < 10:
                stray.append(row_error(number, "", _("This row has values in a column without a header.")))
        if stray:
            raise ImportRefused(stray)
    finally:
        book.close()
    return _string_frame(names, columns)


def _string_frame(names: Sequence[str], columns: Sequence[Sequence[str | None]]) -> pl.DataFrame:
    seen: dict[str, int] = {}
    unique_names = []
    for name in names:
        # Keep duplicates visible to the header check, like the CSV reader does.
        unique_names.append(name if name not in seen else f"{name}_duplicated_{seen[name]}")
        seen[name] = seen.get(name, 0) + 1
    return pl.DataFrame({n: pl.Series(n, col, dtype=pl.String) for n, col in zip(unique_names, columns, strict=True)})


def read_file(data: bytes, filename: str) -> pl.DataFrame:
    """An uploaded file as an all-string frame; `.xlsx` by name or by its zip signature, else CSV."""
    if filename.lower().endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04":
        return read_xlsx(data)
    return read_csv(data)


def frame_from_records(records: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """JSON API records as the same all-string frame a file gives (objects become JSON text)."""
    rows = list(records)
    names: list[str] = []
    for record in rows:
        for key in record:
            if key not in names:
                names.append(key)
    columns: list[list[str | None]] = [[] for _ in names]
    for record in rows:
        for i, name in enumerate(names):
            value = record.get(name)
            if isinstance(value, dict | list):
                columns[i].append(json.dumps(value, ensure_ascii=False))
            else:
                columns[i].append(_cell_text(value))
    return _string_frame(names, columns)


# ---------------------------------------------------------------------------------------------------------
# Checking: all-string frame → typed frame, or errors


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


# ---------------------------------------------------------------------------------------------------------
# Writing


def import_frame(
    entity: str,
    source: str,
    raw: pl.DataFrame,
    *,
    actor: User | None = None,
    progress: Progress | None = None,
    first_row: int = 2,
) -> ImportResult:
    """Check `raw` and, if every row is good, write it in one transaction. Raises ImportRefused otherwise."""
    spec = spec_for(entity)
    checked = check(spec, raw, source, first_row=first_row)
    total = checked.frame.height
    if checked.error_count:
        raise ImportRefused(checked.errors, total_rows=total, error_count=checked.error_count)
    if entity == ImportEntity.EVENTS:
        with store.bulk_loading(), transaction.atomic():
            result = _write_events(checked, progress)
    else:
        with transaction.atomic():
            result = _upsert(checked, actor, progress)
    result.total_rows = total
    return result


def import_bytes(
    entity: str,
    source: str,
    data: bytes,
    filename: str,
    *,
    actor: User | None = None,
    progress: Progress | None = None,
    on_read: Callable[[int], None] | None = None,
) -> ImportResult:
    """Read a CSV/XLSX file and import it; `on_read(rows)` is called once the rows are counted."""
    raw = read_file(data, filename)
    del data
    if on_read:
        on_read(raw.height)
    return import_frame(entity, source, raw, actor=actor, progress=progress)


def import_records(
    entity: str, source: str, records: Iterable[Mapping[str, Any]], *, actor: User | None = None
) -> ImportResult:
    """A JSON API batch; its rows are numbered 1, 2, … in the order of `records`."""
    return import_frame(entity, source, frame_from_records(records), actor=actor, first_row=1)


def _write_events(checked: Checked, progress: Progress | None) -> ImportResult:
    frame = checked.frame
    events = frame.select(
        pl.lit(checked.source, dtype=pl.String).alias("source"),
        pl.col("external_id"),
        pl.col("account").alias("account_id"),
        pl.col("end_user").alias("end_user_id"),
        pl.col("kind"),
        pl.col("occurred_at"),
        pl.col("value"),
        pl.col("properties"),
    )
    total = events.height
    inserted = 0
    for start in range(0, total, WRITE_CHUNK):
        inserted += store.append_events(events.slice(start, WRITE_CHUNK))
        if progress:
            progress(min(total, start + WRITE_CHUNK), total)
    return ImportResult(created=inserted, unchanged=total - inserted)


def _empty_value(model: type[models.Model], column: Column) -> Any:
    """What an empty cell means for a field: its default where it has one, else blank or null."""
    model_field = model._meta.get_field(column.name)
    assert isinstance(model_field, models.Field)
    if model_field.has_default():
        return model_field.get_default()
    if model_field.null:
        return None
    return ""


def _python_value(column: Column, value: Any, model: type[models.Model]) -> Any:
    if value is None:
        return _empty_value(model, column) if column.kind != "ref" else None
    if column.kind == "json":
        return json.loads(value)
    return value


def _upsert(checked: Checked, actor: User | None, progress: Progress | None) -> ImportResult:
    spec, source = checked.spec, checked.source
    model = spec.model
    self_ref = SELF_REFS.get(spec.entity)
    columns = [spec.by_name[n] for n in checked.present if n != "external_id"]
    direct = [c for c in columns if not (c.kind == "ref" and c.ref == self_ref)]
    deferred = [c for c in columns if c.kind == "ref" and c.ref == self_ref]
    audited = [c.name for c in columns]
    now = timezone.now()
    result = ImportResult()
    audit: list[AuditEntry] = []
    created_audit: dict[int, AuditEntry] = {}
    touched_accounts: set[int] = set()
    changed_pks: set[int] = set()
    total = checked.frame.height
    rows = checked.frame.iter_rows(named=True)
    done = 0
    for batch in _batches(rows, RECORD_CHUNK):
        existing = {
            obj.external_id: obj  # type: ignore[attr-defined]
            for obj in model._default_manager.filter(source=source, external_id__in=[r["external_id"] for r in batch])
        }
        new_objs: list[models.Model] = []
        changed: list[models.Model] = []
        for row in batch:
            values = {c.attname: _python_value(c, row[c.name], model) for c in direct}
            obj = existing.get(row["external_id"])
            if obj is None:
                obj = model(source=source, external_id=row["external_id"], created_at=now, updated_at=now, **values)
                if isinstance(obj, Account):
                    obj.search_text = search_key(obj.name, obj.name_kana)
                new_objs.append(obj)
                continue
            before = snapshot(obj, audited)
            dirty = [a for a, v in values.items() if getattr(obj, a) != v]
            if not dirty:
                continue
            if isinstance(obj, Contract):
                touched_accounts.add(obj.account_id)
            for attname, value in values.items():
                setattr(obj, attname, value)
            obj.updated_at = now  # type: ignore[attr-defined]
            if isinstance(obj, Account):
                obj.search_text = search_key(obj.name, obj.name_kana)
            changed.append(obj)
            audit.append(_audit_entry(obj, AuditAction.UPDATE, before, snapshot(obj, audited), actor))
        if new_objs:
            model._default_manager.bulk_create(new_objs, batch_size=1000)
            for obj in new_objs:
                entry = _audit_entry(obj, AuditAction.CREATE, {}, snapshot(obj, audited), actor)
                created_audit[obj.pk] = entry
                audit.append(entry)
        if changed:
            fields = [c.name for c in direct] + ["updated_at"]
            if model is Account:
                fields.append("search_text")
            model._default_manager.bulk_update(changed, fields, batch_size=1000)
        result.created += len(new_objs)
        changed_pks.update(o.pk for o in changed)
        touched_accounts.update(o.account_id for o in [*new_objs, *changed] if isinstance(o, Contract))
        done += len(batch)
        if progress:
            progress(done, total)

    if deferred:
        _apply_self_refs(checked, deferred, actor, now, audit, created_audit, changed_pks)
    result.updated = len(changed_pks)
    result.unchanged = total - result.created - result.updated
    record_changes_bulk(audit)
    if touched_accounts:
        refresh_rollups(touched_accounts)
    return result


def _apply_self_refs(
    checked: Checked,
    columns: list[Column],
    actor: User | None,
    now: datetime.datetime,
    audit: list[AuditEntry],
    created_audit: dict[int, AuditEntry],
    changed_pks: set[int],
) -> None:
    """References to rows of the same file (a contact's successor) are set once every row has its pk."""
    model = checked.spec.model
    frame = checked.frame
    ids = frame.get_column("external_id").to_list()
    refs = {c.name: frame.get_column(f"{c.name}__ext").to_list() for c in columns}
    wanted = set(ids) | {v for values in refs.values() for v in values if v}
    pk_of: dict[str, int] = {}
    wanted_list = sorted(wanted)
    for start in range(0, len(wanted_list), LOOKUP_CHUNK):
        chunk = wanted_list[start : start + LOOKUP_CHUNK]
        pk_of.update(
            model._default_manager.filter(source=checked.source, external_id__in=chunk).values_list("external_id", "pk")
        )
    objs = {o.pk: o for o in model._default_manager.filter(pk__in=[pk_of[i] for i in ids])}
    changed: list[models.Model] = []
    for i, ext in enumerate(ids):
        obj = objs[pk_of[ext]]
        names = [c.name for c in columns]
        before = snapshot(obj, names)
        dirty = False
        for column in columns:
            target = refs[column.name][i]
            pk = pk_of.get(target) if target else None
            if getattr(obj, column.attname) != pk:
                setattr(obj, column.attname, pk)
                dirty = True
        if not dirty:
            continue
        obj.updated_at = now  # type: ignore[attr-defined]
        changed.append(obj)
        if obj.pk in created_audit:  # created by this import: its creation entry names the reference too
            created_audit[obj.pk].changes.update(diff({}, snapshot(obj, names)))
        else:
            changed_pks.add(obj.pk)
            audit.append(_audit_entry(obj, AuditAction.UPDATE, before, snapshot(obj, names), actor))
    if changed:
        model._default_manager.bulk_update(changed, [c.attname for c in columns] + ["updated_at"], batch_size=1000)


def _audit_entry(
    obj: models.Model, action: AuditAction, before: Mapping[str, Any], after: Mapping[str, Any], actor: User | None
) -> AuditEntry:
    account_id = obj.pk if isinstance(obj, Account) else getattr(obj, "account_id", None)
    return AuditEntry(
        actor=actor if actor is not None and actor.is_authenticated else None,
        via="import",
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=_describe(obj)[:200],
        account_id=account_id,
        changes=diff(before, after),
    )


def _describe(obj: models.Model) -> str:
    if isinstance(obj, Contract):  # its str() would fetch the account, one query per row
        return f"{obj.plan} ({obj.external_id})"
    return str(obj)


def _batches(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
