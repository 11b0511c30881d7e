"""The SLA clock (stub: the SLA area fills this in). desk.py calls these hooks inside its transactions."""

from __future__ import annotations

import datetime as dt

from .models import Inquiry, Status


def start(inquiry: Inquiry, at: dt.datetime) -> None:
    """A new inquiry: open its first-response and resolution targets under the applicable policy."""


def customer_message(inquiry: Inquiry, at: dt.datetime) -> None:
    """The customer wrote again: open a next-response target if none is open."""


def agent_reply(inquiry: Inquiry, at: dt.datetime) -> None:
    """A public agent reply: meet the open first-response / next-response target."""


def status_changed(inquiry: Inquiry, old: Status, new: Status, at: dt.datetime) -> None:
    """Pause or resume the clock (Status.pauses_sla); solving meets the resolution target; reopening resumes."""


def priority_changed(inquiry: Inquiry, at: dt.datetime) -> None:
    """The priority (or channel) changed: recompute the open targets under the new policy."""
