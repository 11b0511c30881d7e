"""The support desk as the marketplace's `InquiryGateway`: inquiries by number or by booking (booking pages,
incident forms, the concierge), and replies posted through the desk (desk.reply) like any agent reply.
Registered at start-up (registry.py); the marketplace never imports the support app."""

from __future__ import annotations

from django.db.models import Prefetch
from django.urls import reverse
from django.utils.translation import gettext as _

from banso.core.models import User
from banso.marketplace import gateway
from banso.marketplace.gateway import InquiryRef

from . import desk
from .models import AuthorKind, Inquiry, Message

LINKED_LIMIT = 50


def _ref(inquiry: Inquiry, *, text: str = "", tags: list[str] | None = None) -> InquiryRef:
    return InquiryRef(
        number=inquiry.number,
        subject=inquiry.subject,
        url=reverse("support:inquiry", args=[inquiry.number]),
        status=inquiry.status.name,
        opened_at=inquiry.created_at,
        requester_name=inquiry.requester_name,
        requester_email=inquiry.requester_email,
        end_user_id=inquiry.end_user_id,
        account_id=inquiry.account_id,
        booking_id=inquiry.booking_id,
        text=text,
        tags=tags or [],
    )


class DeskInquiries:
    """`gateway.InquiryGateway` over the support models."""

    def get(self, number: int) -> InquiryRef | None:
        """The inquiry with its customer messages (oldest first, internal notes never) and tags: three queries."""
        inquiry = (
            Inquiry.objects.select_related("status")
            .prefetch_related(
                Prefetch(
                    "messages",
                    queryset=Message.objects.filter(author_kind=AuthorKind.CUSTOMER, internal=False).order_by(
                        "created_at", "id"
                    ),
                    to_attr="customer_messages",
                ),
                "tags",
            )
            .filter(number=number)
            .first()
        )
        if inquiry is None:
            return None
        text = "\n".join(m.body for m in inquiry.customer_messages)
        return _ref(inquiry, text=text, tags=sorted(t.name for t in inquiry.tags.all()))

    def for_booking(self, booking_id: int) -> list[InquiryRef]:
        return self.for_bookings([booking_id]).get(booking_id, [])

    def for_bookings(self, booking_ids: list[int]) -> dict[int, list[InquiryRef]]:
        """Inquiries linked to each booking, newest first (one query; without text and tags)."""
        found: dict[int, list[InquiryRef]] = {}
        if not booking_ids:
            return found
        rows = (
            Inquiry.objects.select_related("status")
            .filter(booking_id__in=booking_ids, merged_into__isnull=True)
            .order_by("-created_at", "-id")
        )
        for inquiry in rows:
            assert inquiry.booking_id is not None
            refs = found.setdefault(inquiry.booking_id, [])
            if len(refs) < LINKED_LIMIT:
                refs.append(_ref(inquiry))
        return found

    def post_reply(self, number: int, agent: User, body: str) -> None:
        if not desk.can_work(agent):
            raise ValueError(_("%(agent)s may not reply to inquiries.") % {"agent": agent})
        inquiry = Inquiry.objects.filter(number=number).first()
        if inquiry is None:
            raise ValueError(_("There is no inquiry #%(number)s.") % {"number": number})
        if inquiry.merged_into_id is not None:
            raise ValueError(_("Inquiry #%(number)s was merged into another one.") % {"number": number})
        try:
            desk.reply(inquiry, agent, body)
        except desk.DeskError as error:
            raise ValueError(error.message) from None


def register() -> None:
    gateway.register(DeskInquiries())
