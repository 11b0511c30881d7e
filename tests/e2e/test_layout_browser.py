"""The base layout in Chromium at laptop widths (1024-1440 x 800), every module installed: each entry of the top
navigation is on screen (its row wraps rather than scrolls), the current module stays highlighted, and a module's
tab bar (`nav.tabs`) is styled as tabs on every module's pages.

BANSO_E2E_SCREENSHOTS=dir keeps the pages for people to look at."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from banso.core.choices import Role
from banso.core.navigation import MODULES

from ..core.factories import UserFactory
from .test_browser import sign_in, snap

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTH, HEIGHT = 1300, 800


def _sign_in_admin(page: Page, width: int = WIDTH) -> Page:
    # A long display name: the user's name shares the bar with the modules.
    UserFactory(username="admin-layout", role=Role.ADMIN, display_name="管理者 山田 太郎")
    page.set_viewport_size({"width": width, "height": HEIGHT})
    page.goto("/login/")
    sign_in(page, "admin-layout")
    expect(page.locator("header.topbar")).to_be_visible()
    return page


@pytest.fixture
def admin_page(page: Page) -> Page:
    return _sign_in_admin(page)


def _on_screen(entry: Locator, width: int = WIDTH) -> bool:
    """Inside the window and neither clipped nor covered: what is drawn where the entry is, is the entry."""
    box = entry.bounding_box()
    if box is None:
        return False
    inside = box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width and box["y"] + box["height"] <= HEIGHT
    # Sampled at both ends and the middle: an entry half cut off by its container's edge is not reachable.
    on_top = entry.evaluate(
        """e => { const r = e.getBoundingClientRect(), y = r.y + r.height / 2;
                  return [r.x + 2, r.x + r.width / 2, r.x + r.width - 2].every(x => {
                      const hit = document.elementFromPoint(x, y);
                      return hit !== null && (hit === e || e.contains(hit)); }); }"""
    )
    return inside and bool(on_top)


@pytest.mark.parametrize("width", [1024, WIDTH, 1440])
def test_every_module_of_the_top_navigation_is_reachable(page: Page, width: int):
    _sign_in_admin(page, width)
    page.goto("/campaigns/")
    entries = page.locator("header.topbar nav.modules a")
    expect(entries).to_have_count(len(MODULES))
    snap(page, f"layout-{width}-campaigns")
    for entry in entries.all():
        expect(entry).to_be_visible()
        assert _on_screen(entry, width), f"{entry.inner_text()!r} is not on the {width} x {HEIGHT} window"
    # The user's tools share the bar and stay on it too.
    for tool in page.locator("header.topbar .tools button, header.topbar .who").all():
        assert _on_screen(tool, width)


def test_the_current_module_stays_highlighted(admin_page: Page):
    page = admin_page
    for path, title in (("/campaigns/", "キャンペーン"), ("/analytics/", "分析"), ("/accounts/", "顧客")):
        page.goto(path)
        current = page.locator("header.topbar nav.modules a[aria-current=page]")
        expect(current).to_have_count(1)
        expect(current).to_have_text(title)
        assert _on_screen(current)
        # The highlight is the blue underline the other entries do not have.
        underline = "a => getComputedStyle(a).borderBottomColor"
        assert current.evaluate(underline) == "rgb(110, 168, 255)"
        other = page.locator("header.topbar nav.modules a:not([aria-current])").first
        assert other.evaluate(underline) == "rgba(0, 0, 0, 0)"


@pytest.mark.parametrize("path", ["/marketplace/", "/campaigns/"])
def test_module_tab_bars_are_styled_as_tabs(admin_page: Page, path: str):
    page = admin_page
    page.goto(path)
    tabs = page.locator("main nav.tabs").first
    expect(tabs).to_be_visible()
    snap(page, f"layout-tabs{path.replace('/', '-').rstrip('-')}")
    bar = tabs.evaluate(
        "n => { const s = getComputedStyle(n); return {display: s.display, border: s.borderBottomStyle}; }"
    )
    assert bar == {"display": "flex", "border": "solid"}
    link = tabs.locator("a").first
    style = link.evaluate(
        "a => { const s = getComputedStyle(a); return {display: s.display, padding: s.paddingLeft}; }"
    )
    plain = page.evaluate(
        """() => { const a = document.createElement('a'); a.href = '#'; document.querySelector('main').append(a);
                   const s = getComputedStyle(a); const r = {display: s.display, padding: s.paddingLeft};
                   a.remove(); return r; }"""
    )
    assert style != plain
    assert style["padding"] != "0px"
