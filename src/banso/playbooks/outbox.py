"""The outbox: every email and webhook post Banso sends is a row here first, then delivered by a worker.

Queueing. `enqueue_email` and `enqueue_webhook` are plain inserts meant for the caller's transaction, so a
message exists if and only if the change that caused it committed. A (source, dedupe_key) pair is queued
once; asking again returns the first row. Each email gets its Message-ID when queued and keeps it on every
attempt.

Delivery. `deliver_due` (run by `banso playbooks outbox work`, the long-running loop) claims a batch of due
rows in one short transaction: it marks them `sending` with a lease (`lease_until`), using SELECT ... FOR
UPDATE SKIP LOCKED on PostgreSQL so several workers share the queue, and SQLite's single writer (the
IMMEDIATE transactions of settings.py) elsewhere. It then sends them over one reused SMTP connection (and one
HTTP client for webhooks) and marks each row `sent` in its own tiny transaction right after the server
accepted it. A failure is retried with exponential backoff and jitter (1, 2, 4 ... minutes, capped at two
hours); after MAX_ATTEMPTS attempts, or at once on a permanent refusal (SMTP 5xx, HTTP 4xx other than 408 and
429), the row is `failed`: kept, visible on the outbox page, retryable by hand. Unsubscribable mail to an
address that unsubscribed becomes `suppressed`, also kept.

What "sent once" means. SMTP has no two-phase commit, but it has a point of no return: the server keeps a
message only when it reads the final "." of the DATA phase, and discards it if the connection drops before.
So an email is sent in two halves. The envelope and the whole body go first; then, in one commit, the row is
marked *handed over* (`sent_at` set while still `sending`); only then does the final "." go out, and the
server's "250 OK" turns the row `sent` (folded into the next message's commit). A worker killed at any point
leaves either a row not handed over, whose mail the server discarded, sent again safely; or a row handed
over, whose "." was already written to the socket (the kernel delivers it after the process dies), recorded
as `sent` and flagged *unconfirmed* on the outbox page, never sent again. Mail is therefore sent at most once
and never dropped silently; the only message that can be missing is one whose worker died in the few
microseconds between the commit returning and the "." being written, and it is flagged, not hidden. The
Message-ID, fixed at enqueue, is the same on every attempt as well.

Webhooks have no such point of no return: a row left `sending` by a dead worker is requeued *in doubt*
(`last_error` says so) and posted again with the same `X-Banso-Delivery` id, so the receiver can recognise a
copy; webhook delivery is at-least-once.

Web push messages (`enqueue_web_push`: a user's browser subscriptions and a JSON payload) go out with the
standard Web Push protocol (VAPID signature, aes128gcm encryption; pywebpush), at-least-once like webhooks. One
accepting subscription delivers the message; 404/410 answers are handed to the `on_web_push_gone` callbacks (the
owner of the subscriptions revokes them) and, when every subscription is gone, fail the message for good.
A batch (`web_push_batch_payload`: up to a thousand recipients, each with a `ref`, its subscriptions, or the
`user` whose live subscriptions the registered `set_web_push_subscriptions` resolver gives at send time, and
its own data added to the batch's shared data; senders to large audiences write one row per batch) is sent
recipient by recipient; each recipient's outcome is written into the payload's `results` ({ref: {"status":
"sent" | "failed", "at", "error"}}) every `WEB_PUSH_PROGRESS` recipients, with the lease renewed, so a retry
(or a copy after a dead worker) sends only to recipients without an outcome: a dead worker repeats at most
that many notifications. Recipients refused for a transient reason stay without an outcome and the message
retries; the message is sent when every recipient has an outcome and one was accepted, failed when none
was. The sender reads the outcomes from `results`.

Scheduling. The loop is the way to deliver within seconds. `register()` also adds a scheduler job that,
once a minute, queues a background task to deliver what is due when messages are waiting and no such task
is pending: with only the task worker and the scheduler running (as `scripts/demo` does) mail still goes out,
and when the loop runs too both share the queue safely through the claims above.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import random
import re
import smtplib
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import sanitize_address
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Count, F, Q, QuerySet, Value, When
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from banso.accounts.models import Account
from banso.core.choices import AuditAction
from banso.core.models import User
from banso.core.services import record_change, snapshot

from .models import MessageKind, MessageStatus, OutboxMessage, PlaybookRun, Unsubscribe

logger = logging.getLogger("banso.playbooks.outbox")

DUE = (MessageStatus.QUEUED, MessageStatus.RETRYING)
RETRYABLE_BY_HAND = (MessageStatus.FAILED, MessageStatus.RETRYING)
MAX_ATTEMPTS = 12  # 1, 2, 4 ... 64 minutes, then every 2 hours: about 10 hours in all
BACKOFF_BASE = dt.timedelta(minutes=1)
BACKOFF_CAP = dt.timedelta(hours=2)
JITTER = 0.2  # each delay is spread over ±20 % so a burst of failures does not retry in lock-step
DEFAULT_BATCH = 100
DEFAULT_LEASE = dt.timedelta(minutes=5)
SMTP_TIMEOUT = 30.0
WEBHOOK_TIMEOUT = 10.0
WEB_PUSH_TTL = 24 * 3600  # seconds the push service keeps a notification for an offline browser
WEB_PUSH_PROGRESS = 50  # a batch's outcomes are saved after this many recipients (see the module docstring)
DRAIN_BUDGET = dt.timedelta(minutes=5)
IN_DOUBT = "in doubt"
UNCONFIRMED = "unconfirmed"
UNSUBSCRIBE_SALT = "banso.playbooks.unsubscribe"
DELIVERY_HEADER = "X-Banso-Delivery"
TRANSIENT_HTTP = frozenset({408, 429})
_random = random.Random()  # jitter, not security


class OutboxError(Exception):
    """A request the outbox refuses (retrying a sent message); `field` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# Queueing --------------------------------------------------------------------------------------------------


def message_id_domain() -> str:
    return urlsplit(str(getattr(settings, "BANSO_PUBLIC_URL", ""))).hostname or "banso.localhost"


def _existing(source: str, dedupe_key: str | None) -> OutboxMessage | None:
    if dedupe_key is None:
        return None
    return OutboxMessage.objects.filter(source=source, dedupe_key=dedupe_key).first()


def _insert(message: OutboxMessage) -> OutboxMessage:
    """Insert, or return the row already queued under the same (source, dedupe_key). The savepoint keeps the
    caller's transaction usable when a concurrent insert wins the unique constraint."""
    found = _existing(message.source, message.dedupe_key)
    if found is not None:
        return found
    try:
        with transaction.atomic():
            message.save(force_insert=True)
    except IntegrityError:
        found = _existing(message.source, message.dedupe_key)
        if found is None:
            raise
        return found
    return message


def email_message(
    to: str,
    subject: str,
    text: str,
    *,
    html: str = "",
    source: str = "playbooks",
    dedupe_key: str | None = None,
    account: Account | None = None,
    run: PlaybookRun | None = None,
    unsubscribable: bool = False,
    from_email: str | None = None,
    headers: dict[str, str] | None = None,
) -> OutboxMessage:
    """An unsaved email row as the outbox sends it: for `enqueue_email`, or a caller's one bulk insert of many
    (who must then check dedupe keys itself)."""
    return OutboxMessage(
        kind=MessageKind.EMAIL,
        source=source,
        dedupe_key=dedupe_key,
        account=account,
        run=run,
        to_email=to.strip(),
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        subject=subject,
        body_text=text,
        body_html=html,
        message_id=make_msgid(domain=message_id_domain()),
        unsubscribable=unsubscribable,
        headers=headers or {},
    )


def enqueue_email(
    to: str,
    subject: str,
    text: str,
    *,
    html: str = "",
    source: str = "playbooks",
    dedupe_key: str | None = None,
    account: Account | None = None,
    run: PlaybookRun | None = None,
    unsubscribable: bool = False,
    from_email: str | None = None,
    headers: dict[str, str] | None = None,
) -> OutboxMessage:
    """Queue one email inside the caller's transaction; a repeated (source, dedupe_key) returns the first.
    `headers`: extra mail headers kept with the row (threading: In-Reply-To, References; Reply-To)."""
    return _insert(
        email_message(
            to,
            subject,
            text,
            html=html,
            source=source,
            dedupe_key=dedupe_key,
            account=account,
            run=run,
            unsubscribable=unsubscribable,
            from_email=from_email,
            headers=headers,
        )
    )


def enqueue_webhook(
    url: str,
    payload: Any,
    *,
    source: str = "playbooks",
    dedupe_key: str | None = None,
    account: Account | None = None,
    run: PlaybookRun | None = None,
) -> OutboxMessage:
    """Queue one JSON POST inside the caller's transaction; a repeated (source, dedupe_key) returns the first."""
    return _insert(
        OutboxMessage(
            kind=MessageKind.WEBHOOK,
            source=source,
            dedupe_key=dedupe_key,
            account=account,
            run=run,
            url=url,
            payload=payload,
        )
    )


def enqueue_web_push(
    subscriptions: list[dict[str, Any]],
    data: Any,
    *,
    source: str = "playbooks",
    dedupe_key: str | None = None,
    ttl: int = WEB_PUSH_TTL,
    account: Account | None = None,
) -> OutboxMessage:
    """Queue one Web Push notification (standard protocol, VAPID, aes128gcm) to a user's browser
    subscription(s) inside the caller's transaction. `subscriptions`: [{"endpoint", "keys": {"p256dh",
    "auth"}}]; `data` is sent as JSON. The VAPID keys come from `set_web_push_keys`; a push service
    answering 404/410 for a subscription calls the `on_web_push_gone` callbacks with its endpoint."""
    return _insert(
        OutboxMessage(
            kind=MessageKind.WEB_PUSH,
            source=source,
            dedupe_key=dedupe_key,
            account=account,
            url=subscriptions[0]["endpoint"] if subscriptions else "",
            payload=web_push_payload(subscriptions, data, ttl),
        )
    )


def web_push_payload(subscriptions: list[dict[str, Any]], data: Any, ttl: int = WEB_PUSH_TTL) -> dict[str, Any]:
    """The row's payload of a web-push message (also written in bulk by senders that COPY rows)."""
    return {"subscriptions": subscriptions, "data": data, "ttl": ttl}


def web_push_batch_payload(
    recipients: list[dict[str, Any]], data: dict[str, Any] | None = None, ttl: int = WEB_PUSH_TTL
) -> dict[str, Any]:
    """The payload of a batch: `recipients` [{"ref": str, "subscriptions": [...], "data": {...}}] and the data
    they share (each recipient is sent `data` updated with its own; see the module docstring; senders that
    build rows in SQL write the same shape)."""
    return {"recipients": recipients, "data": data or {}, "ttl": ttl}


def web_push_results(payload: dict[str, Any] | None) -> dict[str, dict[str, str]]:
    """A batch's outcomes so far: {ref: {"status": "sent" | "failed", "at": ISO time, "error": str}}."""
    return dict((payload or {}).get("results") or {})


# Web Push keys and gone subscriptions: registered by the app that owns subscriptions (campaigns), so the
# outbox does not depend on it.
_web_push_keys: Callable[[], tuple[str, str]] | None = None
_web_push_gone: list[Callable[[list[str]], None]] = []
_web_push_subscriptions: Callable[[list[int]], dict[int, list[dict[str, Any]]]] | None = None


def set_web_push_keys(provider: Callable[[], tuple[str, str]]) -> None:
    """`provider()` returns (VAPID private key, subject "mailto:…") at delivery time."""
    global _web_push_keys
    _web_push_keys = provider


def set_web_push_subscriptions(resolver: Callable[[list[int]], dict[int, list[dict[str, Any]]]]) -> None:
    """`resolver(user_ids)` returns {user id: live subscriptions} for a batch's recipients given by `user`."""
    global _web_push_subscriptions
    _web_push_subscriptions = resolver


def on_web_push_gone(callback: Callable[[list[str]], None]) -> None:
    """`callback(endpoints)` runs when push services answer 404/410 (the subscription no longer exists)."""
    if callback not in _web_push_gone:
        _web_push_gone.append(callback)


def web_push_batch_summary(message: OutboxMessage, failures: int = 20) -> dict[str, Any] | None:
    """For the message page: a batch's recipients and outcomes counted, the first recipient's data as a sample
    and the first `failures` refused recipients (a batch's whole payload is hundreds of kilobytes). None when
    the message is not a web-push batch."""
    payload = message.payload or {}
    if message.kind != MessageKind.WEB_PUSH or "recipients" not in payload:
        return None
    recipients = payload.get("recipients") or []
    results = web_push_results(payload)
    statuses = [o.get("status") for o in results.values()]
    return {
        "recipients": len(recipients),
        "sent": statuses.count("sent"),
        "failed": statuses.count("failed"),
        "pending": len(recipients) - len(results),
        "sample": {**(payload.get("data") or {}), **(recipients[0].get("data") or {})} if recipients else None,
        "failures": [(ref, o.get("error", "")) for ref, o in results.items() if o.get("status") == "failed"][:failures],
    }


def _save_web_push_results(row: OutboxMessage, payload: dict[str, Any], results: dict[str, Any]) -> None:
    """A batch's outcomes so far, committed with a renewed lease (see the module docstring)."""
    payload["results"] = results
    row.payload = payload
    OutboxMessage.objects.filter(pk=row.pk).update(payload=payload, lease_until=timezone.now() + DEFAULT_LEASE)


def _push_gone(endpoints: list[str]) -> None:
    for callback in _web_push_gone:
        try:
            callback(endpoints)
        except Exception:  # a hook's bug must not stop delivery
            logger.exception("web push gone callback failed")


# Unsubscribing ---------------------------------------------------------------------------------------------


def unsubscribe_token(message: OutboxMessage) -> str:
    """Signed, without a timestamp: every attempt of a message carries the same link, valid for good."""
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object({"m": message.pk}, compress=True)


def unsubscribe_url(message: OutboxMessage) -> str:
    base = str(getattr(settings, "BANSO_PUBLIC_URL", "http://127.0.0.1:8000")).rstrip("/")
    return base + reverse("playbooks:outbox_unsubscribe", args=[unsubscribe_token(message)])


def address_for_token(token: str) -> str | None:
    """The address a link was sent to, or None for a tampered or unknown token."""
    try:
        data = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("m"), int):
        return None
    found = OutboxMessage.objects.filter(pk=data["m"], kind=MessageKind.EMAIL).values_list("to_email", flat=True)
    return next(iter(found), None) or None


def is_unsubscribed(email: str) -> bool:
    return Unsubscribe.objects.filter(email=email.strip().lower()).exists()


def unsubscribe(email: str, via: str = "link") -> bool:
    """Record that `email` wants no more tech-touch mail; False if it had already asked."""
    _, created = Unsubscribe.objects.get_or_create(email=email.strip().lower(), defaults={"via": via})
    if created:
        logger.info("unsubscribed %s via %s", email, via)
    return created


# Delivery --------------------------------------------------------------------------------------------------


@dataclass
class DeliveryResult:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    suppressed: int = 0
    released: int = 0
    in_doubt: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"claimed {self.claimed}: {self.sent} sent, {self.retrying} to retry, {self.failed} failed, "
            f"{self.suppressed} suppressed, {self.released} released; {self.in_doubt} in doubt requeued"
        )


class _Refused(Exception):
    """A delivery that failed; `permanent` when trying again cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def _smtp_send(session: smtplib.SMTP, message: EmailMultiAlternatives, handed_over: Callable[[], None]) -> None:
    """smtplib's sendmail with the final "." held back until `handed_over()` has committed.

    Addresses and bytes are prepared as Django's SMTP backend prepares them."""
    encoding = message.encoding or settings.DEFAULT_CHARSET
    sender = sanitize_address(message.from_email, encoding)
    recipients = [sanitize_address(address, encoding) for address in message.recipients()]
    data = message.message().as_bytes(linesep="\r\n")
    session.ehlo_or_helo_if_needed()
    if session.sock is not None:
        # The final "." goes out as its own small write after the body: without this, Nagle's algorithm holds
        # it until the server's delayed ACK of the body (40 ms per message on Linux).
        session.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    code, reply = session.mail(sender)
    if code != 250:
        session.rset()
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    refused = {}
    for recipient in recipients:
        code, reply = session.rcpt(recipient)
        if code not in (250, 251):
            refused[recipient] = (code, reply)
    if len(refused) == len(recipients):
        session.rset()
        raise smtplib.SMTPRecipientsRefused(refused)
    code, reply = session.docmd("data")
    if code != 354:
        session.rset()
        raise smtplib.SMTPDataError(code, reply)
    body = re.sub(rb"(?m)^\.", b"..", data)  # dot-stuffing (RFC 5321 4.5.2)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    session.send(body)
    handed_over()
    session.send(b".\r\n")
    code, reply = session.getreply()
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)


class Courier:
    """One SMTP connection and one HTTP client, opened on first use and reused for every message.

    The worker loop keeps one Courier across passes and closes it when idle (servers drop idle sessions)."""

    def __init__(self, smtp: BaseEmailBackend | None = None, http: httpx.Client | None = None) -> None:
        self._smtp = smtp
        self._smtp_open = False
        # Set when the SMTP server cannot be reached: the rest of the pass fails fast instead of waiting
        # for a timeout per message; the next pass tries again.
        self.unreachable: str | None = None
        self._http = http
        self._own_http = http is None

    def send_email(self, message: EmailMultiAlternatives, handed_over: Callable[[], None]) -> None:
        """Send one mail; `handed_over()` is called (and must commit) just before the final "." goes out."""
        if self._smtp is None:
            self._smtp = get_connection(fail_silently=False, timeout=SMTP_TIMEOUT)
        if self.unreachable is not None:
            raise _Refused(self.unreachable)
        if not self._smtp_open:
            try:
                self._smtp.open()
            except (OSError, smtplib.SMTPException) as exc:
                self.unreachable = f"SMTP connection: {exc}"
                raise _Refused(self.unreachable) from exc
            self._smtp_open = True
        try:
            session = getattr(self._smtp, "connection", None)
            if isinstance(session, smtplib.SMTP):
                _smtp_send(session, message, handed_over)
            else:  # a non-SMTP backend (console, locmem, a provider's API): no "." to hold back
                handed_over()
                self._smtp.send_messages([message])
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _text in exc.recipients.values()]
            raise _Refused(f"SMTP refused the recipient: {exc.recipients}", permanent=min(codes) >= 500) from exc
        except smtplib.SMTPResponseException as exc:
            permanent = exc.smtp_code >= 500
            if not permanent:
                self._reset()
            raise _Refused(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=permanent) from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._reset()  # a dropped connection: open a fresh one for the next message
            raise _Refused(f"SMTP: {exc!r}") from exc

    def post(self, row: OutboxMessage) -> None:
        if self._http is None:
            self._http = httpx.Client(timeout=WEBHOOK_TIMEOUT, follow_redirects=False)
        try:
            response = self._http.post(
                row.url,
                json=row.payload,
                headers={DELIVERY_HEADER: str(row.pk), "User-Agent": "Banso outbox"},
            )
        except httpx.HTTPError as exc:
            raise _Refused(f"HTTP: {exc!r}") from exc
        code = response.status_code
        if 200 <= code < 300:
            return
        permanent = (code not in TRANSIENT_HTTP and 400 <= code < 500) or 300 <= code < 400
        raise _Refused(f"HTTP {code}: {response.text[:300]}", permanent=permanent)

    def web_push(self, row: OutboxMessage) -> None:
        """Send to every subscription of the row. Delivered when one accepted it; subscriptions answered
        404/410 are reported gone; all gone (or another 4xx) is a permanent refusal, 5xx/429/network retry.
        A batch row goes recipient by recipient (`_web_push_batch`)."""
        payload = row.payload or {}
        if "recipients" in payload:
            self._web_push_batch(row)
            return
        accepted, gone, errors, permanent = self._push(payload.get("subscriptions") or [], payload.get("data"), payload)
        if gone:
            _push_gone(gone)
        if accepted:
            return
        raise _Refused(f"web push: {'; '.join(errors) or 'no subscription'}", permanent=permanent)

    def _push(
        self, subscriptions: list[dict[str, Any]], data: Any, payload: dict[str, Any]
    ) -> tuple[int, list[str], list[str], bool]:
        """One notification to one user's subscriptions: (accepted, gone endpoints, errors, permanent)."""
        from pywebpush import WebPushException, webpush

        if _web_push_keys is None:
            raise _Refused("web push: no VAPID keys configured")
        private_key, subject = _web_push_keys()
        text = json.dumps(data, ensure_ascii=False)
        accepted, gone, errors, permanent = 0, [], [], True
        for subscription in subscriptions:
            try:
                webpush(
                    subscription,
                    data=text,
                    vapid_private_key=private_key,
                    vapid_claims={"sub": subject},
                    ttl=int(payload.get("ttl") or WEB_PUSH_TTL),
                    timeout=WEBHOOK_TIMEOUT,
                )
                accepted += 1
            except WebPushException as exc:
                code = exc.response.status_code if exc.response is not None else None
                if code in (404, 410):
                    gone.append(subscription["endpoint"])
                else:
                    permanent = permanent and code is not None and 400 <= code < 500 and code not in TRANSIENT_HTTP
                errors.append(f"{code}: {str(exc)[:200]}")
            except Exception as exc:  # network errors surface from requests
                permanent = False
                errors.append(repr(exc)[:200])
        return accepted, gone, errors, permanent

    def _web_push_batch(self, row: OutboxMessage) -> None:
        payload = dict(row.payload or {})
        results = web_push_results(payload)
        pending = [r for r in payload.get("recipients") or [] if str(r.get("ref")) not in results]
        users = [int(r["user"]) for r in pending if "subscriptions" not in r and r.get("user") is not None]
        if users and _web_push_subscriptions is None:
            raise _Refused("web push: no subscription resolver registered for the batch's users")
        resolved = _web_push_subscriptions(users) if users and _web_push_subscriptions is not None else {}
        retry: list[str] = []
        gone_all: list[str] = []
        at = ""
        for number, recipient in enumerate(pending, start=1):
            if (number - 1) % WEB_PUSH_PROGRESS == 0:
                at = timezone.now().isoformat()  # one time per saved chunk: the sender updates by it
            data = {**(payload.get("data") or {}), **(recipient.get("data") or {})}
            subscriptions = (
                recipient["subscriptions"]
                if "subscriptions" in recipient
                else resolved.get(int(recipient.get("user") or 0), [])
            )
            accepted, gone, errors, permanent = self._push(subscriptions, data, payload)
            gone_all.extend(gone)
            if accepted:
                results[str(recipient["ref"])] = {"status": "sent", "at": at, "error": ""}
            elif permanent:
                error = "; ".join(errors) or "no subscription"
                results[str(recipient["ref"])] = {"status": "failed", "at": at, "error": error[:300]}
            else:
                retry.append(f"{recipient['ref']}: {'; '.join(errors)}"[:300])
            if number % WEB_PUSH_PROGRESS == 0 or number == len(pending):
                _save_web_push_results(row, payload, results)
        if gone_all:
            _push_gone(gone_all)
        if retry:
            raise _Refused(f"web push: {len(retry)} recipient(s) to retry, e.g. {retry[0]}")
        if not any(r.get("status") == "sent" for r in results.values()):
            raise _Refused("web push: no recipient accepted the notification", permanent=True)

    def _reset(self) -> None:
        if self._smtp is not None and self._smtp_open:
            # Closing a broken connection may fail again; it is gone either way.
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._smtp.close()
        self._smtp_open = False

    def close(self) -> None:
        self._reset()
        if self._http is not None and self._own_http:
            self._http.close()
            self._http = None


def backoff(attempts: int, rng: random.Random | None = None) -> dt.timedelta:
    """The wait after the `attempts`-th failed attempt: 1, 2, 4 ... minutes (±JITTER), at most BACKOFF_CAP."""
    base = min(BACKOFF_BASE * (1 << min(max(0, attempts - 1), 20)), BACKOFF_CAP)
    factor = (rng or _random).uniform(1 - JITTER, 1 + JITTER)
    return base * factor


def recover_in_doubt(now: dt.datetime | None = None) -> int:
    """Settle rows left `sending` by a worker that died (lease expired): see the module docstring.

    A mail handed over (`sent_at` set) is `sent`, flagged unconfirmed, never sent again; a mail not handed
    over was discarded by the server and is sent again; a webhook post is requeued in doubt."""
    now = now or timezone.now()
    stale = OutboxMessage.objects.filter(status=MessageStatus.SENDING, lease_until__lt=now)
    unconfirmed = f"{UNCONFIRMED}: the worker stopped after handing this message to the mail server"
    interrupted = "the worker stopped before handing this message to the mail server; it is sent again"
    in_doubt = f"{IN_DOUBT}: the worker stopped while delivering this message; it is sent again with the same id"
    with transaction.atomic():
        handed_over = stale.filter(kind=MessageKind.EMAIL, sent_at__isnull=False).update(
            status=MessageStatus.SENT, lease_until=None, last_error=unconfirmed
        )
        gave_up = stale.filter(attempts__gte=MAX_ATTEMPTS).update(
            status=MessageStatus.FAILED, lease_until=None, last_error=interrupted
        )
        resent = stale.filter(kind=MessageKind.EMAIL).update(
            status=MessageStatus.RETRYING, lease_until=None, next_attempt_at=now, last_error=interrupted
        )
        requeued = stale.update(
            status=MessageStatus.RETRYING, lease_until=None, next_attempt_at=now, last_error=in_doubt
        )
    if handed_over or gave_up or resent or requeued:
        logger.warning(
            "after a stopped worker: %s mail(s) handed over marked sent (unconfirmed), %s resent, "
            "%s in-doubt webhook post(s) requeued, %s given up",
            handed_over,
            resent,
            requeued,
            gave_up,
        )
    return handed_over + gave_up + resent + requeued


def claim(batch: int, now: dt.datetime, lease: dt.timedelta = DEFAULT_LEASE) -> list[OutboxMessage]:
    """Mark up to `batch` due rows `sending` under a lease, in one short transaction; return them by id."""
    lease_until = now + lease
    with transaction.atomic():
        due = OutboxMessage.objects.filter(status__in=DUE, next_attempt_at__lte=now).order_by("next_attempt_at", "id")
        ids = list(due.select_for_update(skip_locked=True).values_list("id", flat=True)[:batch])
        if not ids:
            return []
        OutboxMessage.objects.filter(id__in=ids, status__in=DUE).update(
            status=MessageStatus.SENDING, lease_until=lease_until, attempts=F("attempts") + 1
        )
    mine = OutboxMessage.objects.filter(id__in=ids, status=MessageStatus.SENDING, lease_until=lease_until)
    return list(mine.order_by("id"))


def release(ids: Sequence[int], now: dt.datetime) -> int:
    """Give claimed rows back untried (the worker is stopping): their attempt does not count."""
    if not ids:
        return 0
    return OutboxMessage.objects.filter(id__in=ids, status=MessageStatus.SENDING).update(
        status=Case(When(attempts__lte=1, then=Value(MessageStatus.QUEUED)), default=Value(MessageStatus.RETRYING)),
        attempts=Case(When(attempts__gte=1, then=F("attempts") - 1), default=Value(0)),
        lease_until=None,
        next_attempt_at=now,
    )


def build_email(row: OutboxMessage) -> EmailMultiAlternatives:
    """The mail exactly as sent on every attempt: the stored Message-ID, and for tech-touch mail the
    unsubscribe link in the footer and the RFC 8058 one-click headers."""
    headers = {**(row.headers or {}), "Message-ID": row.message_id}
    text, html = row.body_text, row.body_html
    if row.unsubscribable:
        link = unsubscribe_url(row)
        headers["List-Unsubscribe"] = f"<{link}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        with translation.override(settings.LANGUAGE_CODE):
            label = _("To stop receiving these emails (unsubscribe):")
        text = f"{text.rstrip()}\n\n--\n{label}\n{link}\n"
        if html:
            html = f'{html}\n<p style="font-size:12px;color:#666">{label} <a href="{link}">{link}</a></p>'
    message = EmailMultiAlternatives(
        row.subject, text, row.from_email or settings.DEFAULT_FROM_EMAIL, [row.to_email], headers=headers
    )
    if html:
        message.attach_alternative(html, "text/html")
    return message


def _clock(now: dt.datetime | None) -> Callable[[], dt.datetime]:
    return (lambda: now) if now is not None else timezone.now


def deliver_due(
    *,
    batch: int = DEFAULT_BATCH,
    now: dt.datetime | None = None,
    lease: dt.timedelta = DEFAULT_LEASE,
    courier: Courier | None = None,
    stop: Callable[[], bool] | None = None,
    rng: random.Random | None = None,
) -> DeliveryResult:
    """Requeue in-doubt rows, claim one batch of due messages and deliver it (see the module docstring).

    `now` fixes the clock (tests advance it instead of sleeping); `stop()` is asked before each message and
    the rest of the batch is released untried when it says so."""
    clock = _clock(now)
    result = DeliveryResult(in_doubt=recover_in_doubt(clock()))
    claimed_at = time.monotonic()
    rows = claim(batch, clock(), lease)
    result.claimed = len(rows)
    if not rows:
        return result
    own_courier = courier is None
    courier = courier or Courier()
    courier.unreachable = None
    confirmed = _Confirmations(clock, result)
    try:
        rows = _suppress_unsubscribed(rows, clock(), result)
        for index, row in enumerate(rows):
            if stop is not None and stop():
                result.released = release([r.pk for r in rows[index:]], clock())
                break
            if time.monotonic() - claimed_at > lease.total_seconds() / 2:
                _renew([r.pk for r in rows[index:]], clock() + lease)
                claimed_at = time.monotonic()
            _deliver_one(row, courier, confirmed, clock, result, rng)
    finally:
        confirmed.flush()
        if own_courier:
            courier.close()
    return result


def _renew(ids: Sequence[int], lease_until: dt.datetime) -> None:
    """A slow batch (timeouts) keeps its lease, so no other worker takes rows this one is still sending."""
    OutboxMessage.objects.filter(id__in=ids, status=MessageStatus.SENDING).update(lease_until=lease_until)


def _suppress_unsubscribed(rows: list[OutboxMessage], now: dt.datetime, result: DeliveryResult) -> list[OutboxMessage]:
    addresses = {r.to_email.lower() for r in rows if r.kind == MessageKind.EMAIL and r.unsubscribable}
    if not addresses:
        return rows
    gone = set(Unsubscribe.objects.filter(email__in=addresses).values_list("email", flat=True))
    suppressed = [r.pk for r in rows if r.unsubscribable and r.to_email.lower() in gone]
    if suppressed:
        result.suppressed = OutboxMessage.objects.filter(id__in=suppressed).update(
            status=MessageStatus.SUPPRESSED, lease_until=None, last_error="unsubscribed"
        )
    return [r for r in rows if r.pk not in suppressed]


class _Confirmations:
    """Messages the receiver accepted whose `sent` is not committed yet: folded into the next commit (the
    next mail's hand-over), so a message costs one commit. Until then a row is `sending` with `sent_at` set,
    which `recover_in_doubt` also reads as sent."""

    def __init__(self, clock: Callable[[], dt.datetime], result: DeliveryResult) -> None:
        self.clock = clock
        self.result = result
        self.pending: list[int] = []

    def accepted(self, row: OutboxMessage) -> None:
        self.pending.append(row.pk)
        self.result.sent += 1

    def _write(self) -> None:
        if self.pending:
            OutboxMessage.objects.filter(id__in=self.pending).update(status=MessageStatus.SENT, lease_until=None)
            self.pending = []

    def hand_over(self, row: OutboxMessage) -> None:
        """Commit, before the final ".", that `row` is being handed to the mail server (and the accepted)."""
        with transaction.atomic():
            _relaxed_commit()
            self._write()
            OutboxMessage.objects.filter(pk=row.pk).update(sent_at=self.clock())

    def flush(self) -> None:
        with transaction.atomic():
            _relaxed_commit()
            self._write()


def _deliver_one(
    row: OutboxMessage,
    courier: Courier,
    confirmed: _Confirmations,
    clock: Callable[[], dt.datetime],
    result: DeliveryResult,
    rng: random.Random | None,
) -> None:
    try:
        if row.kind == MessageKind.EMAIL:
            courier.send_email(build_email(row), lambda: confirmed.hand_over(row))
        else:
            if row.kind == MessageKind.WEB_PUSH:
                courier.web_push(row)
            else:
                courier.post(row)
            with transaction.atomic():  # right after the receiver accepted it: see the module docstring
                _relaxed_commit()
                OutboxMessage.objects.filter(pk=row.pk).update(
                    status=MessageStatus.SENT, sent_at=clock(), lease_until=None
                )
            result.sent += 1
            return
    except _Refused as exc:
        confirmed.flush()
        _record_failure(row, str(exc), exc.permanent, clock(), result, rng)
        return
    confirmed.accepted(row)


def _relaxed_commit() -> None:
    """On PostgreSQL, do not wait for the WAL flush for the hand-over and `sent` marks (half the time per message).

    A worker killed after the commit returned loses nothing: the database server has the commit. Only a crash
    of the database server itself can lose it; the row is then back in `sending` without its hand-over, and
    the mail is sent a second time, with the same Message-ID."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _record_failure(
    row: OutboxMessage,
    error: str,
    permanent: bool,
    now: dt.datetime,
    result: DeliveryResult,
    rng: random.Random | None,
) -> None:
    result.errors.append(f"#{row.pk}: {error}")
    if permanent or row.attempts >= MAX_ATTEMPTS:
        update: dict[str, Any] = {"status": MessageStatus.FAILED}
        result.failed += 1
        logger.warning("outbox #%s failed after %s attempt(s): %s", row.pk, row.attempts, error)
    else:
        update = {"status": MessageStatus.RETRYING, "next_attempt_at": now + backoff(row.attempts, rng)}
        result.retrying += 1
    with transaction.atomic():
        OutboxMessage.objects.filter(pk=row.pk).update(
            lease_until=None, sent_at=None, last_error=error[:2000], **update
        )


# Reading and retrying by hand ------------------------------------------------------------------------------


def counts() -> dict[str, int]:
    """Messages per status, every status present (0 when none)."""
    found = dict(OutboxMessage.objects.values_list("status").annotate(n=Count("id")).order_by())
    return {status: int(found.get(status, 0)) for status in MessageStatus.values}


def filtered(status: str = "", kind: str = "", source: str = "", search: str = "") -> QuerySet[OutboxMessage]:
    rows = OutboxMessage.objects.all()
    if status:
        rows = rows.filter(status=status)
    if kind:
        rows = rows.filter(kind=kind)
    if source:
        rows = rows.filter(source=source)
    if search:
        rows = rows.filter(Q(to_email__icontains=search) | Q(url__icontains=search) | Q(subject__icontains=search))
    return rows.order_by("-created_at", "-id")


def sources() -> list[str]:
    return list(OutboxMessage.objects.order_by("source").values_list("source", flat=True).distinct())


def is_in_doubt(message: OutboxMessage) -> bool:
    return message.last_error.startswith(IN_DOUBT)


def is_unconfirmed(message: OutboxMessage) -> bool:
    return message.last_error.startswith(UNCONFIRMED)


AUDITED = ["status", "next_attempt_at", "attempts"]


def retry_now(message: OutboxMessage, actor: User | None, via: str = "ui", now: dt.datetime | None = None) -> None:
    """Make a failed or waiting message due now (audited). A message that gave up gets one more attempt."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = OutboxMessage.objects.select_for_update().get(pk=message.pk)
        if locked.status not in RETRYABLE_BY_HAND:
            raise OutboxError("status", _("Only a failed message or one waiting to retry can be retried now."))
        before = snapshot(locked, AUDITED)
        locked.status = MessageStatus.RETRYING
        locked.next_attempt_at = now
        if locked.attempts >= MAX_ATTEMPTS:
            locked.attempts = MAX_ATTEMPTS - 1
        locked.save(update_fields=["status", "next_attempt_at", "attempts"])
        record_change(
            actor=actor,
            obj=locked,
            action=AuditAction.UPDATE,
            before=before,
            after=snapshot(locked, AUDITED),
            account_id=locked.account_id,
            via=via,
        )
    message.refresh_from_db()


# The scheduler's job ---------------------------------------------------------------------------------------


def due_job(now: dt.datetime) -> str | None:
    """Every minute: queue one drain task when messages are due and none is queued or running already."""
    from banso.core.schedule import enqueue_unless_pending

    from .outbox_tasks import deliver_outbox

    if not OutboxMessage.objects.filter(
        Q(status__in=DUE, next_attempt_at__lte=now) | Q(status=MessageStatus.SENDING, lease_until__lt=now)
    ).exists():
        return None
    # A task marked running for longer than its budget belonged to a worker that died: do not wait for it.
    if not enqueue_unless_pending(deliver_outbox, now, stale_after=DRAIN_BUDGET + dt.timedelta(minutes=1)):
        return None
    return "outbox: delivery queued"


def drain(
    *, batch: int = DEFAULT_BATCH, budget: dt.timedelta = DRAIN_BUDGET, echo: Callable[[str], None] | None = None
) -> DeliveryResult:
    """Deliver until nothing is due or `budget` has passed (the background task's body)."""
    total = DeliveryResult()
    deadline = time.monotonic() + budget.total_seconds()
    courier = Courier()
    try:
        while time.monotonic() < deadline:
            result = deliver_due(batch=batch, courier=courier)
            _add(total, result)
            if echo and (result.claimed or result.in_doubt):
                echo(str(result))
            if not result.claimed:
                break
    finally:
        courier.close()
    return total


def _add(total: DeliveryResult, result: DeliveryResult) -> None:
    for name in ("claimed", "sent", "retrying", "failed", "suppressed", "released", "in_doubt"):
        setattr(total, name, getattr(total, name) + getattr(result, name))


def register() -> None:
    """From playbooks.registry: the scheduler's fallback delivery job (see the module docstring)."""
    from banso.core.schedule import ScheduledJob, register_job

    register_job(ScheduledJob("playbooks.outbox", due_job))
