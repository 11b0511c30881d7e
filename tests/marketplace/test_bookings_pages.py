"""The bookings list with its filters, one booking with what happened to it, and recording a refund."""

import datetime as dt

import pytest
from django.urls import reverse

from banso.core.choices import Role
from banso.core.models import AuditEntry
from banso.marketplace.models import Booking, BookingStatus, Firing

from ..support.factories import InquiryFactory
from .factories import BookingFactory, IncidentFactory, MemberFactory, ProviderFactory, RuleFactory, tokyo

pytestmark = pytest.mark.django_db


def _listed(response):
    return [b.pk for b in response.context["page"].object_list]


@pytest.fixture
def bookings():
    a, b = ProviderFactory(), ProviderFactory()
    member = MemberFactory()
    return {
        "a_early": BookingFactory(provider=a.account, scheduled_at=tokyo(2026, 12, 1, 10), end_user=member),
        "a_late_night": BookingFactory(
            provider=a.account, scheduled_at=tokyo(2026, 12, 5, 23, 30), area="東京都新宿区"
        ),
        "b_cancelled": BookingFactory(
            provider=b.account,
            scheduled_at=tokyo(2026, 12, 6, 0, 30),
            status=BookingStatus.CANCELLED,
            cancelled_at=tokyo(2026, 11, 30),
            refund_due=True,
            category="ハウスクリーニング",
        ),
    }


def test_the_list_filters_by_provider_status_category_area_member_and_refund(client_as, bookings):
    client = client_as(Role.VIEWER)
    url = reverse("marketplace:bookings")
    everything = client.get(url)
    assert everything.status_code == 200
    assert _listed(everything) == [bookings[k].pk for k in ("b_cancelled", "a_late_night", "a_early")]
    a = bookings["a_early"].provider_id
    assert set(_listed(client.get(url, {"provider": a}))) == {bookings["a_early"].pk, bookings["a_late_night"].pk}
    assert _listed(client.get(url, {"status": "cancelled"})) == [bookings["b_cancelled"].pk]
    assert _listed(client.get(url, {"category": "ハウスクリーニング"})) == [bookings["b_cancelled"].pk]
    assert _listed(client.get(url, {"area": "東京都新宿区"})) == [bookings["a_late_night"].pk]
    assert _listed(client.get(url, {"member": bookings["a_early"].end_user_id})) == [bookings["a_early"].pk]
    assert _listed(client.get(url, {"refund_due": "1"})) == [bookings["b_cancelled"].pk]
    assert bookings["b_cancelled"].pk not in _listed(client.get(url, {"refund_due": "0"}))


def test_the_date_range_is_inclusive_tokyo_days(client_as, bookings):
    client = client_as(Role.VIEWER)
    url = reverse("marketplace:bookings")
    # 23:30 on the 5th belongs to the 5th; 00:30 on the 6th to the 6th, whatever UTC says.
    assert _listed(client.get(url, {"from": "2026-12-05", "to": "2026-12-05"})) == [bookings["a_late_night"].pk]
    assert _listed(client.get(url, {"from": "2026-12-06"})) == [bookings["b_cancelled"].pk]
    assert _listed(client.get(url, {"to": "2026-12-01"})) == [bookings["a_early"].pk]


def test_bad_filters_are_named(client_as, api_as, bookings):
    response = client_as(Role.VIEWER).get(reverse("marketplace:bookings"), {"from": "2026-12-06", "to": "2026-12-01"})
    assert response.status_code == 400
    assert response.context["error"].field == "to"
    api = api_as(Role.VIEWER)
    for params, field in (
        ({"provider": "abc"}, "provider"),
        ({"status": "gone"}, "status"),
        ({"from": "12/1"}, "from"),
    ):
        answer = api.get("/api/marketplace/bookings", params)
        assert answer.status_code == 422
        assert answer.json()["detail"][0]["field"] == field


def test_the_list_pages_and_links_to_the_import(client_as):
    provider = ProviderFactory()
    Booking.objects.bulk_create(
        BookingFactory.build(
            provider=provider.account, end_user=None, scheduled_at=tokyo(2026, 12, 1) + dt.timedelta(hours=i)
        )
        for i in range(60)
    )
    client = client_as(Role.OPS_MANAGER)
    first = client.get(reverse("marketplace:bookings"))
    second = client.get(reverse("marketplace:bookings"), {"page": 2})
    assert len(_listed(first)) == 50 and len(_listed(second)) == 10
    assert not set(_listed(first)) & set(_listed(second))
    assert reverse("activity:imports") in first.content.decode()


def test_the_detail_shows_the_cancellation_incidents_and_inquiries(client_as, bookings):
    booking = bookings["b_cancelled"]
    rule = RuleFactory()
    firing = Firing.objects.create(rule=rule, provider=booking.provider, score=2)
    booking.cancelled_by = firing
    booking.cancellation_reason = "出店者の無断キャンセルが続いたため"
    booking.save()
    incident = IncidentFactory(provider=booking.provider, booking=booking)
    inquiry = InquiryFactory(booking=booking, subject="予約がキャンセルされた")
    InquiryFactory(subject="関係ない問い合わせ")
    response = client_as(Role.VIEWER).get(reverse("marketplace:booking", args=[booking.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "出店者の無断キャンセルが続いたため" in html
    assert rule.name in html
    assert [i.pk for i in response.context["incidents"]] == [incident.pk]
    assert [q.number for q in response.context["inquiries"]] == [inquiry.number]
    assert reverse("support:inquiry", args=[inquiry.number]) in html
    assert reverse("accounts:detail", args=[booking.provider_id]) in html
    assert "12,000" in html
    assert 'id="refund-form"' not in html  # viewers may not record refunds


def test_a_manager_records_a_refund_which_clears_refund_due_and_is_audited(client_as, bookings):
    booking = bookings["b_cancelled"]
    client = client_as(Role.OPS_MANAGER)
    assert 'id="refund-form"' in client.get(reverse("marketplace:booking", args=[booking.pk])).content.decode()
    response = client.post(reverse("marketplace:booking_refund", args=[booking.pk]), {"amount": "12000"})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.refunded_amount, booking.refund_due) == (12_000, False)
    assert booking.refunded_at is not None
    entry = AuditEntry.objects.get(object_type="marketplace.booking", object_id=str(booking.pk))
    assert entry.changes["refunded_amount"] == [0, 12_000]
    assert entry.changes["refund_due"] == [True, False]
    assert entry.account_id == booking.provider_id


def test_a_refund_beyond_the_amount_is_refused_and_nothing_changes(client_as, api_as, bookings):
    booking = bookings["b_cancelled"]
    client_as(Role.ADMIN).post(reverse("marketplace:booking_refund", args=[booking.pk]), {"amount": "12001"})
    booking.refresh_from_db()
    assert (booking.refunded_amount, booking.refund_due) == (0, True)
    api = api_as(Role.OPS_MANAGER)
    url = f"/api/marketplace/bookings/{booking.pk}/refund"
    assert api.post(url, {"amount": 5000}, content_type="application/json").status_code == 200
    refused = api.post(url, {"amount": 7001}, content_type="application/json")
    assert refused.status_code == 422 and refused.json()["detail"][0]["field"] == "amount"
    assert api.post(url, {"amount": 0}, content_type="application/json").status_code == 422
    booking.refresh_from_db()
    assert booking.refunded_amount == 5000
    assert AuditEntry.objects.filter(object_type="marketplace.booking").count() == 1


def test_only_managers_record_refunds(client_as, api_as, bookings):
    booking = bookings["b_cancelled"]
    for role in (Role.SUPPORT_AGENT, Role.CSM, Role.VIEWER):
        assert (
            client_as(role).post(reverse("marketplace:booking_refund", args=[booking.pk]), {"amount": 1}).status_code
            == 403
        )
    response = api_as(Role.SUPPORT_AGENT).post(
        f"/api/marketplace/bookings/{booking.pk}/refund", {"amount": 1}, content_type="application/json"
    )
    assert response.status_code == 403
    booking.refresh_from_db()
    assert booking.refunded_amount == 0


def test_bookings_pages_refuse_merchant_users_and_anonymous(client, client_as, bookings):
    booking = bookings["a_early"]
    assert client_as(Role.MERCHANT_USER).get(reverse("marketplace:bookings")).status_code == 403
    assert client_as(Role.MERCHANT_USER).get(reverse("marketplace:booking", args=[booking.pk])).status_code == 403
    assert client.get(reverse("marketplace:bookings")).status_code == 302


def test_the_api_lists_and_shows_bookings_in_integer_yen(api_as, bookings):
    api = api_as(Role.VIEWER)
    listing = api.get("/api/marketplace/bookings", {"provider": bookings["a_early"].provider_id, "limit": 1})
    assert listing.status_code == 200
    body = listing.json()
    assert body["count"] == 2 and [b["id"] for b in body["items"]] == [bookings["a_late_night"].pk]
    assert body["items"][0]["amount"] == 12_000
    inquiry = InquiryFactory(booking=bookings["a_early"])
    detail = api.get(f"/api/marketplace/bookings/{bookings['a_early'].pk}").json()
    assert [q["number"] for q in detail["inquiries"]] == [inquiry.number]
    assert api.get("/api/marketplace/bookings/999999").status_code == 404
