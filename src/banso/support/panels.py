"""The support card on the Account 360: the account's open inquiries and its latest ones."""

from __future__ import annotations

from typing import Any

from banso.accounts.models import Account

from .models import DONE_CATEGORIES, Inquiry


def account_card(account: Account) -> dict[str, Any]:
    inquiries = Inquiry.objects.filter(account=account, merged_into__isnull=True)
    latest = list(inquiries.select_related("status", "assignee").order_by("-created_at")[:5])
    return {
        "account": account,
        "open": inquiries.exclude(status__category__in=DONE_CATEGORIES).count(),
        "latest": latest,
    }


def register() -> None:
    from banso.accounts.panels import AccountPanel, register_account_panel
    from banso.core.permissions import Capability

    register_account_panel(AccountPanel("support/_account_card.html", Capability.VIEW_ACCOUNTS, account_card))
