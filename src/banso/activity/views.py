"""Import pages: upload a file, follow its progress, read its per-row errors."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from banso.core.permissions import Capability, requires

from .models import ImportJob


@requires(Capability.IMPORT_DATA)
def import_list(request: HttpRequest) -> HttpResponse:
    return render(request, "activity/imports.html", {"jobs": ImportJob.objects.all()[:50]})
