"""Incidents in any status, for the incidents and providers tests (the shared IncidentFactory is a confirmed
no-show)."""

import datetime as dt

from banso.marketplace.models import IncidentStatus, Provider

from .factories import IncidentFactory, ProviderFactory


def reported(**kwargs: object) -> object:
    return IncidentFactory(status=IncidentStatus.REPORTED, confirmed_at=None, **kwargs)


def dismissed(**kwargs: object) -> object:
    return IncidentFactory(status=IncidentStatus.DISMISSED, confirmed_at=None, dismissed_reason="誤報", **kwargs)


def confirmed_at(provider: Provider, occurred_at: dt.datetime, **kwargs: object) -> object:
    return IncidentFactory(provider=provider.account, occurred_at=occurred_at, **kwargs)


def provider(**kwargs: object) -> Provider:
    return ProviderFactory(**kwargs)
