"""Live updates to agents' inboxes and customers' chat widgets (stub: the chat area fills this in)."""

from __future__ import annotations

from typing import Any

from .models import Inquiry


def publish(inquiry: Inquiry, kind: str, payload: Any = None) -> None:
    """After the current transaction commits, tell open inboxes and the inquiry's widget what happened."""
