"""End to end in Chromium: a CSM opens an account's 360 page, logs a call whose outcome is 「担当者変更」,
enters the successor in the sub-form htmx brings in, and sees the touch in the card, the successor as the
primary contact and the leaver as having left."""

import pytest
from playwright.sync_api import Page, expect

from banso.accounts.models import Contact
from banso.core.choices import Role

from ..accounts.factories import AccountFactory, ContactFactory
from ..core.factories import UserFactory
from .test_browser import sign_in, snap

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_csm_logs_a_call_where_the_contact_person_changed_and_enters_the_successor(page: Page, live_server):
    csm = UserFactory(username="csm-touch", role=Role.CSM, display_name="高橋 美咲")
    account = AccountFactory(name="株式会社みなと", owner=csm, tier="high")
    leaver = ContactFactory(account=account, name="田中 一郎", is_primary=True)

    page.goto(f"/accounts/{account.pk}/")
    sign_in(page, "csm-touch")
    expect(page.locator("h1")).to_have_text("株式会社みなと")
    card = page.locator("#success-card")
    card.locator("summary").click()
    page.select_option("#id_channel", "call")
    expect(page.locator("#successor-fields")).to_have_count(0)
    page.select_option("#id_outcome", label="担当者変更")
    expect(page.locator("#successor-fields")).to_be_visible()  # brought in by htmx
    expect(page.locator("#id_contact")).to_have_value(str(leaver.pk))
    page.fill("#id_new_successor_name", "鈴木 花子")
    page.fill("#id_new_successor_email", "hanako.suzuki@example.jp")
    page.fill("#id_note", "4月から担当が鈴木様に交代")
    snap(page, "success-touch-successor")
    page.click("#log-touch")

    expect(page.locator("#touch-list")).to_contain_text("担当者変更")
    expect(page.locator("#touch-list")).to_contain_text("田中 一郎 → 鈴木 花子")
    contacts = page.locator("section.contacts")
    successor_row = contacts.locator("tr", has_text="鈴木 花子")
    expect(successor_row.locator(".badge.primary")).to_be_visible()
    expect(contacts.locator("tr.left", has_text="田中 一郎")).to_contain_text("鈴木 花子")
    snap(page, "success-touch-logged")

    successor = Contact.objects.get(name="鈴木 花子")
    leaver.refresh_from_db()
    assert successor.is_primary and successor.email == "hanako.suzuki@example.jp"
    assert leaver.left_on is not None and leaver.successor == successor
