"""Account actions: creating and changing accounts, contacts and contracts, and their roll-ups."""

from collections.abc import Iterable

from django.db.models import Min, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from .choices import ContractStatus
from .models import Account, Contract

LIVE_CONTRACT_STATUSES = (ContractStatus.ACTIVE, ContractStatus.PENDING)


def refresh_rollups(account_ids: Iterable[int] | None = None) -> int:
    """Recompute `Account.mrr` (sum of live contracts) and `next_renewal_date` (earliest upcoming renewal
    of a live contract) in one UPDATE; `None` refreshes every account. Returns the number updated."""
    today = timezone.localdate()
    live = Contract.objects.filter(account=OuterRef("pk"), status__in=LIVE_CONTRACT_STATUSES)
    mrr = live.order_by().values("account").annotate(total=Sum("mrr")).values("total")
    renewal = (
        live.filter(renewal_date__gte=today).order_by().values("account").annotate(first=Min("renewal_date"))
    ).values("first")
    accounts = Account.objects.all() if account_ids is None else Account.objects.filter(pk__in=list(account_ids))
    return accounts.update(mrr=Coalesce(Subquery(mrr), Value(0)), next_renewal_date=Subquery(renewal))
