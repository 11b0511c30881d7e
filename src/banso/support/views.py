"""The support module's front door: the inbox."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from banso.core.permissions import Capability, requires


@requires(Capability.VIEW_ACCOUNTS)
def index(request: HttpRequest) -> HttpResponse:
    return redirect("support:inbox")
