"""The marketplace module's front door: the overview of what needs a decision (rule actions awaiting approval,
incidents awaiting confirmation, providers warned or on hold, the last rule evaluation)."""

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from banso.core.permissions import Capability, has_capability, requires

from .models import EvaluationRun, Firing, FiringStatus, Incident, IncidentStatus, Provider, ProviderStatus

SHOWN = 10


@requires(Capability.VIEW_ACCOUNTS)
def index(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    waiting = Firing.objects.filter(status=FiringStatus.PROPOSED).select_related("rule", "provider")
    flagged = Provider.objects.filter(status__in=[ProviderStatus.WARNED, ProviderStatus.ON_HOLD]).select_related(
        "account"
    )
    flagged_count = flagged.count()
    context = {
        "waiting_count": waiting.count(),
        "waiting": list(waiting.order_by("-evaluated_at", "-id")[:SHOWN]),
        "reported_count": Incident.objects.filter(
            status=IncidentStatus.REPORTED, occurred_at__gte=now - dt.timedelta(days=7)
        ).count(),
        "incidents_url": reverse("marketplace:incidents"),
        "flagged": list(flagged.order_by("-status_changed_at", "account_id")[:SHOWN]),
        "flagged_more": max(flagged_count - SHOWN, 0),
        "last_run": EvaluationRun.objects.select_related("triggered_by").first(),
        "can_manage": has_capability(request.user, Capability.MANAGE_MARKETPLACE),
    }
    return render(request, "marketplace/index.html", context)
