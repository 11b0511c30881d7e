"""The analytics copy of the events: a Parquet dataset that the analytics engine reads while the app writes.

Where events live (measured in issue 3, see docs/ANALYTICS.md):

- The app database stays the system of record. Imports and the API append there (`store.py`), in
  transactions, idempotently on (source, external_id); the web pages read timelines there.
- Analytics never scans the app database. `sync()` copies new events (by id, a watermark) into this
  dataset: one Parquet file per Japanese month per sync, rows in time order, so an engine skips the months
  and row groups a query's window cannot touch. Deployments whose events come from elsewhere (a
  warehouse export, the benchmarks' generators) write files here with `append()`.

The dataset is safe against a writer killed at any instant. Files are written under temporary names and
renamed into place, and only files listed in the manifest (`_manifest.json`, itself replaced by an atomic
rename) exist for readers. A writer killed before the manifest is replaced leaves unlisted files that the
next writer removes; the watermark in the manifest moves with the files it covers, so nothing is lost or
read twice. One writer at a time, by an exclusive lock on `_lock`; readers take no lock.

`compact()` merges a month's small files into one. Files it replaces stay on disk for a grace period, so a
reader that loaded the previous manifest can still open them.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.db import connection

from banso.core import arrowdb

from .models import Event
from .store import EVENT_WRITE_LOCK

MANIFEST = "_manifest.json"
LOCK = "_lock"
SYNC_BATCH_ROWS = 1_000_000
ROW_GROUP_ROWS = 256 * 1024
RETIRED_GRACE = dt.timedelta(hours=1)
SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("source", pa.string()),
        ("account_id", pa.int64()),
        ("end_user_id", pa.int64()),
        ("kind", pa.string()),
        ("occurred_at", pa.timestamp("us", tz="UTC")),
        ("value", pa.decimal128(18, 4)),
    ]
)
_TOKYO_OFFSET = dt.timedelta(hours=9)  # Japan has no daylight saving time


@dataclass
class Manifest:
    watermark: int = 0  # the highest app-database event id copied
    files: list[dict[str, Any]] = field(default_factory=list)  # {"path", "month", "rows", "min_at", "max_at"}
    retired: list[dict[str, str]] = field(default_factory=list)  # {"path", "at"}: replaced, deleted after grace
    version: int = 0


def lake_dir() -> Path:
    return Path(settings.BANSO_EVENT_LAKE_DIR)


def read_manifest(root: Path | None = None) -> Manifest:
    path = (root or lake_dir()) / MANIFEST
    if not path.exists():
        return Manifest()
    return Manifest(**json.loads(path.read_text()))


def files(since: dt.date | None = None, root: Path | None = None) -> list[Path]:
    """The dataset's live files, optionally only those that can hold events on or after `since`."""
    root = root or lake_dir()
    listed = read_manifest(root).files
    if since is not None:
        month = since.strftime("%Y-%m")
        listed = [entry for entry in listed if entry["month"] >= month]
    return [root / entry["path"] for entry in listed]


def row_count(root: Path | None = None) -> int:
    return sum(int(entry["rows"]) for entry in read_manifest(root).files)


@contextmanager
def _writing(root: Path) -> Iterator[Manifest]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        manifest = read_manifest(root)
        _remove_leftovers(root, manifest)
        yield manifest


def _remove_leftovers(root: Path, manifest: Manifest) -> None:
    """Delete what a killed writer left (temporary and unlisted files) and retired files past their grace."""
    now = dt.datetime.now(dt.UTC)
    keep_retired = [r for r in manifest.retired if now - dt.datetime.fromisoformat(r["at"]) < RETIRED_GRACE]
    known = {entry["path"] for entry in manifest.files} | {r["path"] for r in keep_retired}
    for path in root.glob("month=*/*"):
        if path.relative_to(root).as_posix() not in known:
            path.unlink(missing_ok=True)
    if len(keep_retired) != len(manifest.retired):
        manifest.retired = keep_retired
        _commit(root, manifest)


def _commit(root: Path, manifest: Manifest) -> None:
    manifest.version += 1
    temporary = root / f".{MANIFEST}.{uuid.uuid4().hex}"
    with open(temporary, "w") as out:
        json.dump(manifest.__dict__, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, root / MANIFEST)
    _fsync_dir(root)


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _months(table: pa.Table) -> pa.Array:
    local = pc.add(table["occurred_at"].cast(pa.timestamp("us")), pa.scalar(_TOKYO_OFFSET, pa.duration("us")))
    return pc.strftime(local, format="%Y-%m")


def _write_files(root: Path, table: pa.Table) -> list[dict[str, Any]]:
    """Write `table` as one time-ordered file per month, each fsynced under its final name's directory."""
    table = table.select(SCHEMA.names).cast(SCHEMA)
    months = _months(table)
    written = []
    for month in sorted(pc.unique(months).to_pylist()):
        part = table.filter(pc.equal(months, month)).sort_by("occurred_at")
        directory = root / f"month={month}"
        directory.mkdir(exist_ok=True)
        name = f"part-{uuid.uuid4().hex}.parquet"
        temporary = directory / f".{name}.tmp"
        with open(temporary, "wb") as out:
            pq.write_table(part, out, row_group_size=ROW_GROUP_ROWS, compression="zstd")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, directory / name)
        _fsync_dir(directory)
        times = part["occurred_at"]
        written.append(
            {
                "path": f"month={month}/{name}",
                "month": month,
                "rows": part.num_rows,
                "min_at": pc.min(times).as_py().isoformat(),
                "max_at": pc.max(times).as_py().isoformat(),
            }
        )
    return written


def append(table: pa.Table, root: Path | None = None) -> int:
    """Add events that did not come through the app database (no ids: `id` is left null)."""
    root = root or lake_dir()
    if "id" not in table.column_names:
        table = table.append_column("id", pa.nulls(table.num_rows, pa.int64()))
    if "source" not in table.column_names:
        table = table.append_column("source", pa.nulls(table.num_rows, pa.string()))
    with _writing(root) as manifest:
        manifest.files.extend(_write_files(root, table))
        _commit(root, manifest)
    return int(table.num_rows)


def committed_bound() -> int:
    """The highest event id below which every event is committed: what a sync may copy up to.

    SQLite has one writer at a time, so ids commit in order. On PostgreSQL a sequence hands out ids before
    their transactions commit, in any order: copying up to the highest visible id could step over a lower
    id still in flight and lose it for good. Taking the write lock exclusively for a moment waits out the
    writers in flight; the highest id then is safe.
    """
    query = f"SELECT COALESCE(MAX(id), 0) FROM {Event._meta.db_table}"  # noqa: S608
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(query)
            return int(cursor.fetchone()[0])
        cursor.execute("SELECT pg_advisory_lock(%s)", [EVENT_WRITE_LOCK])
        try:
            cursor.execute(query)
            return int(cursor.fetchone()[0])
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [EVENT_WRITE_LOCK])


def _fetch_between(reader: Any | None, after: int, upto: int, limit: int) -> pa.Table:
    """Events with after < id <= upto, the first `limit` of them by id."""
    table_name = Event._meta.db_table
    text_time = "CAST(occurred_at AS TEXT)" if connection.vendor == "sqlite" else "occurred_at"
    select = (
        f"SELECT id, source, account_id, end_user_id, kind, {text_time} AS occurred_at, "  # noqa: S608
        f"CAST(value AS TEXT) AS value FROM {table_name} WHERE id > {{0}} AND id <= {{1}} ORDER BY id LIMIT {{2}}"
    )
    if reader is not None:
        with reader.cursor() as cursor:
            cursor.execute(select.format(*arrowdb.marks(3)), (after, upto, limit))
            table = cursor.fetch_arrow_table()
    else:
        with connection.cursor() as cursor:
            cursor.execute(select.format("%s", "%s", "%s"), [after, upto, limit])
            rows = cursor.fetchall()
        names = ("id", "source", "account_id", "end_user_id", "kind", "occurred_at", "value")
        columns: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        table = pa.table(
            {
                name: pa.array(list(column)) if column else pa.array([], pa.string())
                for name, column in zip(names, columns, strict=True)
            }
        )
    return _conform(table)


def _conform(table: pa.Table) -> pa.Table:
    """The lake's schema from what the database returned (SQLite: times as naive UTC text)."""
    if table.num_rows == 0:
        return SCHEMA.empty_table()
    times = table["occurred_at"]
    if pa.types.is_string(times.type) or pa.types.is_large_string(times.type):
        parsed = pl.from_arrow(times.combine_chunks())
        assert isinstance(parsed, pl.Series)
        times = parsed.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us", time_zone="UTC").to_arrow()
    columns = {name: table[name] for name in ("id", "source", "account_id", "end_user_id", "kind")}
    columns["occurred_at"] = times
    columns["value"] = pc.cast(table["value"], pa.string())
    out = pa.table(columns)
    return out.set_column(6, "value", pc.cast(out["value"], pa.decimal128(18, 4))).cast(SCHEMA)


def sync(
    progress: Callable[[int], None] | None = None, batch_rows: int = SYNC_BATCH_ROWS, root: Path | None = None
) -> int:
    """Copy the app database's committed events not yet in the dataset; returns how many were copied."""
    root = root or lake_dir()
    copied = 0
    with _writing(root) as manifest:
        bound = committed_bound()
        # Inside a transaction the rows are read through Django's own connection, which sees what that
        # transaction wrote (a second connection would not, and its ids would be skipped for good). Such
        # rows are copied even if the transaction later rolls back: call sync() after commit
        # (transaction.on_commit), as imports do.
        reader = None if connection.in_atomic_block else arrowdb.connect()
        try:
            while manifest.watermark < bound:
                batch = _fetch_between(reader, manifest.watermark, bound, batch_rows)
                if batch.num_rows == 0:
                    break
                manifest.files.extend(_write_files(root, batch))
                manifest.watermark = int(pc.max(batch["id"]).as_py())
                _commit(root, manifest)
                copied += batch.num_rows
                if progress:
                    progress(copied)
        finally:
            if reader is not None:
                reader.close()
    return copied


def compact(min_files: int = 4, root: Path | None = None) -> int:
    """Merge each month that has at least `min_files` files into one; returns how many files were merged."""
    root = root or lake_dir()
    merged = 0
    with _writing(root) as manifest:
        by_month: dict[str, list[dict[str, Any]]] = {}
        for entry in manifest.files:
            by_month.setdefault(entry["month"], []).append(entry)
        for entries in by_month.values():
            if len(entries) < min_files:
                continue
            table = pa.concat_tables(pq.read_table(root / entry["path"], schema=SCHEMA) for entry in entries)
            new = _write_files(root, table)
            now = dt.datetime.now(dt.UTC).isoformat()
            replaced = {entry["path"] for entry in entries}
            manifest.files = [entry for entry in manifest.files if entry["path"] not in replaced] + new
            manifest.retired.extend({"path": path, "at": now} for path in sorted(replaced))
            _commit(root, manifest)
            merged += len(entries)
    return merged
