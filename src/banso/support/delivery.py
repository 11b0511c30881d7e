"""Delivery of agents' public replies to the customer's channel (stub: the channels area fills this in):
email through the playbooks outbox in the same thread; chat through the widget (realtime)."""

from __future__ import annotations

from .models import Message


def deliver_reply(message: Message) -> None:
    """Called inside the reply's transaction."""
