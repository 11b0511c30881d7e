"""Survey test data: surveys, a real SMTP server on loopback that keeps what it receives, answers as events."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import itertools
import re
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import factory
import polars as pl
import pytest
from aiosmtpd.controller import Controller
from django.db import transaction

from banso.accounts.models import Account
from banso.activity.store import append_events
from banso.health.models import Survey, SurveyKind

TOKYO = ZoneInfo("Asia/Tokyo")
LINK = re.compile(r"https?://[^\s\"<>]+/survey/[^\s\"<>]+/")
_ids = itertools.count(1)


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey

    name = factory.Sequence(lambda n: f"顧客満足度調査{n}")
    kind = SurveyKind.NPS
    question = "{会社名}を同僚や知人に薦める可能性はどのくらいありますか？"
    comment_question = "理由をお聞かせください。"


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def link(self, message: EmailMessage) -> str:
        text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        found = LINK.search(text)
        assert found, text
        return found.group(0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(settings) -> Iterator[_Inbox]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd); Django's SMTP backend pointed at it."""
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.BANSO_PUBLIC_URL = "https://banso.example.jp"
    settings.BANSO_COMPANY_NAME = "伴走株式会社"
    try:
        yield inbox
    finally:
        controller.stop()


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), TOKYO)


def add_scores(*answers: tuple[Account, str, dt.datetime, int]) -> int:
    """Survey answers as events (account, kind, when, score), as the demo or an import would store them."""
    frame = pl.DataFrame(
        {
            "source": ["test"] * len(answers),
            "external_id": [f"sv-{next(_ids)}" for _ in answers],
            "account_id": [a.pk for a, _k, _t, _s in answers],
            "end_user_id": [None] * len(answers),
            "kind": [k for _a, k, _t, _s in answers],
            "occurred_at": [t.astimezone(dt.UTC) for _a, _k, t, _s in answers],
            "value": [str(s) for _a, _k, _t, s in answers],
            "properties": ['{"survey": "nps"}'] * len(answers),
        },
        schema_overrides={"end_user_id": pl.Int64, "value": pl.String},
    )
    with transaction.atomic():
        return append_events(frame)
