"""The outbox service against real receivers: aiosmtpd on loopback and a local HTTP server that fails half the
time. Time is advanced by passing `now`, never by sleeping."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from banso.playbooks import outbox
from banso.playbooks.models import MessageStatus, OutboxMessage, Unsubscribe

from ..mail import smtp  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC)


def _deliver_until_quiet(now: dt.datetime, courier: outbox.Courier, passes: int = 50) -> dt.datetime:
    """Run worker passes, jumping the clock to each next due time, until nothing is waiting."""
    for _ in range(passes):
        outbox.deliver_due(now=now, rng=random.Random(1), courier=courier)
        waiting = OutboxMessage.objects.filter(status__in=outbox.DUE).order_by("next_attempt_at").first()
        if waiting is None:
            return now
        now = max(now, waiting.next_attempt_at)
    raise AssertionError("still waiting after every pass")


# Queueing ------------------------------------------------------------------------------------------------------


def test_a_repeated_dedupe_key_returns_the_first_message_and_queues_nothing_more(settings):
    settings.BANSO_PUBLIC_URL = "https://banso.example.jp"
    first = outbox.enqueue_email("tanaka@kyaku.example.jp", "件名", "本文", source="billing", dedupe_key="inv-1")
    again = outbox.enqueue_email("other@kyaku.example.jp", "別件", "別", source="billing", dedupe_key="inv-1")
    other_source = outbox.enqueue_email("tanaka@kyaku.example.jp", "件名", "本文", source="support", dedupe_key="inv-1")
    hook = outbox.enqueue_webhook("https://hooks.example.jp/x", {"a": 1}, source="billing", dedupe_key="hook-1")
    hook_again = outbox.enqueue_webhook("https://hooks.example.jp/y", {"a": 2}, source="billing", dedupe_key="hook-1")
    assert again.pk == first.pk and again.to_email == "tanaka@kyaku.example.jp"
    assert hook_again.pk == hook.pk and hook_again.payload == {"a": 1}
    assert other_source.pk != first.pk
    assert OutboxMessage.objects.count() == 3
    assert first.message_id.startswith("<") and first.message_id.endswith("@banso.example.jp>")


def test_a_message_exists_only_if_the_callers_transaction_commits():
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.enqueue_email("tanaka@kyaku.example.jp", "件名", "本文")
        raise RuntimeError("the change that caused it failed")
    assert not OutboxMessage.objects.exists()


# Email ---------------------------------------------------------------------------------------------------------


def test_due_mail_goes_out_over_one_connection_with_its_stored_message_id(smtp, monkeypatch):  # noqa: F811
    opened = []
    from django.core.mail.backends.smtp import EmailBackend

    real_open = EmailBackend.open
    monkeypatch.setattr(EmailBackend, "open", lambda self: opened.append(self.connection is None) or real_open(self))
    queued = [outbox.enqueue_email(f"user{i}@kyaku.example.jp", f"お知らせ{i}", "本文です。") for i in range(5)]
    later = outbox.enqueue_email("later@kyaku.example.jp", "後で", "本文")
    OutboxMessage.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + dt.timedelta(hours=1))

    result = outbox.deliver_due()

    assert (result.claimed, result.sent) == (5, 5)
    assert sum(opened) == 1  # one SMTP session for the batch
    assert smtp.message_ids == [m.message_id for m in queued]
    assert smtp.messages[0]["Subject"] == "お知らせ0" and "List-Unsubscribe" not in smtp.messages[0]
    assert set(OutboxMessage.objects.filter(status=MessageStatus.SENT).values_list("pk", flat=True)) == {
        m.pk for m in queued
    }
    assert OutboxMessage.objects.get(pk=later.pk).status == MessageStatus.QUEUED


def test_a_permanent_refusal_gives_up_at_once(smtp):  # noqa: F811
    smtp.refuse.add("gone@kyaku.example.jp")
    message = outbox.enqueue_email("gone@kyaku.example.jp", "件名", "本文")
    result = outbox.deliver_due()
    message.refresh_from_db()
    assert (result.failed, message.status, message.attempts) == (1, MessageStatus.FAILED, 1)
    assert "550" in message.last_error and smtp.messages == []


def test_temporary_failures_retry_on_the_backoff_schedule_until_they_give_up(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens: connection refused
    message = outbox.enqueue_email("tanaka@kyaku.example.jp", "件名", "本文")
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=T0)

    now, waits = T0, []
    while True:
        outbox.deliver_due(now=now, rng=random.Random(3))
        message.refresh_from_db()
        if message.status != MessageStatus.RETRYING:
            break
        waits.append((message.next_attempt_at - now).total_seconds() / 60)
        now = message.next_attempt_at

    assert message.status == MessageStatus.FAILED and message.attempts == outbox.MAX_ATTEMPTS
    expected = [1, 2, 4, 8, 16, 32, 64, 120, 120, 120, 120]  # minutes, capped at two hours
    assert len(waits) == len(expected)
    for wait, base in zip(waits, expected, strict=True):
        assert base * 0.8 <= wait <= base * 1.2
    assert "SMTP connection" in message.last_error


def test_an_unreachable_smtp_server_fails_the_rest_of_the_pass_without_trying_each_message(settings, monkeypatch):
    from django.core.mail.backends.smtp import EmailBackend

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1
    tries = []
    real_open = EmailBackend.open
    monkeypatch.setattr(EmailBackend, "open", lambda self: tries.append(1) or real_open(self))
    for i in range(3):
        outbox.enqueue_email(f"u{i}@kyaku.example.jp", "件名", "本文")
    result = outbox.deliver_due()
    assert (result.retrying, len(tries)) == (3, 1)
    assert set(OutboxMessage.objects.values_list("last_error", flat=True)) == {result.errors[0].split(": ", 1)[1]}
    assert outbox.backoff(30) <= outbox.BACKOFF_CAP * 1.2


def test_a_message_that_gave_up_is_sent_by_a_manual_retry(smtp, settings):  # noqa: F811
    message = outbox.enqueue_email("tanaka@kyaku.example.jp", "件名", "本文")
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.FAILED, attempts=outbox.MAX_ATTEMPTS, last_error="SMTP 451"
    )
    message.refresh_from_db()
    outbox.retry_now(message, None)
    assert message.status == MessageStatus.RETRYING and message.attempts == outbox.MAX_ATTEMPTS - 1
    outbox.deliver_due()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and smtp.message_ids == [message.message_id]
    with pytest.raises(outbox.OutboxError) as refused:
        outbox.retry_now(message, None)
    assert refused.value.field == "status"


def test_tech_touch_mail_carries_a_one_click_unsubscribe_and_is_suppressed_afterwards(smtp, client):  # noqa: F811
    first = outbox.enqueue_email("Suzuki@Kyaku.example.jp", "活用のヒント", "本文です。", unsubscribable=True)
    outbox.deliver_due()
    mail = smtp.messages[0]
    link = mail["List-Unsubscribe"].strip().strip("<>")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link.startswith("https://banso.example.jp/playbooks/outbox/unsubscribe/")
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert link in text and "配信停止" in text

    path = link.removeprefix("https://banso.example.jp")
    response = client.post(path, {"List-Unsubscribe": "One-Click"})  # what a mail provider sends (RFC 8058)
    assert response.status_code == 200
    assert Unsubscribe.objects.get().email == "suzuki@kyaku.example.jp"

    later = outbox.enqueue_email("suzuki@kyaku.example.jp", "次のヒント", "本文", unsubscribable=True)
    operational = outbox.enqueue_email("suzuki@kyaku.example.jp", "請求書", "本文", unsubscribable=False)
    result = outbox.deliver_due()
    assert (result.suppressed, result.sent) == (1, 1)
    later.refresh_from_db()
    assert later.status == MessageStatus.SUPPRESSED
    assert smtp.message_ids == [first.message_id, operational.message_id]


# Crashes and stops ---------------------------------------------------------------------------------------------


def test_a_mail_whose_worker_died_before_handing_it_over_is_sent_again_once(smtp):  # noqa: F811
    message = outbox.enqueue_email("tanaka@kyaku.example.jp", "件名", "本文")
    now = timezone.now()
    claimed = outbox.claim(10, now, dt.timedelta(minutes=5))  # the worker dies right after claiming
    assert [m.pk for m in claimed] == [message.pk]

    assert outbox.deliver_due(now=now + dt.timedelta(minutes=4)).claimed == 0  # lease still held
    result = outbox.deliver_due(now=now + dt.timedelta(minutes=6))

    message.refresh_from_db()
    assert (result.in_doubt, result.sent) == (1, 1)
    assert message.status == MessageStatus.SENT and not outbox.is_unconfirmed(message)
    assert smtp.message_ids == [message.message_id]


def test_a_mail_handed_over_before_its_worker_died_counts_as_sent_unconfirmed_and_is_never_resent(smtp):  # noqa: F811
    message = outbox.enqueue_email("tanaka@kyaku.example.jp", "件名", "本文")
    now = timezone.now()
    outbox.claim(10, now, dt.timedelta(minutes=5))
    OutboxMessage.objects.filter(pk=message.pk).update(sent_at=now)  # died after the hand-over commit

    result = outbox.deliver_due(now=now + dt.timedelta(minutes=6))

    message.refresh_from_db()
    assert (result.in_doubt, result.claimed) == (1, 0)
    assert message.status == MessageStatus.SENT and outbox.is_unconfirmed(message)
    assert smtp.message_ids == []  # this test never sent it; the outbox does not send it again either


def test_the_hand_over_is_committed_before_the_server_has_the_whole_mail(smtp):  # noqa: F811
    message = outbox.enqueue_email("tanaka@kyaku.example.jp", "件名", "本文")
    seen_at_hand_over: list[tuple[list[str], object]] = []
    courier = outbox.Courier()
    try:
        courier.send_email(
            outbox.build_email(message),
            lambda: seen_at_hand_over.append((list(smtp.message_ids), OutboxMessage.objects.get(pk=message.pk))),
        )
    finally:
        courier.close()
    assert seen_at_hand_over and seen_at_hand_over[0][0] == []  # the server had not accepted it yet
    assert smtp.message_ids == [message.message_id]  # and did after the final "."


# Webhooks ------------------------------------------------------------------------------------------------------


class _FlakyReceiver(BaseHTTPRequestHandler):
    rng = random.Random(42)
    received: list[tuple[str, dict]] = []
    status_for: dict[str, int] = {}

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status = self.status_for.get(self.path) or (503 if self.rng.random() < 0.5 else 200)
        if status == 200:
            self.received.append((self.headers[outbox.DELIVERY_HEADER], body))
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"ok" if status == 200 else b"try later")

    def log_message(self, format, *args):
        return


@pytest.fixture
def receiver() -> Iterator[str]:
    _FlakyReceiver.rng = random.Random(42)
    _FlakyReceiver.received = []
    _FlakyReceiver.status_for = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FlakyReceiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_webhook_receiver_failing_half_the_time_gets_every_message_with_its_delivery_id(receiver):
    queued = [outbox.enqueue_webhook(f"{receiver}/hook", {"n": i}, source="test") for i in range(40)]
    OutboxMessage.objects.update(next_attempt_at=T0)

    _deliver_until_quiet(T0, courier=outbox.Courier())

    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
    got = {int(delivery): body["n"] for delivery, body in _FlakyReceiver.received}
    assert got == {m.pk: i for i, m in enumerate(queued)}
    retried = OutboxMessage.objects.filter(attempts__gt=1).count()
    assert 5 < retried < 40  # about half failed at least once, and were retried


def test_a_webhook_refused_with_a_client_error_fails_at_once_and_a_server_error_retries(receiver):
    _FlakyReceiver.status_for = {"/gone": 404, "/busy": 429}
    gone = outbox.enqueue_webhook(f"{receiver}/gone", {"x": 1})
    busy = outbox.enqueue_webhook(f"{receiver}/busy", {"x": 2})
    outbox.deliver_due()
    gone.refresh_from_db()
    busy.refresh_from_db()
    assert gone.status == MessageStatus.FAILED and gone.last_error.startswith("HTTP 404")
    assert busy.status == MessageStatus.RETRYING and busy.next_attempt_at > timezone.now()


# The scheduler's fallback ---------------------------------------------------------------------------------------


def test_the_scheduler_queues_one_delivery_task_while_mail_waits_and_the_task_delivers_it(smtp):  # noqa: F811
    from django_tasks_db.models import DBTaskResult

    from banso.core.schedule import scheduled_jobs
    from banso.playbooks.outbox_tasks import deliver_outbox

    job = next(j for j in scheduled_jobs() if j.name == "playbooks.outbox")
    assert job.due(timezone.now()) is None  # nothing waiting
    message = outbox.enqueue_email("tanaka@kyaku.example.jp", "件名", "本文")
    assert job.due(timezone.now()) == "outbox: delivery queued"
    assert job.due(timezone.now()) is None  # one task at a time
    assert DBTaskResult.objects.filter(task_path=deliver_outbox.module_path).count() == 1

    deliver_outbox.call()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and smtp.message_ids == [message.message_id]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="several workers share the queue on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_several_workers_at_once_share_the_queue_without_sending_anything_twice(smtp):  # noqa: F811
    queued = {outbox.enqueue_email(f"u{i}@kyaku.example.jp", "件名", "本文").message_id for i in range(300)}
    claimed: list[int] = []

    def work() -> None:
        try:
            while (result := outbox.deliver_due(batch=10)).claimed:
                claimed.append(result.claimed)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert sum(claimed) == 300
    assert sorted(smtp.message_ids) == sorted(queued) and smtp.duplicates() == {}
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {MessageStatus.SENT}


def test_a_webhook_post_whose_worker_died_is_requeued_in_doubt_with_the_same_delivery_id(receiver):
    _FlakyReceiver.status_for = {"/ok": 200}
    message = outbox.enqueue_webhook(f"{receiver}/ok", {"text": "こんにちは"})
    now = timezone.now()
    outbox.claim(10, now, dt.timedelta(minutes=5))  # the worker dies right after claiming
    result = outbox.deliver_due(now=now + dt.timedelta(minutes=6))
    message.refresh_from_db()
    assert (result.in_doubt, result.sent) == (1, 1)
    assert message.status == MessageStatus.SENT and outbox.is_in_doubt(message)
    assert [delivery for delivery, _body in _FlakyReceiver.received] == [str(message.pk)]
