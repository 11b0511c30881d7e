"""Only administrators reach the Django admin; superusers created from the CLI are administrators."""

import pytest
from django.core.management import call_command

from banso.core.choices import Role
from banso.core.models import ApiToken, User

pytestmark = pytest.mark.django_db


def test_only_the_admin_role_reaches_the_admin_site(client_as):
    assert client_as(Role.ADMIN).get("/admin/core/user/").status_code == 200
    for role in (Role.OPS_MANAGER, Role.CSM, Role.VIEWER, Role.MERCHANT_USER):
        assert client_as(role).get("/admin/core/user/").status_code == 302


def test_a_superuser_from_the_cli_is_an_administrator():
    user = User.objects.create_superuser("root", "root@example.jp", "pw-long-enough-123")
    assert user.role == Role.ADMIN
    assert user.is_staff and user.is_superuser


def test_changing_the_role_away_from_admin_removes_admin_rights(user_with_role):
    user = user_with_role(Role.ADMIN)
    user.role = Role.CSM
    user.save()
    user.refresh_from_db()
    assert not user.is_staff and not user.is_superuser


def test_issued_api_token_authenticates_only_by_its_hash(user_with_role, capsys):
    user = user_with_role(Role.OPS_MANAGER)
    call_command("issue_token", user.username, "connector")
    raw = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(user=user)
    assert raw not in token.key_hash
    assert ApiToken.resolve(raw) == user
    token.revoked = True
    token.save()
    assert ApiToken.resolve(raw) is None


def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
