"""Over the demo workspace itself (`banso demo`, small scale): a CSM signs in, filters, opens an account and
switches language, as a newcomer trying the demo would."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from banso.accounts.models import Account
from banso.core.demo import DEMO_PASSWORD

from .test_browser import sign_in, table_names

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_demo_csm_signs_in_filters_opens_an_account_and_switches_language(page: Page, live_server):
    call_command("demo", accounts=60, today="2026-11-20", verbosity=0)
    total = Account.objects.count()
    # The usage events (ログイン) are the customers'; the recruiting clients of the funnels demo have others.
    high_touch = Account.objects.filter(tier="high", kind="customer").count()
    assert 0 < high_touch < total

    page.goto("/")
    sign_in(page, "csm01", DEMO_PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/$"))
    expect(page.locator("#account-table")).to_contain_text(f"{total} 件の顧客")

    page.select_option("#id_kind", "customer")
    page.select_option("#id_tier", "high")
    expect(page.locator("#account-table")).to_contain_text(f"{high_touch} 件の顧客")
    expect(page.locator("#account-table tbody .badge.tier-high")).to_have_count(min(high_touch, 50))

    first = table_names(page)[0]
    page.click(f"#account-table a.account-name >> text={first}")
    expect(page.locator("h1")).to_have_text(first)
    expect(page.locator("#timeline")).to_contain_text("ログイン")  # the event kind, by its Japanese name
    expect(page.locator("section.contracts")).to_contain_text("¥")

    page.click("button[data-lang=en]")
    expect(page.locator("#timeline-h")).to_have_text("Timeline")
