"""The Web Push channel: VAPID keys, browser subscriptions of the extension, revocation when a push service
says a subscription is gone.

Keys come from settings (environment): `CAMPAIGNS_VAPID_PRIVATE_KEY` (the raw P-256 private key, base64url),
`CAMPAIGNS_VAPID_PUBLIC_KEY` (the uncompressed public point, base64url: the extension's
`applicationServerKey`) and `CAMPAIGNS_VAPID_SUBJECT` (mailto:…). `banso campaigns vapid-keys` prints a new
pair. Delivery itself is the outbox's (`playbooks.outbox.enqueue_web_push`, the standard Web Push protocol with
aes128gcm payload encryption); this module hands it the keys and receives the "gone" answers (404/410), which
revoke the subscription so it is never used again.

"Extension active" (the segment condition of seed 000) means: the user has a live subscription. A web-push
campaign reaches only such users, so its recipients are exactly the segment members with the extension active.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from banso.accounts.models import EndUser

from .models import PushSubscription

SUBSCRIPTION_SOURCE = "campaigns"


class SubscriptionError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _setting(name: str, default: str = "") -> str:
    return str(getattr(settings, name, None) or os.environ.get(name, default))


def vapid_private_key() -> str:
    return _setting("CAMPAIGNS_VAPID_PRIVATE_KEY")


def vapid_public_key() -> str:
    return _setting("CAMPAIGNS_VAPID_PUBLIC_KEY")


def vapid_subject() -> str:
    return _setting("CAMPAIGNS_VAPID_SUBJECT", "mailto:push@banso.localhost")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def generate_keys() -> dict[str, str]:
    """A new VAPID key pair as the settings expect them."""
    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid01

    vapid = Vapid01()
    vapid.generate_keys()
    private_value = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
    public = vapid.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {"CAMPAIGNS_VAPID_PRIVATE_KEY": _b64url(private_value), "CAMPAIGNS_VAPID_PUBLIC_KEY": _b64url(public)}


def subscription_info(sub: PushSubscription) -> dict[str, Any]:
    return {"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}}


def register_subscription(external_id: str, subscription: dict[str, Any], user_agent: str = "") -> PushSubscription:
    """Store (or revive) a browser subscription for the end user with this external id (any source)."""
    endpoint = str(subscription.get("endpoint") or "").strip()
    keys = subscription.get("keys") or {}
    if not endpoint.startswith(("https://", "http://")):
        raise SubscriptionError("subscription.endpoint", _("The subscription needs its endpoint URL."))
    if not isinstance(keys, dict) or not keys.get("p256dh") or not keys.get("auth"):
        raise SubscriptionError("subscription.keys", _("The subscription needs its p256dh and auth keys."))
    user = EndUser.objects.filter(external_id=external_id).order_by("id").first()
    if user is None:
        raise SubscriptionError("end_user", _("No user with this id."))
    with transaction.atomic():
        sub, _created = PushSubscription.objects.update_or_create(
            endpoint=endpoint,
            defaults={
                "end_user": user,
                "p256dh": str(keys["p256dh"]),
                "auth": str(keys["auth"]),
                "user_agent": user_agent[:300],
                "revoked_at": None,
            },
        )
    return sub


def unregister_subscription(endpoint: str) -> bool:
    """The extension unsubscribed: the subscription is revoked (kept for the record)."""
    return bool(
        PushSubscription.objects.filter(endpoint=endpoint, revoked_at__isnull=True).update(revoked_at=timezone.now())
    )


def revoke_gone(endpoints: list[str]) -> None:
    """The outbox's callback for 404/410 answers."""
    PushSubscription.objects.filter(endpoint__in=endpoints, revoked_at__isnull=True).update(revoked_at=timezone.now())


def live_subscriptions(user_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The outbox's resolver for a batch's recipients: each user's live subscriptions, oldest first."""
    found: dict[int, list[dict[str, Any]]] = {}
    for sub in PushSubscription.objects.filter(end_user_id__in=user_ids, revoked_at__isnull=True).order_by("id"):
        found.setdefault(sub.end_user_id, []).append(subscription_info(sub))
    return found


def register() -> None:
    from banso.playbooks import outbox

    outbox.set_web_push_keys(lambda: (vapid_private_key(), vapid_subject()))
    outbox.set_web_push_subscriptions(live_subscriptions)
    outbox.on_web_push_gone(revoke_gone)
