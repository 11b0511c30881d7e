"""Scenario helpers for the rules tests: a provider with confirmed incidents and upcoming bookings."""

import datetime as dt

from banso.marketplace.models import Provider

from .factories import BookingFactory, IncidentFactory, ProviderFactory, tokyo

NOW = tokyo(2026, 11, 20, 9)
CATEGORY, AREA = "エアコンクリーニング", "東京都渋谷区"


def provider_with_incidents(n: int = 2, *, severity: int = 2, days_ago: int = 10, **kwargs: object) -> Provider:
    provider = ProviderFactory(services=[(CATEGORY, AREA)], **kwargs)
    for i in range(n):
        IncidentFactory(
            provider=provider.account, severity=severity, occurred_at=NOW - dt.timedelta(days=days_ago, hours=i)
        )
    return provider


def upcoming(provider: Provider, n: int = 2, *, days: int = 5, **kwargs: object) -> list:
    return [
        BookingFactory(
            provider=provider.account,
            category=CATEGORY,
            area=AREA,
            scheduled_at=NOW + dt.timedelta(days=days + i),
            **kwargs,
        )
        for i in range(n)
    ]
