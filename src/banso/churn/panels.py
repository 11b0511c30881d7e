"""The churn-records card on the Account 360: the account's churn records, its churned contracts that still
lack a reason, and the 「解約を記録」 action."""

from __future__ import annotations

from typing import Any

from banso.accounts.choices import ContractStatus
from banso.accounts.models import Account, Contract

from . import services


def account_card(account: Account) -> dict[str, Any]:
    unrecorded = list(
        Contract.objects.filter(account=account, status=ContractStatus.CHURNED, churn_records__isnull=True).order_by(
            "-churned_on"
        )
    )
    return {"account_id": account.pk, "records": services.account_records(account.pk), "unrecorded": unrecorded}
