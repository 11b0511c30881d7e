from typing import Any

from django.http import HttpRequest

from .navigation import navigation_for
from .permissions import capabilities_of


def navigation(request: HttpRequest) -> dict[str, Any]:
    caps = capabilities_of(request.user)
    return {"nav_items": navigation_for(caps, request.path) if caps else [], "capabilities": caps}
