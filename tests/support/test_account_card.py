"""The Account 360 shows the account's inquiries: how many are open and the latest ones, each linked."""

import pytest
from django.urls import reverse

from banso.core.choices import Role
from tests.accounts.factories import AccountFactory

from .factories import InquiryFactory

pytestmark = pytest.mark.django_db


def test_account_360_lists_the_accounts_open_and_latest_inquiries(client_as):
    account = AccountFactory(name="株式会社みなと")
    InquiryFactory(account=account, subject="請求書の再発行について", status="open")
    InquiryFactory(account=account, subject="ログインできません", status="solved")
    InquiryFactory(subject="他社の問い合わせ")  # another account's: not shown

    page = client_as(Role.CSM).get(reverse("accounts:detail", args=[account.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert "請求書の再発行について" in html and "ログインできません" in html
    assert "他社の問い合わせ" not in html
    assert "1件の未解決の問い合わせ" in html
