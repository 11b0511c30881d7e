"""Shared fixtures: a signed-in client per role. App-specific factories live in tests/<app>/factories.py."""

import pytest
from django.test import Client

from banso.core.choices import Role
from banso.core.models import ApiToken

from .core.factories import UserFactory


@pytest.fixture(scope="session", autouse=True)
def _flush_empties_closed_months():
    """Transactional tests (browser tests, the demo) end with a flush that deletes every row; a closed month's
    documents are guarded by triggers (banso.billing.immutability) that refuse exactly that, so the flush
    lifts them (the post-migrate signal after a flush puts them back)."""
    from django.core.management.commands import flush

    from banso.billing import immutability

    original = flush.Command.handle

    def handle(self, *args, **options):
        with immutability.lifted():
            return original(self, *args, **options)

    flush.Command.handle = handle
    yield
    flush.Command.handle = original


@pytest.fixture(autouse=True)
def _cache_per_test(settings, request):
    """Each test gets an empty in-memory cache, never the developer's var/cache or another test's entries."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": request.node.nodeid}
    }


@pytest.fixture(autouse=True)
def _event_copy_in_tmp(settings, tmp_path):
    """The analytics copy of events goes to a per-test folder, never the developer's var/events."""
    settings.BANSO_EVENT_LAKE_DIR = tmp_path / "events"


@pytest.fixture
def user_with_role(db):
    def make(role: Role, **kwargs):
        return UserFactory(role=role, **kwargs)

    return make


@pytest.fixture
def client_as(db, user_with_role):
    """`client_as(Role.CSM)` → a Django test client signed in as a fresh user with that role."""

    def make(role: Role, **kwargs) -> Client:
        client = Client()
        client.force_login(user_with_role(role, **kwargs))
        return client

    return make


@pytest.fixture
def admin_client(client_as):  # overrides pytest-django's: our admin is a role, not a superuser
    return client_as(Role.ADMIN)


@pytest.fixture
def api_as(db):
    """`api_as(Role.CSM)` → a client sending a fresh API token for a new user with that role."""

    def make(role: Role) -> Client:
        user = UserFactory(role=role)
        _, raw = ApiToken.issue(user, "test")
        client = Client(headers={"Authorization": f"Bearer {raw}"})
        client.user = user
        return client

    return make
