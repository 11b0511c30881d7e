"""The campaigns module's front door: switches in the next 7 days, offers by status, special-rate periods to
check (overlaps, gaps), and links into each area."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from banso.core.business_hours import TOKYO
from banso.core.permissions import Capability, has_capability, requires

from . import offers, rates


@requires(Capability.VIEW_ACCOUNTS)
def index(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    return render(
        request,
        "campaigns/index.html",
        {
            "upcoming": rates.upcoming(now, 7),
            "due": rates.due(now),
            "by_status": offers.counts_by_status(),
            "conflict_count": len(rates.conflicts(since=now)),
            "gap_count": len(rates.gaps(since=now)),
            "this_month": now.astimezone(TOKYO).date().replace(day=1),
            "can_apply": has_capability(request.user, Capability.SEND_CAMPAIGNS),
            "can_edit": has_capability(request.user, Capability.WORK_CAMPAIGNS),
        },
    )
