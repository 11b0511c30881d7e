"""End to end in Chromium: a manager reviewing next month's coverage plan drags a target from the list onto
another CSM's day on the calendar board, and the plan keeps the move (assignee, date, marked as adjusted)."""

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from banso.core.choices import Role

from ..accounts.factories import AccountFactory
from ..core.factories import UserFactory
from ..success.factories import CoveragePlanFactory, CoverageTargetFactory
from .test_browser import sign_in, snap

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_manager_drags_a_target_onto_another_csms_day(page: Page, live_server):
    UserFactory(username="ops-plan", role=Role.OPS_MANAGER)
    sato = UserFactory(username="sato", role=Role.CSM, display_name="佐藤 彩")
    kato = UserFactory(username="kato", role=Role.CSM, display_name="加藤 隆")
    plan = CoveragePlanFactory(month=dt.date(2026, 12, 1))
    account = AccountFactory(name="株式会社あおば", owner=sato)
    target = CoverageTargetFactory(plan=plan, account=account, assignee=sato, planned_on=dt.date(2026, 12, 1))
    CoverageTargetFactory(plan=plan, assignee=kato, planned_on=dt.date(2026, 12, 2))

    page.goto(f"/success/plans/{plan.pk}/")
    sign_in(page, "ops-plan")
    row = page.locator(f"tr[data-target='{target.pk}']")
    expect(row).to_contain_text("株式会社あおば")
    # 2026-12-08 (火) on 加藤's line of the calendar.
    cell = page.locator(f"td.drop[data-assignee='{kato.pk}'][data-day='2026-12-08']")
    with page.expect_navigation():  # the board reloads once the move is saved
        row.drag_to(cell)
    snap(page, "success-plan-dragged")

    target.refresh_from_db()
    assert (target.assignee, target.planned_on, target.adjusted) == (kato, dt.date(2026, 12, 8), True)
    expect(page.locator(f"td.drop[data-assignee='{kato.pk}'][data-day='2026-12-08']")).to_contain_text("1")
