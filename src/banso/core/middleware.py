"""Deny by default: every page needs a signed-in user unless its view is explicitly public."""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

PUBLIC_PREFIXES = ("/login/", "/i18n/", "/static/", "/api/", "/healthz")


class LoginRequiredMiddleware:
    """A safety net under `@requires`: anonymous requests never reach a view that forgot its check.

    The API is excluded because it answers 401 in JSON through its own authentication classes.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        if request.user.is_authenticated or request.path.startswith(PUBLIC_PREFIXES):
            return None
        return redirect_to_login(request.get_full_path())
