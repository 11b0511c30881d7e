"""The analytics card on the Account 360: the account's current metric values and its segments."""

from __future__ import annotations

from typing import Any

from banso.accounts.models import Account

from . import describe, queries


def account_card(account: Account) -> dict[str, Any]:
    found = queries.account_analytics(account.pk)
    return {
        "computed": found.as_of is not None,
        "as_of": found.as_of,
        "metrics": [
            {"key": m.key, "label": m.label, "text": describe.metric_value_text(m.value, m.spec)} for m in found.metrics
        ],
        "segments": found.segments,
    }
