"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for every test that sends mail.

`smtp` (fixture) points Django's SMTP backend at a fresh server; `start_server(inbox)` starts one for tests that
need it outside the settings (a worker in another process). The inbox records every message, in arrival order,
with its Message-ID."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

SURVEY_LINK = re.compile(r"https?://[^\s\"<>]+/survey/[^\s\"<>]+/")


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.message_ids: list[str] = []
        self.refuse: set[str] = set()
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)  # type: ignore[arg-type]
        with self._lock:
            self.messages.append(message)
            self.message_ids.append(str(message["Message-ID"]))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def duplicates(self) -> dict[str, int]:
        """Message-IDs received more than once, with how often."""
        return {mid: n for mid, n in Counter(self.message_ids).items() if n > 1}

    def link(self, message: EmailMessage, pattern: re.Pattern[str] = SURVEY_LINK) -> str:
        text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        found = pattern.search(text)
        assert found, text
        return found.group(0)


_Inbox = Inbox  # the survey tests' name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(inbox: Inbox) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, port


@pytest.fixture
def smtp(settings) -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd); Django's SMTP backend pointed at it."""
    inbox = Inbox()
    controller, port = start_server(inbox)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.BANSO_PUBLIC_URL = "https://banso.example.jp"
    settings.BANSO_COMPANY_NAME = "伴走株式会社"
    try:
        yield inbox
    finally:
        controller.stop()
