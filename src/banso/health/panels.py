"""The health card on the Account 360: the latest score, its band, the change and a link to the details."""

from __future__ import annotations

from typing import Any

from banso.accounts.models import Account

from .models import HealthSnapshot


def account_card(account: Account) -> dict[str, Any]:
    latest = (
        HealthSnapshot.objects.filter(account_id=account.pk)
        .select_related("scorecard")
        .only("day", "score", "band", "change", "scorecard__name")
        .order_by("-day")
        .first()
    )
    return {"account": account, "health": latest}
