"""The issue's reliability test: 1,000 queued emails, a real worker process (`banso playbooks outbox work`)
SIGKILLed at seeded random points mid-delivery and restarted, then run to completion against a real SMTP
server on loopback. No message arrives twice, every row ends `sent`, and a message can be missing only if its
row is flagged unconfirmed (a worker killed in the instant after the hand-over; see outbox.py).

It takes ~20 s (five worker start-ups of a few seconds each): it is the one test that proves the outbox
survives its worker being killed, so it stays in the suite. The worker reads the test database: on PostgreSQL
the test database itself, on SQLite a file copy of the migrated in-memory one (no second migration run).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from banso.playbooks import outbox
from banso.playbooks.models import MessageStatus, OutboxMessage

from ..mail import Inbox, start_server

EMAILS = 1000
KILLS = 4
SEED = int(os.environ.get("OUTBOX_KILL_SEED", "6"))  # try others: OUTBOX_KILL_SEED=7 pytest ...
LEASE_SECONDS = 2


def _database_url(tmp_path: Path) -> tuple[str, Path | None]:
    if connection.vendor == "sqlite":
        path = tmp_path / "outbox.sqlite3"
        connection.ensure_connection()
        target = sqlite3.connect(path)
        connection.connection.backup(target)
        target.close()
        return f"sqlite:///{path}", path
    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}", None


def _rows(path: Path | None) -> list[tuple[int, str, str, str]]:
    if path is None:
        return list(OutboxMessage.objects.values_list("id", "status", "message_id", "last_error"))
    with sqlite3.connect(path) as db:
        return db.execute("SELECT id, status, message_id, last_error FROM playbooks_outboxmessage").fetchall()


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = ["playbooks", "outbox", "work", "--batch", "50", "--lease", str(LEASE_SECONDS), "--idle-sleep", "0.1"]
    with log.open("ab") as err:
        return subprocess.Popen([sys.executable, "-m", "banso.cli", *command], env=env, stderr=err)


def _wait(until, process: subprocess.Popen[bytes], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        assert process.poll() is None, f"the worker exited early ({process.returncode}) waiting for {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.002)


@pytest.mark.django_db(transaction=True)
def test_killing_the_worker_at_random_points_delivers_every_email_exactly_once(tmp_path):
    queued = [outbox.enqueue_email(f"user{i}@kyaku.example.jp", f"お知らせ {i}", "本文です。") for i in range(EMAILS)]
    url, path = _database_url(tmp_path)
    inbox = Inbox()
    controller, port = start_server(inbox)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "BANSO_VAR_DIR": str(tmp_path),
        "BANSO_EMAIL_HOST": "127.0.0.1",
        "BANSO_EMAIL_PORT": str(port),
        "BANSO_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    }
    log = tmp_path / "worker.log"
    rng = random.Random(SEED)
    try:
        for target in sorted(rng.sample(range(50, EMAILS - 100), KILLS)):
            worker = _worker(env, log)
            _wait(lambda t=target: len(inbox.message_ids) >= t, worker, 60, f"{target} messages")
            time.sleep(rng.uniform(0, 0.01))
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        interrupted = Counter(status for _, status, _, _ in _rows(path))
        assert interrupted[MessageStatus.SENT] < EMAILS  # the kills did interrupt the delivery

        worker = _worker(env, log)
        _wait(lambda: all(status == MessageStatus.SENT for _, status, _, _ in _rows(path)), worker, 60, "all sent")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(10) == 0
    finally:
        controller.stop()

    rows = _rows(path)
    assert {status for _, status, _, _ in rows} == {MessageStatus.SENT}
    expected = {m.message_id for m in queued}
    assert {mid for _, _, mid, _ in rows} == expected
    unconfirmed = [mid for _, _, mid, error in rows if error.startswith(outbox.UNCONFIRMED)]
    received = set(inbox.message_ids)
    assert received <= expected  # only queued messages arrived, with the Message-ID fixed at enqueue
    assert inbox.duplicates() == {}  # nothing arrived twice
    # Every message arrived, except possibly one whose worker was killed between handing it over and the
    # final "." reaching the server: outbox.py's documented window. Such a message is flagged, never hidden.
    assert expected - received <= set(unconfirmed)
    assert len(expected - received) <= KILLS
    print(  # shown with -s
        f"\nseed {SEED}: {len(inbox.message_ids)} received for {EMAILS}, "
        f"{len(unconfirmed)} handed over by a killed worker and counted as sent unconfirmed"
    )
