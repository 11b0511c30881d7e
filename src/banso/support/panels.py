"""The support card on the Account 360: the account's open inquiries and its latest ones."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Subquery

from banso.accounts.models import Account

from .models import DONE_CATEGORIES, Inquiry


def account_card(account: Account) -> dict[str, Any]:
    """One query: the latest five inquiries, each carrying the account's open count (the 360 counts queries)."""
    inquiries = Inquiry.objects.filter(account=account, merged_into__isnull=True)
    open_count = (
        inquiries.exclude(status__category__in=DONE_CATEGORIES)
        .order_by()
        .values("account")
        .annotate(n=Count("id"))
        .values("n")
    )
    latest = list(
        inquiries.select_related("status", "assignee")
        .annotate(open_total=Subquery(open_count))
        .order_by("-created_at")[:5]
    )
    return {"account": account, "open": (latest[0].open_total or 0) if latest else 0, "latest": latest}


def register() -> None:
    from banso.accounts.panels import AccountPanel, register_account_panel
    from banso.core.permissions import Capability

    register_account_panel(AccountPanel("support/_account_card.html", Capability.VIEW_ACCOUNTS, account_card))
