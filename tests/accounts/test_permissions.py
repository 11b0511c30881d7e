"""Every account page refuses anonymous users and roles without the capability."""

import pytest
from django.test import Client
from django.urls import reverse

from banso.core.choices import Role

from .factories import AccountFactory

pytestmark = pytest.mark.django_db

PAGES = [
    ("accounts:list", False, Role.MERCHANT_USER),
    ("accounts:detail", True, Role.MERCHANT_USER),
    ("accounts:timeline", True, Role.MERCHANT_USER),
    ("accounts:edit", True, Role.VIEWER),
    ("accounts:audit", True, Role.SUPPORT_AGENT),
]


@pytest.mark.parametrize(("name", "with_pk", "refused_role"), PAGES)
def test_page_refuses_anonymous_and_roles_without_the_capability(client_as, name, with_pk, refused_role):
    account = AccountFactory()
    url = reverse(name, args=[account.pk] if with_pk else [])
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert client_as(refused_role).get(url).status_code == 403
    assert client_as(Role.CSM).get(url).status_code == 200


def test_every_account_view_declares_a_capability():
    from banso.accounts import urls

    for pattern in urls.urlpatterns:
        assert hasattr(pattern.callback, "banso_capability"), pattern.name
