"""Account pages: the list and the Account 360."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from banso.core.permissions import Capability, requires

from .models import Account


@requires(Capability.VIEW_ACCOUNTS)
def account_list(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/list.html", {"accounts": Account.objects.all()[:50]})
