"""The inbox (placeholder until the inbox area lands)."""

from django.http import HttpRequest, HttpResponse

from banso.core.permissions import Capability, requires


@requires(Capability.VIEW_ACCOUNTS)
def inbox(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")
