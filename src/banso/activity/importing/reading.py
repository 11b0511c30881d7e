"""Reading: bytes (CSV in UTF-8, UTF-8 with BOM or cp932; XLSX) or JSON records → one all-string frame."""

from __future__ import annotations

import codecs
import datetime
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl
from django.utils.translation import gettext as _

from .specs import ImportRefused, row_error


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
