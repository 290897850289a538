"""Each agent picks the dashboard's language; it follows them, not the browser."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from loket.web.tests.browser.conftest import OpenAs, sign_in
from loket.web.tests.browser.stack import Stack

try:
    from playwright.sync_api import Page, expect
except ImportError:
    pytest.skip("Playwright is not installed", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_an_agent_switches_to_english_and_back(
    open_as: OpenAs, new_page: Callable[[], Page], stack: Stack
) -> None:
    # Dimas: no other browser test signs in as him, so his choice disturbs nobody.
    page = open_as("dimas")
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "id")

    page.locator('form.language button[name=language][value="en"]').click()
    expect(html).to_have_attribute("lang", "en")
    expect(page.locator("#ticket-list")).to_be_visible()

    # Signing in on another device (a browser asking for Indonesian): his choice holds.
    elsewhere = new_page()
    sign_in(elsewhere, stack, "dimas")
    expect(elsewhere.locator("html")).to_have_attribute("lang", "en")

    elsewhere.locator('form.language button[name=language][value="id"]').click()
    expect(elsewhere.locator("html")).to_have_attribute("lang", "id")
    page.reload()
    expect(html).to_have_attribute("lang", "id")
