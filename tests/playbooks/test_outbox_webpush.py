"""The outbox's web-push messages: queued once per dedupe key, delivered with the standard Web Push protocol
(VAPID keys from the registered provider), 404/410 answers reported to the "gone" callbacks and failing the
message for good, 5xx retried."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from banso.playbooks import outbox
from banso.playbooks.models import MessageKind, MessageStatus

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
