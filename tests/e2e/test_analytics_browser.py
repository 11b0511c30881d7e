"""End to end in Chromium: an ops manager builds a segment in the rule builder (adding, removing and
switching condition rows), previews its count, saves it and refreshes it to see its member."""

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from banso.activity import lake
from banso.core.choices import Role

from ..activity.factories import AccountFactory
from ..analytics.factories import logins
from ..core.factories import UserFactory
from .test_browser import sign_in, snap

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_ops_manager_builds_a_segment_previews_its_count_and_refreshes_it(page: Page, live_server):
    today = timezone.localdate()
    UserFactory(username="ops-e2e", role=Role.OPS_MANAGER, display_name="運用 真理子")
    busy_high = AccountFactory(name="株式会社ひかり", tier="high")
    busy_low = AccountFactory(name="株式会社のぞみ", tier="low")
    AccountFactory(name="株式会社こだま", tier="high")  # no logins
    logins(busy_high, today, [0, 1, 2])
    logins(busy_low, today, [0, 1, 2])
    lake.sync()

    page.goto("/analytics/segments/new/")
    sign_in(page, "ops-e2e")
    expect(page.locator("h1")).to_have_text("新しいセグメント")
    page.fill("#id_name", "よく使う高タッチ顧客")

    page.select_option("#id_rules-0-target", "metric:logins_30d")
    page.select_option("#id_rules-0-op", "gte")
    page.fill("#id_rules-0-value", "２")  # full-width, as typed with a Japanese IME

    page.click("#add-rule")
    expect(page.locator("#id_rules-1-target")).to_be_visible()
    page.select_option("#id_rules-1-target", "attr:tier")
    page.select_option("#id_rules-1-op", "eq")
    page.fill("#id_rules-1-value", "ハイタッチ")
    expect(page.locator("#id_rules-1-value")).to_have_attribute("list", "values-tier")  # choices suggested

    page.click("#add-rule")  # a third row, for a custom attribute, then removed again
    page.select_option("#id_rules-2-target", "attr:attributes.")
    expect(page.locator("#id_rules-2-attribute_key")).to_be_visible()
    page.locator("[data-rule-row]").nth(2).locator("[data-remove-rule]").click()
    expect(page.locator("[data-rule-row]").nth(2)).to_be_hidden()
    expect(page.locator("#id_rules-TOTAL_FORMS")).to_have_value("3")

    page.click("#preview-count")
    expect(page.locator("#segment-preview")).to_contain_text("件の顧客が該当します")
    expect(page.locator("[data-preview-count]")).to_have_text("1")
    snap(page, "analytics-segment-builder")

    page.click("form#segment-form button[type=submit].primary")
    expect(page.locator("h1")).to_have_text("よく使う高タッチ顧客")
    expect(page.locator("div.rules-text")).to_contain_text("タッチ区分 が ハイタッチ")
    page.get_by_role("button", name="今すぐ更新").click()
    expect(page.locator(".messages")).to_contain_text("加入 1件")
    expect(page.locator("#members")).to_contain_text("株式会社ひかり")
    expect(page.locator("#members")).not_to_contain_text("株式会社のぞみ")
    snap(page, "analytics-segment-detail")
