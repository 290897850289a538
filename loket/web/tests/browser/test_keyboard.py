"""The inbox without a mouse: j/k move between rows, x picks one, Enter opens, / searches."""

from __future__ import annotations

import pytest

from loket.web.tests.browser.conftest import OpenAs
from loket.web.tests.browser.stack import Stack

try:
    from playwright.sync_api import expect
except ImportError:
    pytest.skip("Playwright is not installed", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_inbox_keys(open_as: OpenAs, stack: Stack) -> None:
    page = open_as("wati")
    rows = page.locator("#ticket-list [data-ticket-row]")
    expect(rows.nth(2)).to_be_visible()
    second = rows.nth(1)
    number = second.get_attribute("data-ticket-row")

    # "/" jumps to the search box; Escape leaves it (and the keys work again).
    page.keyboard.press("/")
    search = page.locator("[data-search]")
    expect(search).to_be_focused()
    page.keyboard.press("Escape")
    expect(search).not_to_be_focused()

    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    focused_row = page.locator(":focus").locator("xpath=ancestor-or-self::*[@data-ticket-row][1]")
    expect(focused_row).to_have_attribute("data-ticket-row", str(number))

    page.keyboard.press("x")
    expect(second.locator("input[type=checkbox]")).to_be_checked()
    page.keyboard.press("x")
    expect(second.locator("input[type=checkbox]")).not_to_be_checked()

    page.keyboard.press("Enter")
    expect(page.locator(f'[data-ticket="{number}"]')).to_be_visible()
