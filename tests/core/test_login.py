"""Signing in: Japanese by default, argon2 hashes, lockout after repeated failures."""

import pytest
from django.test import Client

from banso.core.choices import Role

from .factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_login_page_is_japanese_by_default(client):
    response = client.get("/login/")
    assert response.status_code == 200
    assert "ログイン" in response.content.decode()


def test_signing_in_with_the_right_password_reaches_the_account_list():
    UserFactory(username="tanaka", role=Role.CSM)
    response = Client().post("/login/", {"username": "tanaka", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/"


def test_passwords_are_hashed_with_argon2():
    user = UserFactory(username="sato")
    assert user.password.startswith("argon2$")


def test_repeated_failed_logins_lock_the_account_even_with_the_right_password(settings):
    settings.AXES_FAILURE_LIMIT = 3
    UserFactory(username="suzuki")
    client = Client()
    for _ in range(3):
        client.post("/login/", {"username": "suzuki", "password": "wrong"})
    response = client.post("/login/", {"username": "suzuki", "password": PASSWORD})
    assert response.status_code == 429
    assert "ログイン試行" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_english_is_one_switch_away(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert "Sign in" in client.get("/login/").content.decode()


def test_merchant_user_lands_on_the_portal_not_the_account_list(client_as):
    response = client_as(Role.MERCHANT_USER).get("/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/billing/portal/"
    assert response.templates[0].name == "billing/portal_home.html"


def test_an_english_browser_still_gets_japanese_until_the_user_switches(client):
    page = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "ログイン" in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"}, HTTP_ACCEPT_LANGUAGE="en-US")
    assert "Sign in" in client.get("/login/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
