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

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.db import connection

from .models import Event

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
    return table.num_rows


def _fetch_after(watermark: int, limit: int) -> pa.Table:
    columns = ", ".join(SCHEMA.names)
    query = f"SELECT {columns} FROM {Event._meta.db_table} WHERE id > %s ORDER BY id LIMIT %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(query, [watermark, limit])
        rows = cursor.fetchall()
    if not rows:
        return SCHEMA.empty_table()
    columns_of = dict(zip(SCHEMA.names, zip(*rows, strict=True), strict=True))
    times: Any = columns_of["occurred_at"]
    if isinstance(times[0], dt.datetime) and times[0].tzinfo is None:
        # SQLite: Django stores aware times as naive UTC and its converter returns them naive.
        times = pc.assume_timezone(pa.array(times, pa.timestamp("us")), timezone="UTC")
    values = pa.array([None if v is None else str(v) for v in columns_of["value"]], pa.string())
    data = {
        name: pa.array(columns_of[name], SCHEMA.field(name).type)
        for name in ("id", "source", "account_id", "end_user_id", "kind")
    }
    data["occurred_at"] = (
        pa.array(times, SCHEMA.field("occurred_at").type) if not isinstance(times, pa.Array) else times
    )
    data["value"] = pc.cast(values, pa.decimal128(18, 4))
    return pa.table(data, schema=SCHEMA)


def sync(
    progress: Callable[[int], None] | None = None, batch_rows: int = SYNC_BATCH_ROWS, root: Path | None = None
) -> int:
    """Copy the app database's events not yet in the dataset; returns how many were copied."""
    root = root or lake_dir()
    copied = 0
    with _writing(root) as manifest:
        while True:
            batch = _fetch_after(manifest.watermark, batch_rows)
            if batch.num_rows == 0:
                break
            manifest.files.extend(_write_files(root, batch))
            manifest.watermark = int(pc.max(batch["id"]).as_py())
            _commit(root, manifest)
            copied += batch.num_rows
            if progress:
                progress(copied)
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
