import pytest
from django.test import Client

from banso.core.choices import Role
from banso.core.models import ApiToken

from ..core.factories import UserFactory


@pytest.fixture
def api_as(db):
    """`api_as(Role.CSM)` → a client sending a fresh API token for a new user with that role."""

    def make(role: Role):
        user = UserFactory(role=role)
        _, raw = ApiToken.issue(user, "test")
        client = Client(headers={"Authorization": f"Bearer {raw}"})
        client.user = user
        return client

    return make
