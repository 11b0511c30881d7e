"""The playbooks card on the Account 360: the account's recent runs and the manual playbooks one may start."""

from __future__ import annotations

from typing import Any

from banso.accounts.models import Account

from .models import Playbook, PlaybookRun, TriggerKind

CARD_RUNS = 10


def account_card(account: Account) -> dict[str, Any]:
    """Two queries: the runs with their playbooks, and the active manual playbooks."""
    return {
        "account": account,
        "runs": list(
            PlaybookRun.objects.filter(account=account).select_related("playbook").order_by("-started_at")[:CARD_RUNS]
        ),
        "manual": list(
            Playbook.objects.filter(is_active=True, trigger=TriggerKind.MANUAL).order_by("name").only("pk", "name")
        ),
    }
