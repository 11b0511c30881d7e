"""The success card on the Account 360: the latest touches, days since the last one against the tier's rule,
open next steps, the renewal's stage, and the form to log a touch."""

from __future__ import annotations

from typing import Any

from banso.accounts.models import Account

from . import renewals, touches
from .touch_forms import TouchForm


def account_card(account: Account, form: TouchForm | None = None) -> dict[str, Any]:
    """Four queries; the form itself is fetched when the user opens it (or given, refused, to show again)."""
    latest = touches.touches_for(account)
    return {
        "account": account,
        "touches": latest,
        "rule": touches.contact_rule(account, latest=latest[0] if latest else None),
        "next_steps": touches.open_next_steps(account),
        "renewal": renewals.open_renewal(account.pk),
        "form": form,
    }
