"""How the marketplace reaches support inquiries without importing the support app (support depends on the
marketplace: Inquiry.booking). Support registers an `InquiryGateway` at start-up; when none is registered
(support not installed) the marketplace works without inquiry links."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from banso.core.models import User


@dataclass(frozen=True)
class InquiryRef:
    """What the marketplace needs of an inquiry: for the concierge, incident forms and booking pages."""

    number: int
    subject: str
    url: str  # the inquiry's page in the desk
    status: str  # display label
    opened_at: dt.datetime
    requester_name: str = ""
    requester_email: str = ""
    end_user_id: int | None = None
    account_id: int | None = None
    booking_id: int | None = None
    # The customer's messages, oldest first (the concierge reads the request from them).
    text: str = ""
    tags: list[str] = field(default_factory=list)


class InquiryGateway(Protocol):
    def get(self, number: int) -> InquiryRef | None: ...

    def for_booking(self, booking_id: int) -> list[InquiryRef]: ...

    def for_bookings(self, booking_ids: list[int]) -> dict[int, list[InquiryRef]]: ...

    def post_reply(self, number: int, agent: User, body: str) -> None:
        """Send `body` to the customer as the agent's reply on the inquiry's channel (raises ValueError naming
        what is wrong, e.g. the agent may not work inquiries)."""
        ...


_gateway: InquiryGateway | None = None


def register(gateway: InquiryGateway | None) -> None:
    global _gateway
    _gateway = gateway


def inquiries() -> InquiryGateway | None:
    return _gateway
