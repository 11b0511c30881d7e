"""The marketplace module's front door: the overview (rules' area fills it)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from banso.core.permissions import Capability, requires


@requires(Capability.VIEW_ACCOUNTS)
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "marketplace/index.html", {})
