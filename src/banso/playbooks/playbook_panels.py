"""The playbooks card on the Account 360: the account's recent runs, and a form to start a manual playbook
that loads when opened (so the card costs the 360 one query)."""

from __future__ import annotations

from typing import Any

from banso.accounts.models import Account

from .models import Playbook, PlaybookRun, TriggerKind

CARD_RUNS = 10


def account_card(account: Account) -> dict[str, Any]:
    """One query: the runs with their playbooks."""
    return {
        "account": account,
        "runs": list(
            PlaybookRun.objects.filter(account=account).select_related("playbook").order_by("-started_at")[:CARD_RUNS]
        ),
    }


def manual_playbooks() -> list[Playbook]:
    return list(Playbook.objects.filter(is_active=True, trigger=TriggerKind.MANUAL).order_by("name").only("pk", "name"))
