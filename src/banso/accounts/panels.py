"""Cards that later apps add to the Account 360 (metrics, health, churn risk…) without accounts importing them.

Apps depend downward only, so the 360 page cannot call into analytics or health. Instead an app registers
a panel from its AppConfig.ready(): the template to include, the capability a user needs to see it, and
a function that loads its context for one account. Keep that function to one or two queries.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser

from banso.core.models import User
from banso.core.permissions import Capability, has_capability

from .models import Account


@dataclass(frozen=True)
class AccountPanel:
    template: str
    capability: Capability
    context: Callable[[Account], dict[str, Any]]


@dataclass(frozen=True)
class ShownPanel:
    template: str
    context: dict[str, Any]


_PANELS: dict[str, AccountPanel] = {}


def register_account_panel(panel: AccountPanel) -> None:
    """Add (or replace, by template) a card on the Account 360, shown in registration order."""
    _PANELS[panel.template] = panel


def panels_for(user: User | AnonymousUser, account: Account) -> list[ShownPanel]:
    return [
        ShownPanel(panel.template, panel.context(account))
        for panel in _PANELS.values()
        if has_capability(user, panel.capability)
    ]
