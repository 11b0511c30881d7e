"""End to end in a real headless Chromium: sign in, filter and search the account list, open an
Account 360, page its timeline, switch the language, and get locked out after repeated failed sign-ins."""

import datetime
import os
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from banso.accounts.choices import AccountKind, ContractStatus, LifecycleStage, TouchTier
from banso.accounts.models import Account, Contact, Contract
from banso.activity.models import Event
from banso.core.choices import Role

from ..core.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

READINGS = [
    "あおば",
    "いろは",
    "うみかぜ",
    "えがお",
    "おおぞら",
    "かもめ",
    "きらり",
    "くすのき",
    "けやき",
    "こだま",
    "さくら",
    "しおさい",
    "すばる",
    "せせらぎ",
    "そよかぜ",
    "たちばな",
    "ちとせ",
    "つばさ",
    "ていえん",
    "ともしび",
    "なぎさ",
    "にじいろ",
    "ぬくもり",
    "ねむのき",
    "のぞみ",
    "はやぶさ",
    "ひかり",
    "ふたば",
    "へいわ",
    "ほしぞら",
]


def seed() -> tuple[Account, str]:
    """30 accounts, every third one high touch; 'ひかり' (the one the test looks for) has contacts,
    contracts and 60 events."""
    csm = UserFactory(username="csm-e2e", role=Role.CSM, display_name="佐藤 花子")
    other = UserFactory(username="csm-other", role=Role.CSM, display_name="鈴木 一郎")
    for i, reading in enumerate(READINGS):
        Account.objects.create(
            external_id=f"e2e-{i}",
            name=f"株式会社{reading}",
            name_kana=reading,
            kind=AccountKind.MERCHANT if i % 4 == 0 else AccountKind.CUSTOMER,
            tier=TouchTier.HIGH if i % 3 == 2 else TouchTier.LOW,
            lifecycle_stage=LifecycleStage.ADOPTION,
            owner=csm if i % 2 == 0 else other,
            mrr=10_000 * (i + 1),
            next_renewal_date=datetime.date(2026, 1 + i % 12, 1),
        )
    target = Account.objects.get(name_kana="ひかり")
    assert target.tier == TouchTier.HIGH
    target.attributes = {"契約形態": "年間"}
    target.save()
    old = Contact.objects.create(
        account=target,
        external_id="c1",
        name="山田 太郎",
        name_kana="やまだ たろう",
        left_on=datetime.date(2025, 3, 31),
    )
    new = Contact.objects.create(
        account=target, external_id="c2", name="田中 次郎", name_kana="たなか じろう", is_primary=True, title="部長"
    )
    old.successor = new
    old.save()
    Contract.objects.create(
        account=target,
        external_id="k1",
        plan="エンタープライズ",
        mrr=250_000,
        start_date=datetime.date(2024, 4, 1),
        renewal_date=datetime.date(2026, 4, 1),
        status=ContractStatus.ACTIVE,
    )
    now = timezone.now()
    Event.objects.bulk_create(
        Event(
            source="app",
            external_id=f"ev{i}",
            account=target,
            kind=f"ログイン{i:02d}",
            occurred_at=now - datetime.timedelta(hours=i),
        )
        for i in range(60)
    )
    return target, csm.username


def snap(page: Page, name: str) -> None:
    """With BANSO_E2E_SCREENSHOTS=dir, keep a full-page screenshot for people to look at."""
    directory = os.environ.get("BANSO_E2E_SCREENSHOTS")
    if directory:
        page.screenshot(path=os.path.join(directory, f"{name}.png"), full_page=True)


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit].primary")


def table_names(page: Page) -> list[str]:
    return page.locator("#account-table a.account-name").all_inner_texts()


def test_csm_filters_searches_opens_an_account_and_switches_language(page: Page, live_server):
    target, username = seed()

    page.goto("/accounts/")
    expect(page).to_have_url(re.compile(r"/login/"))
    sign_in(page, username)

    # Japanese first.
    expect(page).to_have_url(re.compile(r"/accounts/$"))
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("h1")).to_have_text("顧客")
    expect(page.locator("#account-table thead")).to_contain_text("担当CSM")
    expect(page.locator("#account-table")).to_contain_text("30 件の顧客")
    expect(page.locator("#account-table")).to_contain_text("¥10,000")

    # Filter by tier: htmx swaps the table in place and pushes the URL.
    page.select_option("#id_tier", "high")
    expect(page.locator("#account-table")).to_contain_text("10 件の顧客")
    expect(page).to_have_url(re.compile(r"tier=high"))
    assert len(table_names(page)) == 10
    snap(page, "list-high-touch")

    # Search by kana: katakana finds the hiragana reading.
    page.fill("#id_q", "ヒカリ")
    expect(page.locator("#account-table a.account-name")).to_have_count(1)
    assert table_names(page) == ["株式会社ひかり"]

    # Sort by MRR (descending after two clicks) keeps the filters.
    page.fill("#id_q", "")
    expect(page.locator("#account-table a.account-name")).to_have_count(10)
    page.click("#account-table th a.sort[href*='sort=mrr']")
    expect(page).to_have_url(re.compile(r"sort=mrr"))
    page.click("#account-table th a.sort[href*='sort=-mrr']")
    expect(page).to_have_url(re.compile(r"sort=-mrr"))
    names = table_names(page)
    assert len(names) == 10 and names[0] == "株式会社ほしぞら"  # i=29: the highest MRR among high touch

    # Open the account.
    page.fill("#id_q", "ﾋｶﾘ")  # half-width katakana too
    expect(page.locator("#account-table a.account-name")).to_have_count(1)
    page.click("text=株式会社ひかり")
    expect(page).to_have_url(re.compile(rf"/accounts/{target.pk}/$"))
    expect(page.locator("h1")).to_have_text("株式会社ひかり")
    contacts = page.locator("section.contacts")
    expect(contacts).to_contain_text("担当者")
    expect(contacts).to_contain_text("田中 次郎")
    expect(contacts).to_contain_text("主担当")
    expect(contacts).to_contain_text("→ 田中 次郎")  # the successor of the one who left
    contracts = page.locator("section.contracts")
    expect(contracts).to_contain_text("エンタープライズ")
    expect(contracts).to_contain_text("¥250,000")
    expect(contracts).to_contain_text("契約中")
    expect(page.locator("section.profile")).to_contain_text("契約形態")

    # The timeline shows the latest 50 and loads more through htmx.
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("ログイン00")
    expect(timeline).not_to_contain_text("ログイン59")
    page.click("#timeline li.more button")
    expect(timeline).to_contain_text("ログイン59")
    expect(timeline.locator("li.more")).to_have_count(0)
    snap(page, "account-360")

    # Switch to English.
    page.click("button[data-lang=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(rf"/accounts/{target.pk}/$"))
    expect(page.locator("#contacts-h")).to_have_text("Contacts")
    expect(page.locator("#contracts-h")).to_have_text("Contracts")
    expect(page.locator("#timeline-h")).to_have_text("Timeline")
    expect(page.locator("section.contracts")).to_contain_text("Active")
    page.goto("/accounts/")
    expect(page.locator("#account-table thead")).to_contain_text("Owner CSM")
    expect(page.locator("#account-table")).to_contain_text("30 accounts")

    # And back to Japanese.
    page.click("button[data-lang=ja]")
    expect(page.locator("#account-table thead")).to_contain_text("担当CSM")


def test_editing_an_account_shows_in_its_change_history(page: Page, live_server):
    target, username = seed()
    page.goto("/login/")
    sign_in(page, username)
    page.goto(f"/accounts/{target.pk}/")
    page.click(f"a[href='/accounts/{target.pk}/edit/']")
    page.fill("#id_industry", "観光")
    page.select_option("#id_lifecycle_stage", "at_risk")
    page.click("form button[type=submit].primary")
    expect(page).to_have_url(re.compile(rf"/accounts/{target.pk}/$"))
    expect(page.locator(".messages")).to_contain_text("顧客情報を保存しました")
    expect(page.locator("section.profile")).to_contain_text("解約リスク")
    expect(page.locator("#timeline li.tl-audit").first).to_contain_text("観光")
    page.click(f"a[href='/accounts/{target.pk}/audit/']")
    history = page.locator("table.audit")
    expect(history).to_contain_text("佐藤 花子")
    expect(history).to_contain_text("業種")
    expect(history).to_contain_text("観光")
    expect(history).to_contain_text("定着化")  # before, as its label
    expect(history).to_contain_text("解約リスク")
    snap(page, "audit")


def test_repeated_failed_sign_ins_lock_the_user_out(page: Page, live_server):
    username = f"lockout-{timezone.now():%H%M%S%f}"
    UserFactory(username=username, role=Role.CSM)
    page.goto("/login/")
    for _ in range(5):
        sign_in(page, username, "wrong-password")
    # Now even the right password is refused, and no page behind the sign-in is reachable.
    page.goto("/login/")
    sign_in(page, username)
    expect(page.locator("[role=alert]")).to_be_visible()
    snap(page, "locked-out")
    expect(page.locator("nav.modules")).to_have_count(0)
    page.goto("/accounts/")
    expect(page).to_have_url(re.compile(r"/login/"))
