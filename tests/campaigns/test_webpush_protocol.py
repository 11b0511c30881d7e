"""Web Push end to end: a campaign's notification goes out through the outbox with the standard protocol to a
loopback push service, which checks the VAPID signature and decrypts the aes128gcm payload with the browser's
keys; a 410 answer revokes the subscription. The subscription API and the public key."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import numpy as np
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.utils import timezone

from banso.campaigns import push, webpush
from banso.campaigns.models import Delivery, DeliveryStatus, PushSubscription
from banso.core.choices import Role
from banso.playbooks import outbox
from banso.playbooks.models import MessageStatus, OutboxMessage

from .factories import UserFactory
from .factories_push import BrowserKeys, PushCampaignFactory, SubscriptionFactory, b64url

pytestmark = pytest.mark.django_db


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PushService:
    """A loopback push service: records each POST (path, headers, body) and answers `status`."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.status = 201
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                service.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(service.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def push_service(settings) -> Iterator[PushService]:
    keys = webpush.generate_keys()
    settings.CAMPAIGNS_VAPID_PRIVATE_KEY = keys["CAMPAIGNS_VAPID_PRIVATE_KEY"]
    settings.CAMPAIGNS_VAPID_PUBLIC_KEY = keys["CAMPAIGNS_VAPID_PUBLIC_KEY"]
    settings.CAMPAIGNS_VAPID_SUBJECT = "mailto:push@banso.example.jp"
    settings.BANSO_PUBLIC_URL = "https://banso.example.jp"
    service = PushService()
    yield service
    service.close()


def _check_vapid(headers: dict[str, str], audience: str, public_key: str) -> dict[str, object]:
    """The Authorization header is `vapid t=<JWT ES256>, k=<public key>`: verify it like a push service."""
    scheme, _, params = headers["authorization"].partition(" ")
    assert scheme.lower() == "vapid"
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == public_key
    header_b64, claims_b64, signature_b64 = fields["t"].split(".")
    signature = _unb64(signature_b64)
    point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(fields["k"]))
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    point.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))  # raises when forged
    assert json.loads(_unb64(header_b64))["alg"] == "ES256"
    claims = json.loads(_unb64(claims_b64))
    assert claims["aud"] == audience and claims["sub"] == "mailto:push@banso.example.jp"
    assert claims["exp"] > time.time()
    return dict(claims)


def test_a_campaign_notification_reaches_the_push_service_signed_and_decrypts_as_sent(push_service, settings):
    browser = BrowserKeys()
    user = UserFactory()
    SubscriptionFactory(
        end_user=user, endpoint=f"{push_service.url}/push/abc", p256dh=browser.p256dh, auth=b64url(browser.auth)
    )
    campaign = PushCampaignFactory(title="ポイント10倍", body="旅行予約が今だけ10%還元")
    push.send(campaign, timezone.now(), members=np.array([user.pk]))

    result = outbox.deliver_due()

    assert result.sent == 1, result.errors
    path, headers, body = push_service.received[0]
    assert path == "/push/abc"
    assert headers["content-encoding"] == "aes128gcm" and int(headers["ttl"]) > 0
    _check_vapid(headers, push_service.url, settings.CAMPAIGNS_VAPID_PUBLIC_KEY)
    plain = http_ece.decrypt(body, private_key=browser.private_key, auth_secret=browser.auth, version="aes128gcm")
    token = Delivery.objects.get(campaign=campaign).token
    assert json.loads(plain) == {
        "title": "ポイント10倍",
        "body": "旅行予約が今だけ10%還元",
        "url": f"https://banso.example.jp/campaigns/c/{token}",
        "icon": push.ICON,
    }
    push.sync_results()
    assert Delivery.objects.get(campaign=campaign).status == DeliveryStatus.DELIVERED


def test_a_410_from_the_push_service_revokes_the_subscription_and_fails_the_message(push_service):
    push_service.status = 410
    browser = BrowserKeys()
    user = UserFactory()
    sub = SubscriptionFactory(
        end_user=user, endpoint=f"{push_service.url}/push/gone", p256dh=browser.p256dh, auth=b64url(browser.auth)
    )
    campaign = PushCampaignFactory()
    push.send(campaign, timezone.now(), members=np.array([user.pk]))

    result = outbox.deliver_due()

    assert result.failed == 1 and len(push_service.received) == 1
    sub.refresh_from_db()
    assert sub.revoked_at is not None
    assert OutboxMessage.objects.get(source="campaigns").status == MessageStatus.FAILED
    push.sync_results()
    assert Delivery.objects.get(campaign=campaign).status == DeliveryStatus.FAILED
    # The next campaign does not try the revoked subscription.
    assert push.send(PushCampaignFactory(), timezone.now(), members=np.array([user.pk])).unreachable == 1


def test_the_extension_registers_and_removes_a_subscription_through_the_api(api_as, settings):
    settings.CAMPAIGNS_VAPID_PUBLIC_KEY = "BPublicKey"
    client = api_as(Role.CSM)
    user = UserFactory(external_id="member-77")
    subscription = {"endpoint": "https://fcm.example.net/send/xyz", "keys": {"p256dh": "BKey", "auth": "c2VjcmV0"}}
    created = client.post(
        "/api/campaigns/push/subscriptions",
        {"end_user": "member-77", "subscription": subscription},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    sub = PushSubscription.objects.get(endpoint="https://fcm.example.net/send/xyz")
    assert sub.end_user_id == user.pk and sub.p256dh == "BKey" and sub.revoked_at is None

    bad = client.post(
        "/api/campaigns/push/subscriptions",
        {"end_user": "member-77", "subscription": {"endpoint": "https://x.example.net/1", "keys": {}}},
        content_type="application/json",
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "subscription.keys"
    unknown = client.post(
        "/api/campaigns/push/subscriptions",
        {"end_user": "nobody", "subscription": subscription},
        content_type="application/json",
    )
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["field"] == "end_user"

    removed = client.delete(
        "/api/campaigns/push/subscriptions", {"endpoint": sub.endpoint}, content_type="application/json"
    )
    assert removed.status_code == 204
    sub.refresh_from_db()
    assert sub.revoked_at is not None
    assert client.get("/api/campaigns/push/vapid-public-key").json() == {"public_key": "BPublicKey"}


def test_generated_vapid_keys_sign_what_the_public_key_verifies():
    keys = webpush.generate_keys()
    private = ec.derive_private_key(int.from_bytes(_unb64(keys["CAMPAIGNS_VAPID_PRIVATE_KEY"]), "big"), ec.SECP256R1())
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(keys["CAMPAIGNS_VAPID_PUBLIC_KEY"]))
    public.verify(private.sign(b"x", ec.ECDSA(hashes.SHA256())), b"x", ec.ECDSA(hashes.SHA256()))
