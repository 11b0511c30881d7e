"""The billing module's front door: the monthly report."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from banso.core.permissions import Capability, requires


@requires(Capability.VIEW_BILLING)
def index(request: HttpRequest) -> HttpResponse:
    return redirect("billing:report")
