"""The modules of DESIGN.md's domain map, in the order the navigation shows them.

A module whose app is not installed yet is listed as "coming" so users see the whole map.
"""

from dataclasses import dataclass

from django.apps import apps
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .permissions import Capability


@dataclass(frozen=True)
class Module:
    app_label: str
    title: str | Promise
    url_name: str
    capability: Capability


MODULES = [
    Module("accounts", _("Accounts"), "accounts:list", Capability.VIEW_ACCOUNTS),
    Module("activity", _("Imports"), "activity:imports", Capability.IMPORT_DATA),
    Module("health", _("Health"), "health:index", Capability.VIEW_ACCOUNTS),
    Module("churn", _("Churn"), "churn:index", Capability.VIEW_ACCOUNTS),
    Module("success", _("Success operations"), "success:index", Capability.VIEW_ACCOUNTS),
    Module("playbooks", _("Playbooks & tasks"), "playbooks:index", Capability.VIEW_ACCOUNTS),
    Module("support", _("Support desk"), "support:index", Capability.VIEW_ACCOUNTS),
    Module("marketplace", _("Marketplace"), "marketplace:index", Capability.VIEW_ACCOUNTS),
    Module("billing", _("Merchant billing"), "billing:index", Capability.VIEW_BILLING),
    Module("campaigns", _("Campaigns"), "campaigns:index", Capability.VIEW_ACCOUNTS),
    Module("funnels", _("Client funnels"), "funnels:index", Capability.VIEW_ACCOUNTS),
    Module("analytics", _("Analytics"), "analytics:index", Capability.VIEW_ANALYTICS),
]


@dataclass(frozen=True)
class NavItem:
    title: str | Promise
    url: str | None
    active: bool


def navigation_for(capabilities: frozenset[Capability], path: str) -> list[NavItem]:
    items = []
    for module in MODULES:
        if module.capability not in capabilities:
            continue
        url = None
        if apps.is_installed(f"banso.{module.app_label}"):
            try:
                url = reverse(module.url_name)
            except NoReverseMatch:
                url = None
        items.append(NavItem(module.title, url, bool(url) and path.startswith(url or "")))
    return items
