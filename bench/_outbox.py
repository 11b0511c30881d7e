"""The outbox half of `banso bench playbooks`: emails delivered per second to a local SMTP server.

Issue 6: the outbox delivers at least 200 emails/s to a local SMTP server. `measure(scale, database)` queues
N emails (5,000 at scale 1, at least 200) in one transaction, starts an SMTP server on loopback that accepts
and discards (aiosmtpd, in a child process so it does not share this process's interpreter lock), and times
the worker's own loop (`outbox.deliver_due` with one Courier, batches of 100, until nothing is due): claims,
one SMTP session, a commit per message. The median of 3 runs; each run queues fresh messages.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from typing import Any

from _data import log

FULL_EMAILS = 5000
SOURCE = "bench-outbox"
REPETITIONS = 3
_SINK = """
import socket, sys
from aiosmtpd.controller import Controller

class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
controller = Controller(Sink(), hostname="127.0.0.1", port=port)
controller.start()
print(port, flush=True)
sys.stdin.read()
controller.stop()
"""


def emails(scale: float) -> int:
    return max(200, round(FULL_EMAILS * scale))


def measure(scale: float, database: str) -> dict[str, Any]:
    """Queue, deliver and time; returns {"emails", "emails_per_s", "outbox_seconds", ...}."""
    from django.db import transaction
    from django.test.utils import override_settings
    from django.urls import reverse

    from banso.playbooks import outbox
    from banso.playbooks.models import OutboxMessage

    count = emails(scale)
    reverse("playbooks:outbox")  # load the URL map (for unsubscribe links) before anything is timed
    sink = subprocess.Popen([sys.executable, "-c", _SINK], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None
        port = int(sink.stdout.readline())
        seconds, queue_seconds = [], []
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
        ):
            for repetition in range(REPETITIONS):
                OutboxMessage.objects.filter(source=SOURCE).delete()
                started = time.perf_counter()
                with transaction.atomic():
                    for i in range(count):
                        outbox.enqueue_email(
                            f"user{i}@bench.example.jp",
                            f"ご利用状況のお知らせ {i}",
                            "いつもご利用ありがとうございます。\n今月のご利用状況をお知らせします。\n",
                            source=SOURCE,
                            unsubscribable=True,
                        )
                queue_seconds.append(time.perf_counter() - started)
                sent, courier = 0, outbox.Courier()
                started = time.perf_counter()
                try:
                    while True:
                        result = outbox.deliver_due(batch=100, courier=courier)
                        sent += result.sent
                        if not result.claimed:
                            break
                finally:
                    courier.close()
                seconds.append(time.perf_counter() - started)
                left = OutboxMessage.objects.filter(source=SOURCE).exclude(status="sent").count()
                if sent < count or left:
                    raise RuntimeError(f"bench outbox: {sent} sent of {count}, {left} not sent")
                log(f"outbox run {repetition + 1}: {count} emails in {seconds[-1]:.2f} s")
        OutboxMessage.objects.filter(source=SOURCE).delete()
    finally:
        if sink.stdin:
            sink.stdin.close()
        sink.wait(10)
    median = statistics.median(seconds)
    return {
        "emails": count,
        "emails_per_s": round(count / median, 1),
        "outbox_seconds": round(median, 3),
        "outbox_queue_seconds": round(statistics.median(queue_seconds), 3),
        "outbox_database": database,
    }
