"""The outbox's web-push messages: queued once per dedupe key, delivered with the standard Web Push protocol
(VAPID keys from the registered provider), 404/410 answers reported to the "gone" callbacks and failing the
message for good, 5xx retried; batches of recipients with an outcome each, retried or repeated after a dead
worker only for the recipients without one."""

from __future__ import annotations

import base64
import datetime as dt
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from banso.playbooks import outbox
from banso.playbooks.models import MessageKind, MessageStatus, OutboxMessage

pytestmark = pytest.mark.django_db


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Service:
    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.paths: list[str] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                service.paths.append(self.path)
                self.send_response(service.codes.get(self.path, 201))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def service(monkeypatch) -> Iterator[Service]:
    private = ec.generate_private_key(ec.SECP256R1())
    key = _b64(private.private_numbers().private_value.to_bytes(32, "big"))
    monkeypatch.setattr(outbox, "_web_push_keys", lambda: (key, "mailto:ops@example.jp"))
    gone: list[str] = []
    monkeypatch.setattr(outbox, "_web_push_gone", [gone.extend])
    s = Service()
    s.gone = gone  # type: ignore[attr-defined]
    yield s
    s.server.shutdown()
    s.server.server_close()


def _subscription(url: str) -> dict[str, object]:
    browser = ec.generate_private_key(ec.SECP256R1())
    point = browser.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {"endpoint": url, "keys": {"p256dh": _b64(point), "auth": _b64(b"0123456789abcdef")}}


def test_a_web_push_is_queued_once_and_sent_to_every_subscription(service):
    subs = [_subscription(f"{service.url}/a"), _subscription(f"{service.url}/b")]
    first = outbox.enqueue_web_push(subs, {"title": "t"}, source="test", dedupe_key="k1")
    again = outbox.enqueue_web_push(subs, {"title": "t"}, source="test", dedupe_key="k1")
    assert first.pk == again.pk and first.kind == MessageKind.WEB_PUSH
    assert outbox.deliver_due().sent == 1
    assert sorted(service.paths) == ["/a", "/b"]
    first.refresh_from_db()
    assert first.status == MessageStatus.SENT and first.sent_at is not None


def test_a_gone_subscription_is_reported_and_the_message_still_counts_when_another_took_it(service):
    service.codes["/old"] = 410
    message = outbox.enqueue_web_push(
        [_subscription(f"{service.url}/old"), _subscription(f"{service.url}/new")], {"title": "t"}
    )
    assert outbox.deliver_due().sent == 1
    assert service.gone == [f"{service.url}/old"]
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_all_subscriptions_gone_fails_for_good_and_a_server_error_retries(service):
    service.codes["/gone"] = 404
    service.codes["/busy"] = 503
    gone = outbox.enqueue_web_push([_subscription(f"{service.url}/gone")], {"title": "t"})
    busy = outbox.enqueue_web_push([_subscription(f"{service.url}/busy")], {"title": "t"})
    result = outbox.deliver_due()
    assert result.failed == 1 and result.retrying == 1
    gone.refresh_from_db()
    busy.refresh_from_db()
    assert gone.status == MessageStatus.FAILED and busy.status == MessageStatus.RETRYING
    assert service.gone == [f"{service.url}/gone"]


def _batch(service: Service, *paths: str) -> OutboxMessage:
    recipients = [
        {"ref": str(n), "subscriptions": [_subscription(f"{service.url}{path}")], "data": {"title": f"t{n}"}}
        for n, path in enumerate(paths, start=1)
    ]
    return OutboxMessage.objects.create(
        kind=MessageKind.WEB_PUSH, source="test", payload=outbox.web_push_batch_payload(recipients)
    )


def _outcomes(message: OutboxMessage) -> dict[str, str]:
    message.refresh_from_db()
    return {ref: o["status"] for ref, o in outbox.web_push_results(message.payload).items()}


def test_a_batch_records_each_recipients_outcome_and_retries_only_those_refused_for_now(service):
    service.codes["/gone"] = 410
    service.codes["/busy"] = 503
    message = _batch(service, "/a", "/gone", "/busy")
    result = outbox.deliver_due()
    assert result.retrying == 1
    assert _outcomes(message) == {"1": "sent", "2": "failed"}  # the busy one has none yet
    assert message.status == MessageStatus.RETRYING and service.gone == [f"{service.url}/gone"]

    service.codes["/busy"] = 201
    later = message.next_attempt_at + dt.timedelta(seconds=1)
    assert outbox.deliver_due(now=later).sent == 1
    assert service.paths == ["/a", "/gone", "/busy", "/busy"]  # the others were not sent again
    assert _outcomes(message) == {"1": "sent", "2": "failed", "3": "sent"}
    assert message.status == MessageStatus.SENT


def test_a_batch_nobody_accepted_fails_for_good_with_every_outcome(service):
    service.codes["/gone"] = 404
    service.codes["/bad"] = 400
    message = _batch(service, "/gone", "/bad")
    assert outbox.deliver_due().failed == 1
    assert _outcomes(message) == {"1": "failed", "2": "failed"}
    assert message.status == MessageStatus.FAILED


def test_a_worker_dying_mid_batch_repeats_at_most_the_recipients_since_its_last_save(service, monkeypatch):
    monkeypatch.setattr(outbox, "WEB_PUSH_PROGRESS", 2)
    message = _batch(service, "/1", "/2", "/3", "/4", "/5")
    real_push = outbox.Courier._push

    def dies_on_the_fourth(self, subscriptions, data, payload):
        if subscriptions[0]["endpoint"].endswith("/4"):
            raise KeyboardInterrupt  # the worker is killed while sending
        return real_push(self, subscriptions, data, payload)

    monkeypatch.setattr(outbox.Courier, "_push", dies_on_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        outbox.deliver_due()
    assert _outcomes(message) == {"1": "sent", "2": "sent"}  # saved after two; the third is lost
    assert message.status == MessageStatus.SENDING

    monkeypatch.setattr(outbox.Courier, "_push", real_push)
    after_the_lease = message.lease_until + dt.timedelta(seconds=1)
    result = outbox.deliver_due(now=after_the_lease)
    assert result.in_doubt == 1 and result.sent == 1
    assert service.paths == ["/1", "/2", "/3", "/3", "/4", "/5"]
    assert _outcomes(message) == {str(n): "sent" for n in range(1, 6)}


def test_a_batch_recipient_given_by_user_gets_the_subscriptions_the_resolver_has_at_send_time(service, monkeypatch):
    live = {7: [_subscription(f"{service.url}/seven")]}  # user 8 unsubscribed after the batch was queued
    asked: list[list[int]] = []
    monkeypatch.setattr(outbox, "_web_push_subscriptions", lambda users: asked.append(users) or live)
    recipients = [{"ref": "a", "user": 7, "data": {"url": "/c/a"}}, {"ref": "b", "user": 8, "data": {"url": "/c/b"}}]
    message = OutboxMessage.objects.create(
        kind=MessageKind.WEB_PUSH, source="test", payload=outbox.web_push_batch_payload(recipients, {"title": "t"})
    )
    assert outbox.deliver_due().sent == 1
    assert asked == [[7, 8]] and service.paths == ["/seven"]
    assert _outcomes(message) == {"a": "sent", "b": "failed"}
