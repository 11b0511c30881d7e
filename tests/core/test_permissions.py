"""Every page and every API operation refuses anonymous users and users whose role lacks the capability."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from banso.api.api import api
from banso.api.auth import BrowserSessionAuth, TokenAuth
from banso.core.choices import Role
from banso.core.models import ApiToken
from banso.core.permissions import ROLE_CAPABILITIES, Capability

# Pages that are public by design, or guarded by their own framework (admin, API).
EXEMPT_PREFIXES = (
    "admin/",
    "api/",
    "i18n/",
    "login/",
    "logout/",
    "healthz",
    "static/",
    "survey/",
    "playbooks/outbox/unsubscribe/",
    "n/",  # newsletter open pixels and click redirects (signed per-delivery tokens)
    "support/help/",  # public help centre
    "support/widget/",  # chat widget endpoints (session tokens) and the web form
    "support/inbound/",  # inbound-mail webhook (HMAC signed)
    "campaigns/c/",  # push/email notification click tracking (random per-delivery tokens)
)


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def _concrete(route: str) -> str:
    route = re.sub(r"<int:[^>]+>", "1", route)
    route = re.sub(r"<(?:str|slug):[^>]+>", "x", route)
    route = re.sub(r"<[^>]+>", "1", route)
    route = re.sub(r"\{int:[^}]+\}", "1", route)  # django-ninja's path parameters
    route = re.sub(r"\{[^}]+\}", "x", route)
    return "/" + route.lstrip("^").rstrip("$")


def _guarded_pages():
    return [
        (route, pattern)
        for route, pattern in _walk(get_resolver().url_patterns)
        if route and not route.startswith(EXEMPT_PREFIXES)
    ] + [("", next(p for r, p in _walk(get_resolver().url_patterns) if r == ""))]


PAGES = _guarded_pages()


def test_every_page_declares_the_capability_it_needs():
    undeclared = [route for route, pattern in PAGES if not hasattr(pattern.callback, "banso_capability")]
    assert undeclared == []


@pytest.mark.parametrize(("route", "pattern"), PAGES, ids=[r or "home" for r, _ in PAGES])
def test_page_refuses_anonymous_and_roles_without_the_capability(route, pattern, client, client_as):
    url = _concrete(route)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")

    capability = pattern.callback.banso_capability
    for role in Role:
        if capability not in ROLE_CAPABILITIES[role]:
            assert client_as(role).get(url).status_code == 403, (url, role)


def _api_operations():
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                yield (prefix + path).replace("//", "/"), operation


OPERATIONS = list(_api_operations())


def test_every_api_operation_requires_a_role():
    assert OPERATIONS
    for path, operation in OPERATIONS:
        kinds = {type(a) for a in operation.auth_callbacks}
        assert kinds == {TokenAuth, BrowserSessionAuth}, path


@pytest.mark.parametrize(("path", "operation"), OPERATIONS, ids=[f"{o.methods[0]} {p}" for p, o in OPERATIONS])
def test_api_operation_refuses_anonymous_and_roles_without_the_capability(path, operation, client, user_with_role):
    url = "/api" + _concrete(path.lstrip("/"))
    method = operation.methods[0].lower()
    assert getattr(client, method)(url).status_code == 401

    capability: Capability = operation.auth_callbacks[0].capability
    for role in Role:
        if capability in ROLE_CAPABILITIES[role]:
            continue
        _, raw = ApiToken.issue(user_with_role(role), "test")
        response = getattr(client, method)(url, HTTP_AUTHORIZATION=f"Bearer {raw}", content_type="application/json")
        assert response.status_code == 403, (url, role)
