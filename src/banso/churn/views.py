"""Churn pages; each reads and writes through `services`."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from banso.core.permissions import Capability, requires


@requires(Capability.VIEW_ACCOUNTS)
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "churn/index.html", {})
