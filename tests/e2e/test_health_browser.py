"""End to end in Chromium: an ops manager designs a scorecard in the designer (adding a measure row with
htmx, switching its mapping), saves it, rescores, and reads the account's health page: the trend chart is
drawn by Chart.js and the explanation names each measure's points."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from banso.activity import lake
from banso.core.choices import Role
from banso.health import services
from banso.health.models import HealthSnapshot, Scorecard

from ..activity.factories import AccountFactory
from ..core.factories import UserFactory
from ..health.factories import add_events
from .test_browser import sign_in, snap

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_ops_manager_designs_a_scorecard_and_reads_an_accounts_health_with_its_trend(page: Page, live_server):
    today = timezone.localdate()
    UserFactory(username="ops-health", role=Role.OPS_MANAGER, display_name="運用 真理子")
    busy = AccountFactory(name="株式会社ひかり", tier="high")
    quiet = AccountFactory(name="株式会社こだま", tier="high")
    for back in range(0, 20, 2):
        add_events(busy.pk, "login", today - dt.timedelta(days=back))
    add_events(quiet.pk, "inquiry_opened", today - dt.timedelta(days=3), n=3)
    lake.sync()

    page.goto("/health/scorecards/new/")
    sign_in(page, "ops-health")
    expect(page.locator("h1")).to_have_text("新しいスコアカード")
    page.fill("#id_name", "高タッチ顧客カード")
    page.select_option("#id_tier", "high")

    rows = page.locator("[data-measure-row]")
    page.select_option("#id_m-0-key", "metric:logins_30d")
    page.fill("#id_m-0-weight", "60")
    page.select_option("#id_m-0-mapping", "range")
    page.fill("#id_m-0-bad", "0")
    page.fill("#id_m-0-good", "10")

    page.click("#add-measure")  # a second row arrives through htmx
    expect(rows).to_have_count(2)
    page.select_option("#id_m-1-key", "inquiries:open")
    page.fill("#id_m-1-weight", "40")
    page.select_option("#id_m-1-mapping", "thresholds")
    expect(page.locator("[data-measure-row]").nth(1).locator("[data-mapping=thresholds]")).to_be_visible()
    page.fill("#id_m-1-steps", "3:0, 1:50")
    page.fill("#id_m-1-otherwise", "100")

    page.click("#preview")
    expect(page.locator("#scorecard-preview")).not_to_be_empty()
    snap(page, "health-scorecard-designer")
    page.click("form#scorecard-form button[type=submit].primary")
    expect(page.locator("h1")).to_have_text("高タッチ顧客カード")

    card = Scorecard.objects.get(name="高タッチ顧客カード")
    assert [m["key"] for m in card.current.definition["measures"]] == ["metric:logins_30d", "inquiries:open"]
    services.rescore(today - dt.timedelta(days=1))
    services.rescore(today)
    assert HealthSnapshot.objects.filter(day=today).count() == 2

    page.goto(f"/health/accounts/{quiet.pk}/")
    expect(page.locator("#explanation")).to_contain_text("ログイン")
    expect(page.locator("#explanation")).to_contain_text("未解決の問い合わせ")
    # Chart.js drew the trend: the canvas carries its chart and has a size.
    page.wait_for_function("document.querySelector('canvas[data-chart=\"health-trend\"]').dataset.drawn === '1'")
    width = page.evaluate("document.querySelector('canvas[data-chart=\"health-trend\"]').width")
    assert width > 0
    snap(page, "health-account")
