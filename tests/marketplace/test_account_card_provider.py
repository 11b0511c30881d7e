"""The marketplace card on the Account 360: for providers only, two queries at most."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from banso.accounts.models import Account
from banso.core.choices import Role
from banso.marketplace.models import BookingStatus, IncidentStatus, ProviderStatus
from banso.marketplace.panels import account_card

from ..accounts.factories import AccountFactory
from .factories import BookingFactory, IncidentFactory, ProviderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider():
    p = ProviderFactory(status=ProviderStatus.WARNED)
    now = timezone.now()
    for days in (1, 2, 3, 4, 5, 6, 7):
        BookingFactory(provider=p.account, scheduled_at=now + dt.timedelta(days=days))
    BookingFactory(provider=p.account, scheduled_at=now - dt.timedelta(days=1))  # past
    BookingFactory(provider=p.account, scheduled_at=now + dt.timedelta(days=2), status=BookingStatus.CANCELLED)
    IncidentFactory(provider=p.account, occurred_at=now - dt.timedelta(days=10), severity=3)
    IncidentFactory(provider=p.account, occurred_at=now - dt.timedelta(days=89), severity=2)
    IncidentFactory(provider=p.account, occurred_at=now - dt.timedelta(days=91), severity=5)  # outside 90 days
    IncidentFactory(
        provider=p.account, occurred_at=now - dt.timedelta(days=5), status=IncidentStatus.REPORTED, confirmed_at=None
    )
    return p


def test_the_card_counts_upcoming_bookings_and_confirmed_incidents_in_two_queries(provider):
    account = Account.objects.get(pk=provider.pk)
    with CaptureQueriesContext(connection) as queries:
        card = account_card(account)
    assert len(queries) <= 2
    assert card["provider"].status == ProviderStatus.WARNED
    assert card["upcoming_count"] == 7
    assert len(card["next_bookings"]) == 5
    assert card["next_bookings"] == sorted(card["next_bookings"], key=lambda b: b.scheduled_at)
    assert (card["incident_count"], card["incident_points"]) == (2, 5)


def test_the_provider_360_shows_the_card_with_links(client_as, provider):
    response = client_as(Role.CSM).get(reverse("accounts:detail", args=[provider.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="marketplace-card"' in html
    assert f"{reverse('marketplace:bookings')}?provider={provider.pk}" in html
    assert (
        reverse("marketplace:booking", args=[provider.account.bookings.order_by("scheduled_at").last().pk]) not in html
    )


def test_a_customer_account_has_no_card_and_costs_no_query(client_as):
    account = AccountFactory()
    with CaptureQueriesContext(connection) as queries:
        assert account_card(account) == {}
    assert len(queries) == 0
    html = client_as(Role.CSM).get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert 'id="marketplace-card"' not in html
