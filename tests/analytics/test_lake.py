"""The Parquet copy of the events: copied once and in full from the app database, partitioned by Japanese
month, readable while written, and whole after a writer is killed at any instant."""

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from django.db import transaction

from banso.activity import lake, store
from tests.activity.factories import AccountFactory

START = dt.datetime(2026, 10, 31, 14, 30, tzinfo=dt.UTC)  # 23:30 on 31 October in Tokyo


def _events(account_ids: list[int], n: int, start: int = 0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source": ["test"] * n,
            "external_id": [f"E{start + i}" for i in range(n)],
            "account_id": [account_ids[i % len(account_ids)] for i in range(n)],
            "end_user_id": [None] * n,
            "kind": ["login"] * n,
            "occurred_at": [START + dt.timedelta(minutes=20 * (start + i)) for i in range(n)],
            "value": ["1.5"] * n,
            "properties": ["{}"] * n,
        }
    )


def _append(frame: pl.DataFrame) -> None:
    with store.bulk_loading(), transaction.atomic():
        store.append_events(frame)


def _lake_ids(root: Path) -> list[int]:
    return sorted(i for path in lake.files(root=root) for i in pq.read_table(path, columns=["id"])["id"].to_pylist())


@pytest.mark.django_db(transaction=True)
def test_sync_copies_each_event_once_and_only_new_ones_later(settings):
    accounts = [AccountFactory().pk for _ in range(3)]
    _append(_events(accounts, 10))
    assert lake.sync(batch_rows=4) == 10
    assert lake.sync() == 0
    _append(_events(accounts, 5, start=10))
    assert lake.sync() == 5

    root = Path(settings.BANSO_EVENT_LAKE_DIR)
    assert len(_lake_ids(root)) == 15 == len(set(_lake_ids(root)))
    table = pq.read_table(lake.files(root=root)[0])
    assert table["value"][0].as_py() == pytest.approx(1.5)
    assert str(table.schema.field("occurred_at").type) == "timestamp[us, tz=UTC]"


@pytest.mark.django_db(transaction=True)
def test_events_are_filed_under_their_month_in_japan_time(settings):
    _append(_events([AccountFactory().pk], 3))  # 23:30, 23:50 on 31 Oct and 00:10 on 1 Nov in Tokyo
    lake.sync()
    months = sorted(entry["month"] for entry in lake.read_manifest().files)
    rows = {entry["month"]: entry["rows"] for entry in lake.read_manifest().files}
    assert months == ["2026-10", "2026-11"]
    assert rows == {"2026-10": 2, "2026-11": 1}
    november = [entry["path"] for entry in lake.read_manifest().files if entry["month"] == "2026-11"]
    assert lake.files(since=dt.date(2026, 11, 5)) == [Path(settings.BANSO_EVENT_LAKE_DIR) / november[0]]


@pytest.mark.django_db(transaction=True)
def test_compaction_merges_a_months_files_and_keeps_replaced_files_for_readers_until_the_grace_passes(
    settings, monkeypatch
):
    accounts = [AccountFactory().pk]
    for start in range(0, 20, 4):
        _append(_events(accounts, 4, start=start))
        lake.sync()
    root = Path(settings.BANSO_EVENT_LAKE_DIR)
    before = _lake_ids(root)
    per_month: dict[str, int] = {}
    for entry in lake.read_manifest().files:
        per_month[entry["month"]] = per_month.get(entry["month"], 0) + 1
    assert max(per_month.values()) > 1
    assert lake.compact(min_files=2) == sum(n for n in per_month.values() if n > 1)
    assert len(lake.read_manifest().files) == len(per_month)
    assert _lake_ids(root) == before
    retired = [root / r["path"] for r in lake.read_manifest().retired]
    assert retired and all(path.exists() for path in retired)  # a reader holding the old manifest can still open them

    monkeypatch.setattr(lake, "RETIRED_GRACE", dt.timedelta(0))
    lake.sync()  # the next writer clears what is past its grace
    assert not any(path.exists() for path in retired)
    assert _lake_ids(root) == before


KILLED_WRITER = """
import os, sys, time, datetime as dt
os.environ["DJANGO_SETTINGS_MODULE"] = "banso.settings"
import django; django.setup()
from django.core.management import call_command
from django.db import transaction
import polars as pl
from banso.accounts.models import Account
from banso.activity import lake, store
if sys.argv[1] == "prepare":
    call_command("migrate", verbosity=0)
    account = Account.objects.create(name="x", external_id="x")
    n = 60_000
    frame = pl.DataFrame({
        "source": ["t"] * n, "external_id": [str(i) for i in range(n)], "account_id": [account.pk] * n,
        "end_user_id": [None] * n, "kind": ["login"] * n,
        "occurred_at": [dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=13 * i) for i in range(n)],
        "value": [None] * n, "properties": ["{}"] * n,
    })
    with store.bulk_loading(), transaction.atomic():
        store.append_events(frame)
else:
    print("writing", flush=True)
    lake.sync(batch_rows=int(sys.argv[2]))
"""


def _run_writer(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", KILLED_WRITER, *args], env=env, stdout=subprocess.PIPE, text=True)


def _check_consistent(root: Path, database: Path) -> int:
    """Every listed file is readable; the copy holds exactly the events up to the watermark, each once."""
    manifest = lake.read_manifest(root)
    ids = _lake_ids(root)
    assert len(ids) == len(set(ids)), "an event was copied twice"
    with sqlite3.connect(database) as db:
        expected = [
            row[0]
            for row in db.execute("SELECT id FROM activity_event WHERE id <= ? ORDER BY id", [manifest.watermark])
        ]
    assert ids == expected, "the copy lost events it claims to have"
    return len(ids)


def test_a_writer_killed_mid_write_loses_nothing_and_the_next_writer_completes_the_copy(tmp_path):
    env = {**os.environ, "BANSO_VAR_DIR": str(tmp_path), "BANSO_EVENT_LAKE_DIR": str(tmp_path / "events")}
    env.pop("DATABASE_URL", None)  # the child's own SQLite file, which this test reads back
    assert _run_writer(env, "prepare").wait(timeout=120) == 0
    root, database = tmp_path / "events", tmp_path / "banso.sqlite3"

    copied = []
    for delay in (0.05, 0.15, 0.3):
        writer = _run_writer(env, "sync", "250")
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
        time.sleep(delay)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        copied.append(_check_consistent(root, database))
    assert copied[-1] < 60_000, "the writer finished before it was killed: the test proved nothing"

    assert _run_writer(env, "sync", "5000").wait(timeout=120) == 0
    assert _check_consistent(root, database) == 60_000
    leftovers = [
        p
        for p in root.glob("month=*/*")
        if p.relative_to(root).as_posix() not in {e["path"] for e in lake.read_manifest(root).files}
    ]
    assert leftovers == []


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_sync_waits_for_an_import_still_in_flight_instead_of_skipping_its_lower_ids(settings):
    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("ids commit in order on SQLite's single writer")
    import threading

    accounts = [AccountFactory().pk]
    holding, release = threading.Event(), threading.Event()

    def slow_import() -> None:
        try:
            with transaction.atomic():
                store.append_events(_events(accounts, 10))  # takes the lower ids, commits last
                holding.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    importer = threading.Thread(target=slow_import)
    importer.start()
    assert holding.wait(timeout=30)
    _append(_events(accounts, 10, start=10))  # higher ids, committed first

    copied: list[int] = []
    syncer = threading.Thread(target=lambda: (copied.append(lake.sync()), connections.close_all()))
    syncer.start()
    time.sleep(0.5)
    assert copied == []  # waiting for the import in flight
    release.set()
    importer.join(timeout=30)
    syncer.join(timeout=30)
    assert copied == [20]
    assert len(_lake_ids(Path(settings.BANSO_EVENT_LAKE_DIR))) == 20


@pytest.mark.django_db(transaction=True)
def test_imported_events_reach_the_analytics_copy_as_soon_as_the_import_commits(tmp_path):
    from banso.activity.services import import_path

    AccountFactory(external_id="A1")
    path = tmp_path / "events.csv"
    rows = "".join(f"E{i},A1,login,2026-11-0{1 + i % 9} 09:00:00\n" for i in range(25))
    path.write_text("external_id,account,kind,occurred_at\n" + rows, encoding="utf-8")
    job = import_path("events", path, "crm")
    assert job.status == "succeeded"
    assert lake.row_count() == 25
