"""In Chromium: an agent finds an inquiry in the inbox, opens it, inserts a macro into the reply box with one
click (htmx), sends it and sees the reply in the thread with the status the macro sets."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from banso.core.choices import Role
from banso.support import desk

from ..core.factories import UserFactory
from ..support.factories import InquiryFactory, MacroFactory
from .test_browser import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_agent_answers_from_the_inbox_with_a_macro(page: Page, live_server):
    page.set_default_timeout(30_000)  # the machine is shared; nothing here waits on purpose
    desk.ensure_default_statuses()
    agent = UserFactory(username="madoguchi", display_name="窓口 さくら", role=Role.SUPPORT_AGENT)
    inquiry = InquiryFactory(
        subject="エアコン清掃の日程変更", requester_name="小川 直子", assignee=agent, status="open"
    )
    macro = MacroFactory(name="日程変更の受付", body="{{ requester_name }} 様\n#{{ number }} の日程変更を承りました。")
    macro.set_status = desk.status("waiting_customer")
    macro.save()

    page.goto("/support/inbox/")
    sign_in(page, agent.username)
    expect(page).to_have_url(re.compile(r"/support/inbox/"))
    row = page.locator(f"#inquiries tr[data-number='{inquiry.number}']")
    expect(row).to_contain_text("エアコン清掃の日程変更")
    row.get_by_role("link", name=f"#{inquiry.number}").click()

    expect(page.locator("#thread")).to_contain_text("予約の日時を変更したいです。")
    page.locator(f"button[data-macro='{macro.pk}']").click()
    expect(page.locator("#reply-body")).to_have_value(f"小川 直子 様\n#{inquiry.number} の日程変更を承りました。")
    page.locator("#reply-form button[type=submit]").click()

    expect(page.locator("#thread")).to_contain_text("日程変更を承りました")
    expect(page.locator("#status-name")).to_have_text("お客様回答待ち")
