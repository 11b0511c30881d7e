"""The support desk as the marketplace's inquiry gateway: inquiries by number and by booking, replies through
the desk; and the inquiry page's links to the booking, the incident form and the concierge."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from banso.core.choices import Role
from banso.marketplace import gateway
from banso.support.marketplace_link import DeskInquiries
from banso.support.models import AuthorKind, Message

from ..core.factories import UserFactory
from ..marketplace.factories import BookingFactory
from .factories import AgentFactory, InquiryFactory, MessageFactory

pytestmark = pytest.mark.django_db


def test_the_desk_is_registered_as_the_gateway():
    assert isinstance(gateway.inquiries(), DeskInquiries)


def test_get_gives_the_customers_messages_oldest_first_without_internal_notes():
    inquiry = InquiryFactory(first_message="12月5日にお願いします", tags=["予約"])
    MessageFactory(inquiry=inquiry, body="社内メモ", internal=True, author_kind=AuthorKind.AGENT)
    MessageFactory(inquiry=inquiry, body="2名です")
    ref = DeskInquiries().get(inquiry.number)
    assert ref is not None
    assert ref.text == "12月5日にお願いします\n2名です"
    assert ref.tags == ["予約"]
    assert ref.url == reverse("support:inquiry", args=[inquiry.number])
    assert ref.opened_at == inquiry.created_at
    assert DeskInquiries().get(999999) is None


def test_for_bookings_answers_every_booking_in_one_query():
    one, two, none = BookingFactory(), BookingFactory(), BookingFactory()
    first = InquiryFactory(booking=one)
    second = InquiryFactory(booking=one)
    third = InquiryFactory(booking=two)
    with CaptureQueriesContext(connection) as queries:
        found = DeskInquiries().for_bookings([one.pk, two.pk, none.pk])
    assert len(queries) == 1
    assert set(found) == {one.pk, two.pk}
    assert {r.number for r in found[one.pk]} == {first.number, second.number}
    assert [r.number for r in found[two.pk]] == [third.number]
    assert DeskInquiries().for_booking(none.pk) == []


def test_post_reply_goes_through_the_desk_and_refuses_with_value_error():
    inquiry = InquiryFactory()
    agent = AgentFactory()
    DeskInquiries().post_reply(inquiry.number, agent, "ご案内します")
    reply = Message.objects.get(inquiry=inquiry, author_kind=AuthorKind.AGENT)
    assert (reply.author, reply.body, reply.internal) == (agent, "ご案内します", False)
    inquiry.refresh_from_db()
    assert inquiry.first_responded_at is not None
    with pytest.raises(ValueError):
        DeskInquiries().post_reply(inquiry.number, agent, "   ")
    with pytest.raises(ValueError):
        DeskInquiries().post_reply(inquiry.number, UserFactory(role=Role.VIEWER), "本文")
    with pytest.raises(ValueError):
        DeskInquiries().post_reply(999999, agent, "本文")
    assert Message.objects.filter(inquiry=inquiry, author_kind=AuthorKind.AGENT).count() == 1


def test_the_inquiry_page_links_the_booking_and_the_marketplace_tools(client_as):
    booking = BookingFactory()
    inquiry = InquiryFactory(booking=booking)
    html = client_as(Role.SUPPORT_AGENT).get(reverse("support:inquiry", args=[inquiry.number])).content.decode()
    assert reverse("marketplace:booking", args=[booking.pk]) in html
    assert f"{reverse('marketplace:concierge')}?inquiry={inquiry.number}" in html
    try:
        incident_new = reverse("marketplace:incident_new")
    except NoReverseMatch:  # the incident form is another area's page; the link appears once it exists
        incident_new = None
    if incident_new:
        assert (
            f"{incident_new}?inquiry={inquiry.number}&amp;booking={booking.pk}&amp;provider={booking.provider_id}"
            in html
        )


def test_the_marketplace_links_are_only_for_marketplace_workers(client_as):
    inquiry = InquiryFactory()
    html = client_as(Role.VIEWER).get(reverse("support:inquiry", args=[inquiry.number])).content.decode()
    assert 'id="marketplace-links"' not in html
    assert reverse("marketplace:concierge") not in html
