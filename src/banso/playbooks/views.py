"""The playbooks module's front door: one's tasks, or the playbooks for those who do not work tasks."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from banso.core.permissions import Capability, has_capability, requires


@requires(Capability.VIEW_ACCOUNTS)
def index(request: HttpRequest) -> HttpResponse:
    if has_capability(request.user, Capability.WORK_TASKS):
        return redirect("playbooks:tasks")
    return redirect("playbooks:playbooks")
