"""The campaigns module's front door: this month's switches, offers by status, recent campaigns (the offers
area fills it)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from banso.core.permissions import Capability, requires


@requires(Capability.VIEW_ACCOUNTS)
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/index.html", {})
