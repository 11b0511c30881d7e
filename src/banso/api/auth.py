"""API authentication: a bearer token or the browser session (with CSRF), then the role check."""

from typing import Any

from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth

from banso.core.models import ApiToken, User
from banso.core.permissions import Capability, has_capability


def _authorize(request: HttpRequest, user: Any, capability: Capability) -> User | None:
    if user is None or not user.is_authenticated:
        return None
    if not has_capability(user, capability):
        raise HttpError(403, f"permission denied: {capability.value}")
    request.user = user
    return user  # type: ignore[no-any-return,unused-ignore]


class TokenAuth(HttpBearer):
    def __init__(self, capability: Capability) -> None:
        super().__init__()
        self.capability = capability

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        return _authorize(request, ApiToken.resolve(token), self.capability)


class BrowserSessionAuth(SessionAuth):
    def __init__(self, capability: Capability) -> None:
        super().__init__(csrf=True)
        self.capability = capability

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        return _authorize(request, super().authenticate(request, key), self.capability)


def role(capability: Capability) -> list[Any]:
    """`auth=role(Capability.X)` on every operation: 401 without credentials, 403 without the role."""
    return [TokenAuth(capability), BrowserSessionAuth(capability)]
