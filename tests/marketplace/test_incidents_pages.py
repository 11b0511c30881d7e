"""The incidents and provider pages: filters, awaiting confirmation first, recording (prefilled from a booking
or an inquiry), confirming only for managers, the quality page's counts and the status change."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from banso.core.choices import Role
from banso.core.models import AuditEntry
from banso.marketplace import gateway
from banso.marketplace.gateway import InquiryRef
from banso.marketplace.models import Incident, IncidentStatus, IncidentType, ProviderStatus, Severity

from .factories import BookingFactory, IncidentFactory, ProviderFactory
from .factories_incidents import reported

pytestmark = pytest.mark.django_db


def rows(response, attr: str) -> list[str]:
    import re

    return re.findall(rf'data-{attr}="([^"]*)"', response.content.decode())


def test_list_shows_awaiting_confirmation_first_and_filters(client_as):
    provider = ProviderFactory()
    now = timezone.now()
    old_confirmed = IncidentFactory(provider=provider.account, occurred_at=now - dt.timedelta(days=1))
    waiting = reported(provider=provider.account, occurred_at=now - dt.timedelta(days=20))
    late = IncidentFactory(type=IncidentType.LATE, severity=Severity.LOW, occurred_at=now - dt.timedelta(days=2))
    client = client_as(Role.VIEWER)
    response = client.get(reverse("marketplace:incidents"))
    assert response.status_code == 200
    assert rows(response, "incident") == [waiting.number, old_confirmed.number, late.number]
    assert rows(client.get(reverse("marketplace:incidents"), {"type": "late"}), "incident") == [late.number]
    assert rows(
        client.get(reverse("marketplace:incidents"), {"status": "confirmed", "provider": provider.pk}), "incident"
    ) == [old_confirmed.number]
    assert rows(client.get(reverse("marketplace:incidents"), {"severity": "1"}), "incident") == [late.number]
    day = (now - dt.timedelta(days=20)).astimezone(dt.timezone(dt.timedelta(hours=9))).date().isoformat()
    assert rows(client.get(reverse("marketplace:incidents"), {"start": day, "end": day}), "incident") == [
        waiting.number
    ]


def test_agent_records_an_incident_from_a_booking(client_as):
    provider = ProviderFactory()
    booking = BookingFactory(provider=provider.account)
    client = client_as(Role.SUPPORT_AGENT)
    page = client.get(reverse("marketplace:incident_new"), {"booking": booking.pk})
    assert page.status_code == 200
    assert f'value="{provider.pk}"' in page.content.decode() and 'name="confirmed"' not in page.content.decode()
    response = client.post(
        reverse("marketplace:incident_new"),
        {
            "provider": provider.pk,
            "type": "no_show",
            "severity": "3",
            "occurred_at": "2026-11-01T10:00",
            "summary": "来なかった",
            "booking": booking.pk,
            "confirmed": "on",  # ignored: agents cannot confirm
        },
    )
    incident = Incident.objects.get()
    assert response.status_code == 302 and response.url == reverse("marketplace:incident", args=[incident.number])
    assert incident.status == IncidentStatus.REPORTED and incident.booking == booking
    assert incident.occurred_at == dt.datetime(2026, 11, 1, 1, 0, tzinfo=dt.UTC)


def test_new_incident_form_names_the_bad_field_and_writes_nothing(client_as):
    provider = ProviderFactory()
    other_booking = BookingFactory()
    response = client_as(Role.SUPPORT_AGENT).post(
        reverse("marketplace:incident_new"),
        {
            "provider": provider.pk,
            "type": "no_show",
            "severity": "2",
            "occurred_at": "2026-11-01T10:00",
            "summary": "x",
            "booking": other_booking.pk,
        },
    )
    assert response.status_code == 200
    assert 'data-error-for="booking"' in response.content.decode()
    assert not Incident.objects.exists()


class FakeInquiries:
    def __init__(self, booking_id: int) -> None:
        self.booking_id = booking_id

    def get(self, number):
        return InquiryRef(
            number=number,
            subject="業者が来ない",
            url=f"/support/inquiries/{number}/",
            status="open",
            opened_at=timezone.now(),
            booking_id=self.booking_id,
        )

    def for_booking(self, booking_id):
        return []

    def for_bookings(self, booking_ids):
        return {}

    def post_reply(self, number, agent, body):
        return None


@pytest.fixture
def inquiry_gateway():
    before = gateway.inquiries()
    yield lambda booking_id: gateway.register(FakeInquiries(booking_id))
    gateway.register(before)


def test_new_incident_from_an_inquiry_shows_its_subject_and_defaults_its_booking(client_as, inquiry_gateway):
    provider = ProviderFactory()
    booking = BookingFactory(provider=provider.account)
    inquiry_gateway(booking.pk)
    page = client_as(Role.SUPPORT_AGENT).get(reverse("marketplace:incident_new"), {"inquiry": 77})
    html = page.content.decode()
    assert "業者が来ない" in html and 'href="/support/inquiries/77/"' in html
    assert f'name="booking" value="{booking.pk}"' in html and f'value="{provider.pk}"' in html


def test_viewer_cannot_confirm_and_manager_can(client_as):
    incident = reported()
    url = reverse("marketplace:incident_confirm", args=[incident.number])
    assert client_as(Role.VIEWER).post(url).status_code == 403
    assert client_as(Role.SUPPORT_AGENT).post(url).status_code == 403
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.REPORTED
    response = client_as(Role.OPS_MANAGER).post(url)
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.CONFIRMED
    page = client_as(Role.VIEWER).get(reverse("marketplace:incident", args=[incident.number]))
    assert page.status_code == 200 and 'data-status="confirmed"' in page.content.decode()
    assert 'id="confirm"' not in page.content.decode()


def test_manager_dismisses_with_a_reason(client_as):
    incident = reported()
    client = client_as(Role.OPS_MANAGER)
    client.post(reverse("marketplace:incident_dismiss", args=[incident.number]), {"reason": ""})
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.REPORTED
    client.post(reverse("marketplace:incident_dismiss", args=[incident.number]), {"reason": "証拠なし"})
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.DISMISSED and incident.dismissed_reason == "証拠なし"


def test_quality_page_shows_counts_per_window(client_as):
    provider = ProviderFactory(services=[("エアコンクリーニング", "渋谷区")])
    now = timezone.now()
    IncidentFactory(provider=provider.account, occurred_at=now - dt.timedelta(days=5), severity=Severity.HIGH)
    IncidentFactory(provider=provider.account, occurred_at=now - dt.timedelta(days=60))
    IncidentFactory(provider=provider.account, occurred_at=now - dt.timedelta(days=200), type=IncidentType.DAMAGE)
    reported(provider=provider.account, occurred_at=now - dt.timedelta(days=1))
    response = client_as(Role.VIEWER).get(reverse("marketplace:provider", args=[provider.pk]))
    assert response.status_code == 200
    assert rows(response, "window-count") == ["1", "2", "3"]
    assert rows(response, "window-points") == ["3", "5", "7"]
    assert rows(response, "type") == ["no_show", "damage"]
    assert "エアコンクリーニング / 渋谷区" in response.content.decode()
    assert 'id="status-form"' not in response.content.decode()


def test_provider_list_filters_and_sorts_by_points(client_as):
    calm = ProviderFactory(services=[("ハウスクリーニング", "渋谷区")])
    troubled = ProviderFactory(services=[("ハウスクリーニング", "渋谷区")])
    elsewhere = ProviderFactory(services=[("ハウスクリーニング", "新宿区")])
    IncidentFactory(provider=troubled.account, occurred_at=timezone.now() - dt.timedelta(days=3))
    client = client_as(Role.VIEWER)
    response = client.get(reverse("marketplace:providers"), {"area": "渋谷区", "sort": "points"})
    assert rows(response, "provider") == [str(troubled.pk), str(calm.pk)]
    assert str(elsewhere.pk) not in rows(client.get(reverse("marketplace:providers"), {"area": "渋谷区"}), "provider")


def test_manager_changes_status_and_viewer_cannot(client_as, settings):
    settings.MARKETPLACE_PLATFORM_WEBHOOK_URL = "https://platform.example.jp/hooks/banso"
    provider = ProviderFactory()
    url = reverse("marketplace:provider_status", args=[provider.pk])
    assert client_as(Role.VIEWER).post(url, {"status": "on_hold", "reason": "x"}).status_code == 403
    response = client_as(Role.OPS_MANAGER).post(url, {"status": "on_hold", "reason": "無断キャンセル多発"})
    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.status == ProviderStatus.ON_HOLD and provider.status_reason == "無断キャンセル多発"
    assert AuditEntry.objects.filter(object_type="marketplace.provider", object_id=str(provider.pk)).count() == 1
